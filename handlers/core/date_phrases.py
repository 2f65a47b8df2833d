"""Moments worded in each reader's language, with that language's own date grammar.

The CLDR patterns and the phrase joining day and time live in the catalogues (`dates.*`), and
the messages that embed a moment carry their own preposition and article ("hasta el {when}",
"bis {when}", "jusqu'au {when}"), so that no language inherits another's word order.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_datetime

from handlers.core.i18n import Translator


def _zone(timezone: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def moment_text(t: Translator, locale: str | None, moment: datetime | None, timezone: str) -> str:
    """E.g. `martes 15 de diciembre de 2026, 17:00 h`, in a person's time zone; `—` for none."""
    if moment is None:
        return "—"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    lang = t.resolve(locale)
    zone = _zone(timezone)
    try:
        day = format_datetime(moment, t(lang, "dates.day_pattern"), tzinfo=zone, locale=lang)
        time = format_datetime(moment, t(lang, "dates.time_pattern"), tzinfo=zone, locale=lang)
    except (ValueError, TypeError):
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    return t(lang, "dates.moment", day=day, time=time)


def day_text(t: Translator, locale: str | None, day: date) -> str:
    """A day with its weekday, e.g. `martedì 8 dicembre 2026`: the weekday spares Italian the
    article ("fino a martedì 8 dicembre", never "fino al 8 dicembre")."""
    lang = t.resolve(locale)
    try:
        return format_date(day, t(lang, "dates.day_pattern"), locale=lang)
    except (ValueError, TypeError):
        return day.isoformat()
