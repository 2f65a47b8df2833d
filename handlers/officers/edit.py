"""Checking one officer's profile as a coordinator edits it in a form, field by field.

The rules are those of the chat and of the roster CSV (`handlers.officers.fields`): the same
cleaning, lengths, e-mail pattern, country, language and time-zone lookups, taxonomy codes.
What differs is the answer: a problem per field, as a message key and its values, so a form
can show each one next to its field in the reader's language.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from handlers.core.taxonomy import Taxonomy
from handlers.officers import fields

FIELDS = (
    "name",
    "email",
    "authority",
    "country",
    "job_title",
    "languages",
    "timezone",
    "sectors",
    "wants",
    "offers",
)
LISTS = {"languages": None, "sectors": "sectors", "wants": "instruments", "offers": "instruments"}


@dataclass(frozen=True)
class Problem:
    """Why a field is refused: a message key (`console.edit_error_<key>`) and its values."""

    key: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class Checked:
    """The cleaned profile values, or the problems of the fields that are wrong."""

    values: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, Problem] = field(default_factory=dict)


def items(text: str) -> list[str]:
    """A `;`- or `,`-separated list, as the roster's cells and the form's text fields hold."""
    return [c.strip() for c in text.replace(",", ";").split(";") if c.strip()]


def _codes(text: str, lookup: Callable[[str], str | None]) -> tuple[list[str], str | None]:
    codes: list[str] = []
    for item in items(text):
        code = lookup(item)
        if code is None:
            return [], item[:60]
        if code not in codes:
            codes.append(code)
    return codes, None


def check_profile(form: Mapping[str, str], taxonomy: Taxonomy) -> Checked:
    """Every field of the form checked by the roster's rules."""
    done = Checked()
    raw = {f: str(form.get(f) or "") for f in FIELDS}
    too_long = {f for f, v in raw.items() if len(v) > 1000}
    for f in too_long:
        done.problems[f] = Problem("too_long")

    name = fields.clean_text(raw["name"])
    if "name" not in too_long:
        if not name:
            done.problems["name"] = Problem("required")
        elif fields.name_problem(name):
            done.problems["name"] = Problem(
                "name", {"min": fields.NAME_MIN, "max": fields.NAME_MAX}
            )
    done.values["name"] = name

    email = raw["email"].strip().lower()
    if "email" not in too_long and email and fields.email_problem(email):
        done.problems["email"] = Problem("email")
    done.values["email"] = email or None  # officers who joined in chat may have none

    for what, required in (("authority", True), ("job_title", False)):
        value = fields.clean_text(raw[what])
        if what in too_long:
            continue
        if required and not value:
            done.problems[what] = Problem("required")
        elif fields.text_problem(what, value, required):
            done.problems[what] = Problem("text", {"min": fields.NAME_MIN, "max": fields.TEXT_MAX})
        done.values[what] = value or None

    country_text = raw["country"].strip()
    country = fields.country_code(country_text) if country_text else None
    if "country" not in too_long:
        if not country_text:
            done.problems["country"] = Problem("required")
        elif country is None:
            done.problems["country"] = Problem("country", {"value": country_text[:60]})
    done.values["country"] = country

    tz_text = raw["timezone"].strip()
    zone = fields.timezone_of(tz_text) if tz_text else None
    if tz_text and zone is None and "timezone" not in too_long:
        done.problems["timezone"] = Problem("timezone", {"value": tz_text[:60]})
    done.values["timezone"] = zone

    for what, group in LISTS.items():
        if what in too_long:
            continue
        lookup = fields.language_code if group is None else _taxonomy_lookup(taxonomy, group)
        codes, wrong = _codes(raw[what], lookup)
        if wrong is not None:
            key = "language" if group is None else "code"
            done.problems[what] = Problem(key, {"value": wrong})
        done.values[what] = codes
    return done


def _taxonomy_lookup(taxonomy: Taxonomy, group: str) -> Callable[[str], str | None]:
    def lookup(text: str) -> str | None:
        return fields.taxonomy_code(taxonomy, group, text)

    return lookup
