"""Which language a question is written in, offline: stop words vote, lingua breaks the ties.

Short questions ("what is an ESCO") are hard for character n-gram models alone (lingua's low
accuracy mode calls it Portuguese); stop words are hard alone when languages share them ("de" is
French, Spanish, Dutch and Portuguese). Each language gets `votes + LINGUA_WEIGHT * confidence`;
below MIN_EVIDENCE the caller's fallback (the officer's locale) is returned.

lingua is built once per process for DETECTABLE only, in low accuracy mode (trigram models):
about 20 MB and under 0.1 s, against ~280 MB and ~5 s for its high accuracy mode.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from typing import Any

DETECTABLE = ("en", "fr", "de", "es", "it", "nl", "pl", "pt")
LINGUA_WEIGHT = 2.0
MIN_EVIDENCE = 1.0
PACKAGE = "lingua-language-detector"


class LanguageToolMissing(RuntimeError):
    """An offline language package the FAQ needs is not installed."""


_BUILDING = threading.Lock()


def detector() -> Any:
    """The lingua detector for DETECTABLE, built once per process: questions are searched in
    several worker threads at once, and without the lock each built its own at first."""
    with _BUILDING:
        return _built()


def warm_up() -> threading.Thread:
    """Build the detector in a daemon thread now, so the first questions do not wait for it."""
    thread = threading.Thread(target=detector, name="faq-language", daemon=True)
    thread.start()
    return thread


@functools.cache
def _built() -> Any:
    """The lingua detector (no download: the models are in the wheel)."""
    try:
        from lingua import IsoCode639_1, Language, LanguageDetectorBuilder
    except ImportError as exc:  # pragma: no cover - the dependency is declared
        raise LanguageToolMissing(
            f"the FAQ needs the Python package {PACKAGE!r}: pip install {PACKAGE}"
        ) from exc
    languages = [Language.from_iso_code_639_1(IsoCode639_1.from_str(c)) for c in DETECTABLE]
    return (
        LanguageDetectorBuilder.from_languages(*languages)
        .with_low_accuracy_mode()
        .with_preloaded_language_models()
        .build()
    )


def lingua_confidence(text: str) -> dict[str, float]:
    """lingua's confidence (0-1) per language code for `text`."""
    return {
        cv.language.iso_code_639_1.name.lower(): float(cv.value)
        for cv in detector().compute_language_confidence_values(text)
    }


def detect_language(
    words: list[str], text: str, stopwords: Mapping[str, frozenset[str]], fallback: str | None
) -> str | None:
    """The language of a question (`words`: its folded words), else `fallback`."""
    if not words:
        return fallback
    confidence = lingua_confidence(text)
    scores = {
        lang: sum(w in stopwords.get(lang, frozenset()) for w in words)
        + LINGUA_WEIGHT * confidence.get(lang, 0.0)
        for lang in DETECTABLE
    }
    best = max(DETECTABLE, key=lambda lang: scores[lang])
    if scores[best] < MIN_EVIDENCE:
        return fallback
    if fallback in scores and scores[fallback] >= scores[best] - 1e-9:
        return fallback
    return best
