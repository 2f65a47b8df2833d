"""When a question leans on the previous answer, and how it is then read (pure rules)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from handlers.faq.search import FaqIndex, SearchResult

FOLLOWUP_WINDOW = timedelta(minutes=30)
"""An answer older than this is no longer the context of a new question."""
FOLLOWUP_MAX_WORDS = 4
"""Content words a follow-up may have ("and for schools?", "what about street lighting")."""
RELEVANT = 10
"""A follow-up's entry must be among the entries its own words rank this high."""


CONTINUATIONS: dict[str, tuple[str, ...]] = {
    "en": ("and", "what about", "how about"),
    "fr": ("et", "quid"),
    "de": ("und", "was ist mit"),
    "es": ("y", "que tal"),
    "it": ("e", "ed"),
    "nl": ("en", "hoe zit het met"),
    "pl": ("a", "i", "a co z"),
    "pt": ("e",),
}
"""Openings that tie a question to what came before ("and for schools?", "et pour les petites
communes ?"), per language of the question: such a short question is read in context even when
it has a direct answer of its own, which would otherwise win (the threshold and the margin are
fitted on questions asked alone)."""


def continues(question: str, lang: str | None) -> bool:
    """True when `question` opens with a continuation of its language (CONTINUATIONS)."""
    from handlers.faq.search import fold

    words = fold(question).split()
    return any(
        words[: len(cue.split())] == cue.split() for cue in CONTINUATIONS.get(lang or "", ())
    )


def needs_context(index: FaqIndex, question: str, alone: SearchResult) -> bool:
    """True for a short question the FAQ cannot answer directly on its own, or one that opens
    as a continuation of the previous exchange."""
    if alone.status == "answer" and not continues(question, alone.lang):
        return False
    words = set(index.norm.tokens(question, alone.lang))
    return 1 <= len(words) <= FOLLOWUP_MAX_WORDS


def in_context(
    index: FaqIndex,
    before: str,
    previous_id: str | None,
    question: str,
    alone: SearchResult,
    locale: str,
) -> SearchResult | None:
    """The reading of `question` after the answer to `before` (entry `previous_id`).

    The two questions are searched together, the entry just answered left out (a follow-up
    asks for something else), and the result is kept only when the follow-up alone already
    points at that entry (among its RELEVANT best) and it leads somewhere the question alone
    did not: a direct answer, or suggestions led by another entry. "thanks, ok" after an answer
    stays a question of its own.
    """
    from handlers.faq.search import SearchResult, decide

    if not before:
        return None
    lang = alone.lang or locale
    own = {h.entry_id for h in index.rank(question, lang, k=RELEVANT)}
    hits = [h for h in index.rank(f"{before} {question}", lang, k=4) if h.entry_id != previous_id]
    if not hits or hits[0].entry_id not in own:
        return None
    within = decide(hits[:3], index.thresholds_for(lang))
    if within.best is None:
        return None
    if within.status == "answer" or (
        within.status == "suggest"
        and (alone.best is None or alone.best.entry_id != within.best.entry_id)
    ):
        return SearchResult(within.status, within.best, within.suggestions, lang)
    return None
