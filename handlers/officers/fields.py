"""The rules of an officer's profile fields, written once for chat, Slack modal, CSV and web.

Every door that takes a name, an authority, a job title, a time zone, a country or a language
calls these functions, so a rule (what a valid name is, which characters are removed) cannot
drift between them. Lookups that scan large tables (time zones, CLDR names) are built once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache, lru_cache
from zoneinfo import available_timezones

from handlers.core.taxonomy import EU_LANGUAGES, EUROPE, Taxonomy, fold, match_country

NAME_MIN, NAME_MAX = 2, 120
TEXT_MAX = 150  # authority and job title
EMAIL_MAX = 320
UI_LOCALES = ("en", "fr", "de", "es", "it")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Common English names a roster uses that CLDR does not list as the country's name.
COUNTRY_ALIASES = {
    "uk": "GB",
    "u.k.": "GB",
    "great britain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "holland": "NL",
    "the netherlands": "NL",
    "czech republic": "CZ",
    "republic of ireland": "IE",
    "eire": "IE",
    "macedonia": "MK",
    "republic of moldova": "MD",
    "bosnia": "BA",
    "turkiye": "TR",
    "el": "GR",
}


def clean_text(text: str) -> str:
    """Text as shown to others: no control or format characters (NUL, zero-width, bidi
    overrides and isolates, soft hyphens, tags) that could disguise it, one space between words."""
    if not text.isprintable():  # printable text has none of them: skip the per-character scan
        text = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co"))
    return " ".join(text.split())


def name_problem(name: str) -> str | None:
    """Why a cleaned person's name is refused (None when it is good)."""
    if not NAME_MIN <= len(name) <= NAME_MAX:
        return f"name must be {NAME_MIN}-{NAME_MAX} characters, not {len(name)}"
    if name.startswith("/"):
        return "name must not start with '/'"
    return None


def text_problem(what: str, value: str, required: bool = True) -> str | None:
    """Why a cleaned authority or job title is refused (None when it is good)."""
    if not value and not required:
        return None
    if not NAME_MIN <= len(value) <= TEXT_MAX:
        return f"{what} must be {NAME_MIN}-{TEXT_MAX} characters, not {len(value)}"
    return None


def email_problem(email: str) -> str | None:
    """Why an e-mail address is refused (None when it is good)."""
    if len(email) > EMAIL_MAX or not EMAIL.match(email) or clean_text(email) != email:
        return f"bad email {email[:60]!r}"
    return None


@cache
def _zones() -> dict[str, str]:
    """Every IANA zone by its lower-cased name, scanned once per process (the scan is slow)."""
    return {z.lower(): z for z in available_timezones()}


def timezone_of(text: str) -> str | None:
    """The IANA time zone named (any case), or None."""
    return _zones().get(text.strip().lower())


@cache
def _country_names(everywhere: bool) -> dict[str, str]:
    """Folded country names in the bot's languages, or (slower to load: 35 CLDR locales) in
    every European language, so that "Polska" and "Česko" work too."""
    from babel import Locale

    names: dict[str, str] = {}
    for lang in (*UI_LOCALES, *EU_LANGUAGES) if everywhere else UI_LOCALES:
        try:
            territories = Locale.parse(lang).territories
        except (ValueError, TypeError):
            continue
        for code in EUROPE:
            if code in territories:
                names.setdefault(fold(territories[code]), code)
    for alias, code in COUNTRY_ALIASES.items():
        names.setdefault(alias, code)
    return names


@lru_cache(maxsize=4096)
def country_code(text: str) -> str | None:
    """ISO 3166-1 alpha-2 code of a European country named by code, name or common alias."""
    wanted = fold(text)
    if not wanted or len(wanted) > TEXT_MAX:
        return None
    if len(wanted) == 2 and wanted.upper() in EUROPE:
        return wanted.upper()
    for everywhere in (False, True):
        names = _country_names(everywhere)
        found = names.get(wanted) or names.get(wanted.removeprefix("the "))
        if found:
            return found
    return match_country(text)


@cache
def _language_names(everywhere: bool) -> tuple[frozenset[str], dict[str, str]]:
    """Every ISO 639-1 code, and folded language names in the bot's languages or (slower to
    load) in every European language."""
    from babel import Locale

    english = Locale("en").languages
    codes = frozenset(str(c) for c in english if isinstance(c, str) and len(c) == 2)
    names: dict[str, str] = {}
    for lang in (*UI_LOCALES, *EU_LANGUAGES) if everywhere else UI_LOCALES:
        try:
            languages = Locale.parse(lang).languages
        except (ValueError, TypeError):
            continue
        for code in codes:
            if isinstance(name := languages.get(code), str):
                names.setdefault(fold(name), code)
    return codes, names


@lru_cache(maxsize=4096)
def language_code(text: str) -> str | None:
    """ISO 639-1 code of any language named by code ('ru') or by name ('French', 'Polski')."""
    wanted = fold(text)
    if not wanted or len(wanted) > 60:
        return None
    codes, names = _language_names(False)
    if wanted in codes:
        return wanted
    return names.get(wanted) or _language_names(True)[1].get(wanted)


def taxonomy_code(taxonomy: Taxonomy, group: str, text: str) -> str | None:
    """The code of a taxonomy entry named by its code or by a label in any language, with or
    without its bracketed short form ("Energy performance contracting", "EPC"). Exact up to
    case and accents: a roster must not guess."""
    key = (id(taxonomy.labels), group)
    cached = _TAXONOMY_NAMES.get(key)
    if cached is None or cached[0] is not taxonomy.labels:
        if len(_TAXONOMY_NAMES) > 64:
            _TAXONOMY_NAMES.clear()
        cached = _TAXONOMY_NAMES[key] = (taxonomy.labels, _taxonomy_names(taxonomy, group), {})
    _, names, seen = cached
    if text not in seen and len(seen) < 10_000:
        seen[text] = names.get(fold(text.replace("_", " ")))
    return seen[text] if text in seen else names.get(fold(text.replace("_", " ")))


# By (taxonomy, group): the taxonomy (to tell a recycled id() apart), its folded names, and the
# answers already given (a roster repeats the same few codes thousands of times).
_TAXONOMY_NAMES: dict[tuple[int, str], tuple[object, dict[str, str], dict[str, str | None]]] = {}


def _taxonomy_names(taxonomy: Taxonomy, group: str) -> dict[str, str]:
    names: dict[str, str] = {}
    for code, labels in taxonomy.labels.get(group, {}).items():
        names.setdefault(fold(code.replace("_", " ")), code)
        for label in labels.values():
            names.setdefault(fold(label), code)
            bare, _, short = label.partition("(")
            names.setdefault(fold(bare), code)
            if short.endswith(")"):
                names.setdefault(fold(short[:-1]), code)
    return names


def officer_locale(
    profile_locale: str | None, languages: Iterable[str], programme_languages: Iterable[str]
) -> str:
    """The language to write to an officer in: their profile locale, else the first of their
    languages the programme supports, else the programme's default (its first language)."""
    supported = [lang for lang in programme_languages if lang in UI_LOCALES] or ["en"]
    if profile_locale and profile_locale in UI_LOCALES:
        return profile_locale
    return next((lang for lang in languages if lang in supported), supported[0])
