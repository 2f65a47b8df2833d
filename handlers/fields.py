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
    kept = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co"))
    return " ".join(kept.split())


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
def _country_names() -> dict[str, str]:
    """Folded country names in every European language (so "Polska" and "Česko" work)."""
    from babel import Locale

    names: dict[str, str] = {}
    for lang in (*UI_LOCALES, *EU_LANGUAGES):
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
    found = _country_names().get(wanted) or _country_names().get(fold(wanted.removeprefix("the ")))
    return found or match_country(text)


@cache
def _language_names() -> tuple[frozenset[str], dict[str, str]]:
    """Every ISO 639-1 code, and folded language names in the European languages."""
    from babel import Locale

    english = Locale("en").languages
    codes = frozenset(str(c) for c in english if isinstance(c, str) and len(c) == 2)
    names: dict[str, str] = {}
    for lang in (*UI_LOCALES, *EU_LANGUAGES):
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
    codes, names = _language_names()
    if wanted in codes:
        return wanted
    return names.get(wanted)


def taxonomy_code(taxonomy: Taxonomy, group: str, text: str) -> str | None:
    """The code of a taxonomy entry named by its code or by a label in any language, with or
    without its bracketed short form ("Energy performance contracting", "EPC"). Exact up to
    case and accents: a roster must not guess."""
    wanted = fold(text.replace("_", " "))
    key = (id(taxonomy.labels), group)
    cached = _TAXONOMY_NAMES.get(key)
    if cached is None or cached[0] is not taxonomy.labels:
        if len(_TAXONOMY_NAMES) > 64:
            _TAXONOMY_NAMES.clear()
        cached = _TAXONOMY_NAMES[key] = (taxonomy.labels, _taxonomy_names(taxonomy, group))
    return cached[1].get(wanted)


# Folded names by (taxonomy, group); the taxonomy is kept to tell a recycled id() apart.
_TAXONOMY_NAMES: dict[tuple[int, str], tuple[object, dict[str, str]]] = {}


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
