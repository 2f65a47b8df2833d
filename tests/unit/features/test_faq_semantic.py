"""The FAQ's meaning layer: cached entry vectors, loaded in the background, and the real
multilingual encoder finding what the words miss."""

from __future__ import annotations

import threading
import zlib
from pathlib import Path

import numpy as np
import pytest

from handlers.faq.content import FaqLoad, load_faq
from handlers.faq.search import FaqIndex
from handlers.faq.semantic import SemanticLayer, cached_vectors
from tests.support.paths import REPO_ROOT

CONTENT = REPO_ROOT / "content" / "faq"


class WordEncoder:
    """A stand-in encoder (hashed bag of words) that counts what it was asked to encode: these
    tests are about caching and loading, not about the model's quality."""

    def __init__(self) -> None:
        self.encoded = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        self.encoded += len(texts)
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.casefold().split():
                out[i, zlib.crc32(word.encode()) % 64] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)


@pytest.fixture(scope="module")
def load() -> FaqLoad:
    return load_faq(CONTENT)


def small(load: FaqLoad, ids: list[str]) -> FaqIndex:
    """An index over a few real entries (the whole FAQ takes ~20 s to encode for real)."""
    keep = [e for e in load.entries if e.id in ids]
    return FaqIndex.build(FaqLoad(keep, load.synonyms, load.stopwords, []))


def test_entry_vectors_are_encoded_once_per_content_version(tmp_path: Path) -> None:
    encoder = WordEncoder()
    texts = ["what is ELENA", "green bonds for towns"]
    first = cached_vectors(encoder, texts, tmp_path)
    again = cached_vectors(encoder, texts, tmp_path)
    assert encoder.encoded == 2  # the second start read the cache
    assert np.array_equal(first, again)  # and scores exactly as the first did
    cached_vectors(encoder, [*texts[:1], "green bonds for small towns"], tmp_path)
    assert encoder.encoded == 4  # a changed text is a new content version
    assert len(list(tmp_path.glob("*.npy"))) == 2


def test_the_faq_answers_on_words_until_the_encoder_is_loaded(
    load: FaqLoad, tmp_path: Path
) -> None:
    index = small(load, ["elena-what-is", "green-bond-what-is", "crowdfunding-what-is"])
    words_only = index.rank("what is ELENA?", k=3)
    gate = threading.Event()
    encoder = WordEncoder()

    def slow_loader() -> WordEncoder:
        gate.wait(30)
        return encoder

    layer = index.attach_semantic(tmp_path, loader=slow_loader)  # background thread
    assert not index.hybrid_ready
    assert index.rank("what is ELENA?", k=3) == words_only
    assert index.thresholds_for("en") == index.thresholds
    gate.set()
    assert layer.wait(30)
    assert index.hybrid_ready and index.thresholds_for("en") == index.hybrid
    assert index.rank("what is ELENA?", k=3) != words_only  # scores now carry the meaning
    assert index.search("what is ELENA?").best is not None


def test_a_failing_encoder_leaves_the_faq_on_words(load: FaqLoad, tmp_path: Path) -> None:
    index = small(load, ["elena-what-is", "green-bond-what-is"])

    def broken() -> WordEncoder:
        raise RuntimeError("the FAQ's semantic layer needs the Python package 'x'")

    layer = index.attach_semantic(tmp_path, loader=broken)
    assert not layer.wait(30)
    assert layer.error is not None and "Python package" in layer.error
    assert index.search("what is ELENA?").best is not None


def test_the_real_encoder_finds_a_polish_paraphrase_the_words_miss(
    load: FaqLoad, tmp_path: Path
) -> None:
    ids = [
        "green-bond-what-is",
        "green-bond-small-cities",
        "soft-loan-what-is",
        "social-climate-fund",
        "epc-what-is",
        "epc-small-municipality",
    ]
    index = small(load, ids)
    # "can a municipality issue ecological debt securities": no glossary term, no FAQ word
    question = "czy gmina może wyemitować ekologiczne papiery dłużne"
    assert index.rank(question, k=1)[0].entry_id != "green-bond-what-is"
    layer = index.attach_semantic(tmp_path, background=False)
    assert layer.ready and layer.vectors is not None
    assert layer.vectors.shape == (index.n_strings, 512)
    assert index.rank(question, k=1)[0].entry_id == "green-bond-what-is"
    # The next start reads the vectors of this content version from the cache.
    again = SemanticLayer(index.raw_texts, index._owner.tolist(), len(index.entries), tmp_path)
    again.encoder = WordEncoder()
    vectors = cached_vectors(again.encoder, again.texts, tmp_path)
    assert again.encoder.encoded == 0
    assert np.allclose(vectors, layer.vectors, atol=1e-2)
