"""Pure rules of groups: reasons as data and their wording, authority sizes, UTC hours, CSV rows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from handlers.core.taxonomy import Taxonomy, language_name
from handlers.officers.fields import email_problem, taxonomy_code

T = Callable[..., str]

STATUSES = ("proposed", "rejected", "approved", "introduced", "active", "failed", "closed")
LIVE = ("approved", "introduced", "active")
DEFAULT_SIZES = {"min_mentors": 1, "max_mentors": 2, "min_learners": 3, "max_learners": 6}
APPLY_COLUMNS = ("email", "wants", "offers")
MAX_CAPACITY = 5


def size_class(population: int | None) -> str:
    """small (< 50,000), medium (< 500,000) or large; '' when unknown."""
    if not population:
        return ""
    return "small" if population < 50_000 else "medium" if population < 500_000 else "large"


def utc_hour(timezone: str, at: datetime) -> int:
    """The whole-hour UTC offset of a time zone at a moment (Europe: -1..+3)."""
    try:
        offset = at.astimezone(ZoneInfo(timezone)).utcoffset()
    except (KeyError, ValueError):
        return 1
    return round(offset.total_seconds() / 3600) if offset is not None else 0


def ranked_union(lists: list[list[str]]) -> tuple[str, ...]:
    """The schemes of several officers, best rank first (an authority's wants)."""
    best: dict[str, tuple[int, int]] = {}
    for n, items in enumerate(lists):
        for rank, code in enumerate(items):
            best[code] = min(best.get(code, (rank, n)), (rank, n))
    return tuple(sorted(best, key=lambda c: best[c]))


def render_reason(t: T, taxonomy: Taxonomy, locale: str, reason: Mapping[str, Any]) -> str:
    """One reason in a reader's language (`groups.reason.<kind>`)."""
    kind = str(reason.get("kind", ""))
    values: dict[str, Any] = {k: v for k, v in reason.items() if k != "kind"}
    if "scheme" in values:
        values["scheme"] = taxonomy.label("instruments", str(values["scheme"]), locale)
    if "language" in values:
        values["language"] = language_name(str(values["language"]), locale)
    if kind == "offers" and values.get("practice"):
        kind = "offers_practice"
    return t(locale, f"groups.reason.{kind}", **values)


def render_reasons(t: T, taxonomy: Taxonomy, locale: str, reasons: list[Any]) -> list[str]:
    """Group reasons, then each member's ("Lyon: …")."""
    lines = []
    for reason in reasons:
        text = render_reason(t, taxonomy, locale, reason)
        who = reason.get("authority")
        lines.append(f"{who}: {text}" if who else text)
    return lines


def check_application_row(
    line: int, row: Mapping[str, str], taxonomy: Taxonomy
) -> tuple[str, list[str], list[str], int | None] | list[str]:
    """(email, wants, offers, capacity) of a CSV row, or the problems found on it."""
    problems = []
    email = (row.get("email") or "").strip().lower()
    if problem := email_problem(email):
        problems.append(f"line {line}: {problem}")
    lists: dict[str, list[str]] = {}
    for column in ("wants", "offers"):
        codes = []
        for item in (row.get(column) or "").split(";"):
            if not item.strip():
                continue
            code = taxonomy_code(taxonomy, "instruments", item.strip())
            if code is None:
                problems.append(f"line {line}: unknown scheme {item.strip()[:40]!r} in {column}")
            elif code not in codes:
                codes.append(code)
        lists[column] = codes
    if not lists["wants"] and not lists["offers"] and not problems:
        problems.append(f"line {line}: no scheme to learn or mentor")
    capacity: int | None = None
    raw = (row.get("capacity") or "").strip()
    if raw:
        if not raw.isdigit() or not 0 <= int(raw) <= MAX_CAPACITY:
            problems.append(f"line {line}: capacity must be 0-{MAX_CAPACITY}, not {raw[:10]!r}")
        else:
            capacity = int(raw)
    if problems:
        return problems
    return email, lists["wants"], lists["offers"], capacity
