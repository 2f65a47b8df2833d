"""Unanswered questions that ask the same thing, grouped so that a coordinator answers them
once.

Two questions are the same when the FAQ matcher's normalisation (`search.Normaliser`:
folding, synonyms and glossary mapped to one token, stems, stop words dropped in eight
languages) leaves them the same content tokens, or tokens that overlap enough: a Dice
coefficient of at least `SAME_DICE`, or a rapidfuzz ratio of the sorted token strings of at
least `SAME_RATIO` (a typo or an inflection the stemmer missed). Given the FAQ index, two
questions whose best FAQ entry is the same, each scoring at least `TOPIC_SCORE` (below the
matcher's suggestion threshold: these questions were not answered), are the same when they
also share tokens with a Dice of at least `TOPIC_DICE`. Questions whose tokens are all stop
words are compared on their folded text. Each question joins the first group whose first
question it matches (no chaining: A~B and B~C does not put A with C unless A~C).
(Figures: `python -m benchmarks.question_grouping_bench`; benchmarks/FAQ_FIGURES.md.)
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rapidfuzz import fuzz

from handlers.faq.search import Normaliser, fold

if TYPE_CHECKING:
    from handlers.faq.search import FaqIndex

SAME_DICE = 0.75
SAME_RATIO = 88.0
TOPIC_SCORE = 40.0
TOPIC_DICE = 0.3


@dataclass(frozen=True)
class Asked:
    """A question to group: its id, text and language (None: unknown)."""

    id: int
    text: str
    lang: str | None = None


@dataclass(frozen=True)
class Key:
    """A question as grouping compares it: content tokens, their sorted string (the folded
    text when none is left) and its best FAQ entry (None below `TOPIC_SCORE`)."""

    tokens: frozenset[str]
    text: str
    topic: str | None = None


def key_of(asked: Asked, norm: Normaliser, index: FaqIndex | None = None) -> Key:
    return _key(asked.text, asked.lang, norm, index)


@functools.lru_cache(maxsize=4096)
def _key(text: str, lang: str | None, norm: Normaliser, index: FaqIndex | None) -> Key:
    """Cached per text and per normaliser/index (a content reload brings new ones)."""
    tokens = frozenset(norm.tokens(text, lang))
    topic = None
    if index is not None and tokens:
        hits = index.rank(text, lang, 1)
        if hits and hits[0].score >= TOPIC_SCORE:
            topic = hits[0].entry_id
    return Key(tokens, " ".join(sorted(tokens)) if tokens else fold(text), topic)


def forget() -> None:
    """Drop the cached keys (a benchmark's cold start)."""
    _key.cache_clear()


def same_question(a: Key, b: Key) -> bool:
    """Whether two questions (`key_of`) ask the same thing."""
    if not a.tokens or not b.tokens:
        return not a.tokens and not b.tokens and bool(a.text) and a.text == b.text
    if a.tokens == b.tokens:
        return True
    dice = 2 * len(a.tokens & b.tokens) / (len(a.tokens) + len(b.tokens))
    if dice >= SAME_DICE or fuzz.ratio(a.text, b.text) >= SAME_RATIO:
        return True
    return a.topic is not None and a.topic == b.topic and dice >= TOPIC_DICE


def group_questions(
    questions: Sequence[Asked], norm: Normaliser, index: FaqIndex | None = None
) -> list[list[int]]:
    """The ids of the questions in groups of the same question, in the order given (a group
    where its first question was; within a group, as given). With the FAQ `index`, questions
    about the same entry that share words are grouped too."""
    leaders: list[tuple[Key, list[int]]] = []
    for asked in questions:
        key = key_of(asked, norm, index)
        for leader, ids in leaders:
            if same_question(leader, key):
                ids.append(asked.id)
                break
        else:
            leaders.append((key, [asked.id]))
    return [ids for _, ids in leaders]
