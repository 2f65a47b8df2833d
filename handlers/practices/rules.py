"""Pure rules of a good practice: the lengths of its texts and a plausible year (the chat flow
`/share` and the console's edit form alike), and its figures: the investment, the instrument
mix (shares of the investment per taxonomy instrument) and the yearly results, read the way
officers write them and checked before anything is stored. Chat, `peerbot practices figures`
and the YAML import apply the same checks; a refusal names its message key
(`practices.errors.<key>`)."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

LENGTHS: dict[str, tuple[int, int]] = {
    "title": (5, 200),
    "funding": (3, 600),
    "results": (10, 1500),
    "lessons": (3, 1500),
    "contact": (3, 200),
}
"""Characters allowed per text field (low, high)."""
OPTIONAL = ("funding", "lessons", "contact")
MIN_YEAR = 1950
YEARS_AHEAD = 5
MAX_INVESTMENT = 100_000_000_000
MAX_FIGURE = 10_000_000.0
_SHARE = re.compile(r"(\d{1,3}(?:[.,]\d+)?)\s*%?")
_PARTS = re.compile(r"[;,+\n]|\s/\s")


def clean_text(name: str, text: str) -> str:
    """A text field as stored: the title and the contact on one line, the others trimmed."""
    return " ".join(text.split()) if name in ("title", "contact") else text.strip()


def text_ok(name: str, value: str) -> bool:
    """Whether a cleaned text fits its field (and is not a chat command)."""
    low, high = LENGTHS[name]
    return low <= len(value) <= high and not value.startswith("/")


def year_ok(year: int, this_year: int) -> bool:
    return MIN_YEAR <= year <= this_year + YEARS_AHEAD


class InstrumentMatcher(Protocol):
    """What the mix reader needs of the taxonomy."""

    def codes(self, group: str) -> list[str]: ...

    def match(self, group: str, text: str) -> str | None: ...


class FigureError(ValueError):
    """A figure was refused; `key` names the message (practices.errors.<key>)."""

    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True)
class PracticeFigures:
    """What a practice cost, how it was financed, and what it brings every year."""

    investment_eur: int | None = None
    instrument_mix: Mapping[str, int] | None = None
    savings_mwh: float | None = None
    renewable_mwh: float | None = None
    co2_t: float | None = None


def parse_mix(text: str, taxonomy: InstrumentMatcher) -> dict[str, int]:
    """`EPC 70%, EU funds 30%`, `epc=70; eu_funds=30` or `ESCO 60 + grant 40` as shares per
    instrument code (FigureError `mix_unclear` naming the part it could not read)."""
    codes = set(taxonomy.codes("instruments"))
    mix: dict[str, int] = {}
    for part in (p.strip() for p in _PARTS.split(text)):
        if not part:
            continue
        numbers = _SHARE.findall(part)
        label = _SHARE.sub(" ", part).strip(" =:%-").strip()
        code = label if label in codes else taxonomy.match("instruments", label) if label else None
        if len(numbers) != 1 or code is None:
            raise FigureError("mix_unclear", part=part[:60])
        share = round(float(numbers[0].replace(",", ".")))
        mix[code] = mix.get(code, 0) + share
    if not mix:
        raise FigureError("mix_unclear", part=text[:60])
    return mix


def extract_mix(text: str, taxonomy: InstrumentMatcher) -> dict[str, int]:
    """The shares of taxonomy instruments named in a free funding description
    (`ESCO 70%, city budget 30%` -> {"esco": 70}); parts naming no instrument are left out."""
    mix: dict[str, int] = {}
    for part in (p.strip() for p in _PARTS.split(text)):
        numbers = _SHARE.findall(part)
        label = _SHARE.sub(" ", part).strip(" =:%-").strip()
        code = taxonomy.match("instruments", label) if len(numbers) == 1 and label else None
        if code is not None:
            mix[code] = mix.get(code, 0) + round(float(numbers[0].replace(",", ".")))
    return mix


def check_figures(figures: PracticeFigures, instruments: Collection[str]) -> None:
    """Raise FigureError for a figure the FAQ and the funders' figures could not use."""
    amount = figures.investment_eur
    if amount is not None and not 0 < amount <= MAX_INVESTMENT:
        raise FigureError("bad_investment")
    mix = figures.instrument_mix or {}
    for code, share in mix.items():
        if code not in instruments:
            raise FigureError("unknown_instrument", instrument=code)
        if not isinstance(share, int) or not 1 <= share <= 100:
            raise FigureError("bad_share", instrument=code)
    if sum(mix.values()) > 100:
        raise FigureError("mix_over_100", total=sum(mix.values()))
    for value in (figures.savings_mwh, figures.renewable_mwh, figures.co2_t):
        if value is not None and not 0 <= value <= MAX_FIGURE:
            raise FigureError("bad_figure")


def main_instrument(mix: Mapping[str, int] | None, instruments: Collection[str]) -> str | None:
    """The instrument carrying the largest share of the investment (else the first listed)."""
    if mix:
        return max(mix.items(), key=lambda kv: (kv[1], kv[0]))[0]
    return next(iter(instruments), None)
