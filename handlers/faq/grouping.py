"""Unanswered questions that ask the same thing, grouped so that a coordinator answers them
once.

Two questions are the same when the FAQ matcher's normalisation (`search.Normaliser`:
folding, synonyms and glossary mapped to one token, stems, stop words dropped in eight
languages) leaves them the same content tokens, or tokens that overlap enough: a Dice
coefficient of at least `SAME_DICE`, or a rapidfuzz token-sort ratio of the token strings of
at least `SAME_RATIO` (a typo or an inflection the stemmer missed). Questions whose tokens are
all stop words are compared on their folded text. Each question joins the first group whose
first question it matches (no chaining: A~B and B~C does not put A with C unless A~C).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from handlers.faq.search import Normaliser, fold

SAME_DICE = 0.75
SAME_RATIO = 88.0


@dataclass(frozen=True)
class Asked:
    """A question to group: its id, text and language (None: unknown)."""

    id: int
    text: str
    lang: str | None = None


def _key(norm: Normaliser, asked: Asked) -> tuple[frozenset[str], str]:
    tokens = frozenset(norm.tokens(asked.text, asked.lang))
    return tokens, " ".join(sorted(tokens)) if tokens else fold(asked.text)


def same_question(a: tuple[frozenset[str], str], b: tuple[frozenset[str], str]) -> bool:
    """Whether two normalised questions (`_key`) ask the same thing."""
    (ta, sa), (tb, sb) = a, b
    if not ta or not tb:
        return not ta and not tb and bool(sa) and sa == sb
    if ta == tb:
        return True
    dice = 2 * len(ta & tb) / (len(ta) + len(tb))
    return dice >= SAME_DICE or fuzz.ratio(sa, sb) >= SAME_RATIO


def group_questions(questions: Sequence[Asked], norm: Normaliser) -> list[list[int]]:
    """The ids of the questions in groups of the same question, in the order given (a group
    where its first question was; within a group, as given)."""
    leaders: list[tuple[tuple[frozenset[str], str], list[int]]] = []
    for asked in questions:
        key = _key(norm, asked)
        for leader, ids in leaders:
            if same_question(leader, key):
                ids.append(asked.id)
                break
        else:
            leaders.append((key, [asked.id]))
    return [ids for _, ids in leaders]
