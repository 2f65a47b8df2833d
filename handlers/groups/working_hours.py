"""When a session reminder may go out: in the member's own working hours, never at night.

A reminder "a day before" that falls outside working hours (a night, a weekend) goes at the
start of the last working day before the session's day, in the member's time zone: a Monday
09:30 session is announced on Friday at 09:00, a Wednesday 07:30 one on Tuesday at 09:00. A
reminder "an hour before" outside working hours is not sent at all (the day's reminder has
already told them; an 07:00 message about an 08:00 meeting would wake them).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WORK_START, WORK_END = time(9, 0), time(18, 0)
WORKING_DAYS = frozenset(range(5))  # Monday..Friday


def member_zone(timezone: str | None) -> ZoneInfo:
    """A member's time zone (Brussels when the stored one is unknown)."""
    try:
        return ZoneInfo(timezone or "Europe/Brussels")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Europe/Brussels")


def is_working_time(moment: datetime, zone: ZoneInfo) -> bool:
    local = moment.astimezone(zone)
    return local.weekday() in WORKING_DAYS and WORK_START <= local.time() < WORK_END


def next_working_moment(moment: datetime, zone: ZoneInfo) -> datetime:
    """`moment` when it is working time, else 09:00 of the next working day, in UTC."""
    if is_working_time(moment, zone):
        return moment.astimezone(UTC)
    local = moment.astimezone(zone)
    day = local.date() if local.time() < WORK_START else local.date() + timedelta(days=1)
    while day.weekday() not in WORKING_DAYS:
        day += timedelta(days=1)
    return datetime.combine(day, WORK_START, zone).astimezone(UTC)


def reminder_time(
    kind: str, starts_at: datetime, timezone: str | None, now: datetime | None = None
) -> datetime | None:
    """When a reminder of `kind` ('day' or 'hour') before a session goes out, in UTC; None
    when it must not be sent.

    A session scheduled so late that its day reminder's working moment has passed gets it at
    the next working moment, if that is still more than an hour before the session (else the
    hour reminder, or nothing at night, is all there is)."""
    zone = member_zone(timezone)
    if kind == "hour":
        due = starts_at - timedelta(hours=1)
        return due.astimezone(UTC) if is_working_time(due, zone) else None
    due = starts_at - timedelta(days=1)
    if is_working_time(due, zone):
        found = due.astimezone(UTC)
    else:
        day = starts_at.astimezone(zone).date() - timedelta(days=1)
        while day.weekday() not in WORKING_DAYS:
            day -= timedelta(days=1)
        found = datetime.combine(day, WORK_START, zone).astimezone(UTC)
    if now is not None and found <= now:
        soonest = next_working_moment(now, zone)
        return soonest if soonest < starts_at - timedelta(hours=1) else None
    return found


def days_ahead(now: datetime, starts_at: datetime, timezone: str | None) -> int:
    """How many calendar days from now to the session, on the member's calendar."""
    zone = member_zone(timezone)
    return (starts_at.astimezone(zone).date() - now.astimezone(zone).date()).days
