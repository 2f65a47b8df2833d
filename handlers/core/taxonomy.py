"""The programme's codes (sectors, instruments) with translated labels, and country lookup."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from babel import Locale
from babel.core import get_global
from rapidfuzz import fuzz, process

from handlers.core import yamlfile

EUROPE = [
    "AL",
    "AD",
    "AT",
    "BA",
    "BE",
    "BG",
    "BY",
    "CH",
    "CY",
    "CZ",
    "DE",
    "DK",
    "EE",
    "ES",
    "FI",
    "FR",
    "GB",
    "GE",
    "GR",
    "HR",
    "HU",
    "IE",
    "IS",
    "IT",
    "LI",
    "LT",
    "LU",
    "LV",
    "MC",
    "MD",
    "ME",
    "MK",
    "MT",
    "NL",
    "NO",
    "PL",
    "PT",
    "RO",
    "RS",
    "SE",
    "SI",
    "SK",
    "SM",
    "TR",
    "UA",
    "XK",
]


def fold(text: str) -> str:
    """Lower-case, strip accents and surrounding space: for lenient comparisons."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


@dataclass(frozen=True)
class Taxonomy:
    """Code lists with labels per locale: `labels[group][code][locale]`."""

    labels: dict[str, dict[str, dict[str, str]]]

    @classmethod
    def load(cls, path: Path) -> Taxonomy:
        with path.open(encoding="utf-8") as fh:
            data = yamlfile.safe_load(fh) or {}
        labels = {
            group: {
                str(code): {str(k): str(v) for k, v in names.items()}
                for code, names in codes.items()
            }
            for group, codes in data.items()
        }
        return cls(labels)

    def merged(self, other: Taxonomy) -> Taxonomy:
        """This taxonomy plus the codes another (a programme's) adds."""
        merged = {g: dict(codes) for g, codes in self.labels.items()}
        for group, codes in other.labels.items():
            merged.setdefault(group, {}).update(codes)
        return Taxonomy(merged)

    def codes(self, group: str) -> list[str]:
        return list(self.labels.get(group, {}))

    def label(self, group: str, code: str, locale: str) -> str:
        names = self.labels.get(group, {}).get(code, {})
        return names.get(locale) or names.get("en") or code

    def match(self, group: str, text: str, cutoff: float = 80) -> str | None:
        """The code whose code or label (any language) best matches free text."""
        wanted = fold(text)
        options: list[tuple[str, str]] = []
        for code, names in self.labels.get(group, {}).items():
            options.append((code, fold(code.replace("_", " "))))
            options.extend((code, fold(name)) for name in names.values())
        for code, name in options:
            if wanted == name:
                return code
        found = process.extractOne(wanted, [n for _, n in options], scorer=fuzz.WRatio)
        if found and found[1] >= cutoff and len(wanted) >= 3:
            return options[found[2]][0]
        return None

    def match_many(self, group: str, text: str) -> list[str]:
        """Codes named in a comma/semicolon/`and` separated answer, in order, no repeats."""
        found: list[str] = []
        for part in _split(text):
            code = self.match(group, part)
            if code and code not in found:
                found.append(code)
        return found


def _split(text: str) -> list[str]:
    for sep in (";", "/", " and ", " et ", " und ", " y ", " e ", "+", "&"):
        text = text.replace(sep, ",")
    return [p.strip() for p in text.split(",") if p.strip()]


def country_name(code: str, locale: str) -> str:
    """A country's name in a language (Babel's CLDR data)."""
    try:
        return str(Locale.parse(locale).territories.get(code.upper(), code.upper()))
    except (ValueError, TypeError):
        return code.upper()


def match_country(text: str) -> str | None:
    """ISO alpha-2 code from 'BE', 'Belgium', 'belgique', 'Belgien'…"""
    wanted = fold(text)
    if len(wanted) == 2 and wanted.upper() in EUROPE:
        return wanted.upper()
    names: list[tuple[str, str]] = []
    for lang in ("en", "fr", "de", "es", "it"):
        territories = Locale(lang).territories
        names.extend((code, fold(territories[code])) for code in EUROPE if code in territories)
    for code, name in names:
        if wanted == name:
            return code
    found = process.extractOne(wanted, [n for _, n in names], scorer=fuzz.ratio)
    if found and found[1] >= 80:
        return names[found[2]][0]
    return None


def language_name(code: str, locale: str) -> str:
    """A language's name in a language, capitalised."""
    try:
        name = str(Locale.parse(locale).languages.get(code, code))
    except (ValueError, TypeError):
        name = code
    return name[:1].upper() + name[1:]


def match_language(text: str) -> str | None:
    """ISO 639-1 code from 'fr', 'French', 'français', 'Französisch'…"""
    wanted = fold(text)
    if len(wanted) == 2 and wanted in EU_LANGUAGES:
        return wanted
    for lang in ("en", "fr", "de", "es", "it"):
        languages = Locale(lang).languages
        for code in EU_LANGUAGES:
            if fold(languages.get(code, "")) == wanted:
                return code
    return None


EU_LANGUAGES = [
    "en",
    "fr",
    "de",
    "es",
    "it",
    "pt",
    "nl",
    "pl",
    "ro",
    "el",
    "cs",
    "hu",
    "sv",
    "bg",
    "da",
    "fi",
    "sk",
    "hr",
    "lt",
    "sl",
    "lv",
    "et",
    "ga",
    "mt",
    "ca",
    "eu",
    "gl",
    "lb",
    "no",
    "uk",
    "sr",
    "sq",
    "mk",
    "bs",
    "tr",
]


def timezones_for(country: str) -> list[str]:
    """IANA time zones of a country, most likely first."""
    zones: list[str] = list(get_global("territory_zones").get(country.upper(), []))
    european = [z for z in zones if z.startswith("Europe/")]
    return european + [z for z in zones if z not in european]
