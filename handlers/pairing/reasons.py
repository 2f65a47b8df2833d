"""Why two officers were paired: reasons as data, rendered in each reader's language.

The matching engine records *what* is true (a good practice, shared sectors, a shared
language…) as a `Reason(kind, values)` with taxonomy codes and numbers; a pair stores them as
JSON. Rendering happens per reader, through `reason.<kind>` catalogue keys, the taxonomy's
labels and Babel's names, lists and numbers, so an introduction never carries English text or
raw codes into another language.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from babel import Locale
from babel.lists import format_list
from babel.numbers import format_decimal

from handlers.core.i18n import Translator
from handlers.core.taxonomy import Taxonomy, country_name

PRACTICE = "practice"
EXPERIENCE = "experience"
SECTORS = "sectors"
ALSO_KNOWS = "also_knows"
CROSS_BORDER = "cross_border"
SIMILAR_SIZE = "similar_size"
LANGUAGES = "languages"
KINDS = (PRACTICE, EXPERIENCE, SECTORS, ALSO_KNOWS, CROSS_BORDER, SIMILAR_SIZE, LANGUAGES)


@dataclass(frozen=True)
class Reason:
    """One reason: its kind and the facts behind it (codes, names, numbers; JSON-able)."""

    kind: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.values}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Reason:
        values = {k: v for k, v in data.items() if k != "kind"}
        return cls(str(data.get("kind", "")), values)


def _mid_sentence(label: str, locale: str) -> str:
    """A label inside a list: lower case first letter, except German nouns and acronyms."""
    if locale == "de" or len(label) < 2 or not label[1].islower():
        return label
    return label[0].lower() + label[1:]


def _list(items: Iterable[str], locale: str) -> str:
    items = list(items)
    items = items[:1] + [_mid_sentence(i, locale) for i in items[1:]]
    try:
        return format_list(items, locale=locale) if items else ""
    except (ValueError, TypeError):
        return ", ".join(items)


def _language(code: str, locale: str) -> str:
    """A language's name as written mid-sentence (lower case in fr/es/it, CLDR's own case)."""
    try:
        return str(Locale.parse(locale).languages.get(code, code))
    except (ValueError, TypeError):
        return code


def _number(value: Any, locale: str) -> str:
    try:
        return format_decimal(int(value), locale=locale)
    except (ValueError, TypeError):
        return str(value)


def render_reason(t: Translator, taxonomy: Taxonomy, locale: str, reason: Any) -> str:
    """A reason in a language; a legacy plain-text reason is returned unchanged."""
    if isinstance(reason, str):
        return reason
    if isinstance(reason, Mapping):
        reason = Reason.from_json(reason)
    if not isinstance(reason, Reason):
        return str(reason)
    lang = t.resolve(locale)
    v = reason.values

    def instruments(codes: Iterable[str]) -> str:
        return _list((taxonomy.label("instruments", c, lang) for c in codes), lang)

    if reason.kind == PRACTICE:
        key = "reason.practice_year" if v.get("year") else "reason.practice"
        return t(
            lang,
            key,
            authority=v.get("authority", ""),
            title=v.get("title", ""),
            year=v.get("year"),
        )
    if reason.kind == EXPERIENCE:
        return t(lang, "reason.experience", instrument=instruments([str(v.get("instrument"))]))
    if reason.kind == SECTORS:
        sectors = _list((taxonomy.label("sectors", c, lang) for c in v.get("sectors", [])), lang)
        return t(lang, "reason.sectors", sectors=sectors)
    if reason.kind == ALSO_KNOWS:
        return t(lang, "reason.also_knows", instruments=instruments(v.get("instruments", [])))
    if reason.kind == CROSS_BORDER:
        return t(
            lang,
            "reason.cross_border",
            learner_country=country_name(str(v.get("learner", "")), lang),
            mentor_country=country_name(str(v.get("mentor", "")), lang),
        )
    if reason.kind == SIMILAR_SIZE:
        return t(
            lang,
            "reason.similar_size",
            learner=_number(v.get("learner"), lang),
            mentor=_number(v.get("mentor"), lang),
        )
    if reason.kind == LANGUAGES:
        codes = list(v.get("languages", []))
        key = "reason.languages_one" if len(codes) == 1 else "reason.languages_many"
        return t(lang, key, languages=_list((_language(c, lang) for c in codes), lang))
    return reason.kind


def render_reasons(
    t: Translator, taxonomy: Taxonomy, locale: str, reasons: Iterable[Any]
) -> list[str]:
    """Every reason of a pair, in order, in a language."""
    return [render_reason(t, taxonomy, locale, r) for r in reasons]


def reasons_json(reasons: Iterable[Reason]) -> list[dict[str, Any]]:
    """Reasons as a pair stores them."""
    return [r.to_json() for r in reasons]
