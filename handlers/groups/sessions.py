"""Group sessions: a coordinator proposes slots, members vote on them shown in their own time
zone, the most wanted slot is scheduled, and every member is reminded a day and an hour before,
within their own working hours (handlers/groups/working_hours.py).

Reminders are rows with a `due_at` (`session_reminder`), written when the session is
scheduled and fired by the `group_session_reminders` job, so a restart loses none and two
schedulers never send one twice (the row is claimed before its message is queued, in the same
transaction). Everything goes out through the outbox.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from handlers.core.content import Content
from handlers.core.context import Ctx
from handlers.core.events import Incoming
from handlers.core.jobs import JobCtx, job
from handlers.core.ports import Messenger
from handlers.core.replies import Choice
from handlers.core.router import router
from handlers.delivery.outbox import officer_locale, preferred_identity, queue_to_officer
from handlers.groups.service import Refused
from handlers.groups.working_hours import days_ahead, member_zone, reminder_time
from storage.models import GroupSession, Officer, OfficerStatus
from storage.uow import UnitOfWork

MIN_SLOTS, MAX_SLOTS = 1, 6
REMINDERS = {"day": timedelta(days=1), "hour": timedelta(hours=1)}
BATCH = 200
OPEN = ("introduced", "active")


def local_time(moment: datetime, timezone: str, locale: str) -> str:
    """A moment as a member reads it: their weekday, date and time, and their zone."""
    try:
        zone = ZoneInfo(timezone)
    except (KeyError, ValueError):
        zone, timezone = ZoneInfo("UTC"), "UTC"
    text = format_datetime(moment, "EEE d MMM y, HH:mm", tzinfo=zone, locale=locale)
    return f"{text} ({timezone})"


DAY_PATTERN = {"de": "EEEE, d. MMMM", "es": "EEEE d 'de' MMMM"}
"""How a reminder's day is written in a sentence (others: "Friday 4 December")."""


def reminders_promised(
    content: Content, locale: str, starts: datetime, timezone: str, due: dict[str, datetime]
) -> str:
    """The sentence that tells a member which reminders they will get: only those that will
    really go out (an hour-before one outside working hours is dropped; a day-before one may
    move to the last working day, which is then named)."""
    day, hour = due.get("day"), "hour" in due
    values: dict[str, str] = {}
    if day is None:
        key = "remind_hour" if hour else ""
    elif day == starts - REMINDERS["day"]:
        key = "remind_day_hour" if hour else "remind_day"
    else:
        zone = member_zone(timezone)
        key = "remind_on_hour" if hour else "remind_on"
        values = {
            "day": format_datetime(
                day, DAY_PATTERN.get(locale, "EEEE d MMMM"), tzinfo=zone, locale=locale
            ),
            "time": format_datetime(day, "HH:mm", tzinfo=zone, locale=locale),
        }
    return " " + content.t(locale, f"groups.session.{key}", **values) if key else ""


async def _members(uow: UnitOfWork, group_id: int) -> list[Officer]:
    return [
        officer
        for _, officer in await uow.groups.members(group_id)
        if officer is not None and officer.status == OfficerStatus.ACTIVE
    ]


def _slot_choices(
    content: Content, locale: str, officer: Officer, session: GroupSession, mine: set[int]
) -> list[Choice]:
    return [
        Choice(
            f"gss:{session.id}:{n}",
            local_time(datetime.fromisoformat(slot), officer.timezone, locale),
            n in mine,
        )
        for n, slot in enumerate(session.slots)
    ]


async def propose_session(
    uow: UnitOfWork,
    content: Content,
    secret: bytes,
    group_id: int,
    slots: list[datetime],
    now: datetime,
) -> dict[str, Any]:
    """Offer a group's members slots to vote on (in their own time zones)."""
    group = await uow.groups.get(group_id)
    if group is None or group.status not in OPEN:
        raise Refused(f"group #{group_id} is not introduced yet; approve it and let the bot run")
    if not MIN_SLOTS <= len(slots) <= MAX_SLOTS:
        raise Refused(f"propose {MIN_SLOTS}-{MAX_SLOTS} slots")
    if any(s <= now for s in slots):
        raise Refused("every slot must be in the future")
    session = await uow.groups.add_session(
        GroupSession(
            group_id=group.id,
            slots=[s.isoformat() for s in sorted(slots)],
            status="voting",
            created_at=now,
        )
    )
    scheme_of = content.taxonomy.label
    for officer in await _members(uow, group.id):
        locale = officer_locale(officer, content, preferred_identity(officer))
        await queue_to_officer(
            uow,
            content,
            secret,
            officer,
            "groups.session.vote",
            idempotency_key=f"gsession:{session.id}:vote:{officer.id}",
            values={"scheme": scheme_of("instruments", group.scheme, locale)},
            choices=_slot_choices(content, locale, officer, session, set()),
            multi=True,
            purpose="group_session",
            ref_id=session.id,
        )
    return {"session": session.id, "group": group.id, "slots": list(session.slots)}


@router.choice("gss")
async def press_slot(event: Incoming, ctx: Ctx) -> None:
    """A member ticks (or unticks) a slot that suits them."""
    _, session_id, slot = (event.choice or "").split(":", 2)
    session = await ctx.uow.groups.get_session(int(session_id))
    if session is None or ctx.officer is None or session.status != "voting":
        await ctx.reply("groups.session.closed")
        return
    members = {o.id for o in await _members(ctx.uow, session.group_id)}
    if ctx.officer.id not in members or not 0 <= int(slot) < len(session.slots):
        await ctx.reply("errors.expired_choice")
        return
    await ctx.uow.groups.toggle_vote(session.id, ctx.officer.id, int(slot))
    mine = await ctx.uow.groups.my_votes(session.id, ctx.officer.id)
    group = await ctx.uow.groups.get(session.group_id)
    scheme = ctx.content.taxonomy.label("instruments", group.scheme if group else "", ctx.locale)
    await ctx.reply(
        "groups.session.vote",
        choices=_slot_choices(ctx.content, ctx.locale, ctx.officer, session, mine),
        multi=True,
        edit=True,
        scheme=scheme,
    )


async def schedule_session(
    uow: UnitOfWork, content: Content, secret: bytes, session_id: int, now: datetime
) -> dict[str, Any]:
    """Close the vote: the slot most members chose (the earliest of a tie) is the session."""
    session = await uow.groups.get_session(session_id)
    if session is None or session.status != "voting":
        raise Refused(f"session #{session_id} is not open for votes")
    counts = await uow.groups.vote_counts(session.id)
    best = max(range(len(session.slots)), key=lambda n: (counts.get(n, 0), -n))
    starts = datetime.fromisoformat(session.slots[best])
    session.status, session.starts_at = "scheduled", starts
    group = await uow.groups.get(session.group_id)
    for officer in await _members(uow, session.group_id):
        planned: dict[str, datetime] = {}
        for kind in REMINDERS:
            due = reminder_time(kind, starts, officer.timezone, now)
            if due is not None and now <= due < starts:
                await uow.groups.add_reminder(session.id, officer.id, kind, due)
                planned[kind] = due
        locale = officer_locale(officer, content, preferred_identity(officer))
        await queue_to_officer(
            uow,
            content,
            secret,
            officer,
            "groups.session.scheduled",
            idempotency_key=f"gsession:{session.id}:scheduled:{officer.id}",
            values={
                "scheme": content.taxonomy.label(
                    "instruments", group.scheme if group else "", locale
                ),
                "when": local_time(starts, officer.timezone, locale),
                "remind": reminders_promised(content, locale, starts, officer.timezone, planned),
            },
            purpose="group_session",
            ref_id=session.id,
        )
    return {
        "session": session.id,
        "starts_at": starts.isoformat(),
        "votes": counts.get(best, 0),
    }


@job("group_session_reminders")
async def send_reminders(core: JobCtx, messengers: dict[str, Messenger]) -> int:
    """Queue the session reminders that are due (each claimed once)."""
    now = core.clock.now()
    sent = 0
    async with core.uow() as uow:
        for reminder in await uow.groups.due_reminders(now, BATCH):
            if not await uow.groups.mark_reminded(reminder.id, now):
                continue
            session = await uow.groups.get_session(reminder.session_id)
            officer = await uow.officers.get(reminder.officer_id)
            if session is None or session.starts_at is None or officer is None:
                continue
            if session.status != "scheduled" or session.starts_at <= now:
                continue
            group = await uow.groups.get(session.group_id)
            cycle = await uow.cycles.get(group.cycle_id) if group else None
            content = await core.content.of_programme(uow, cycle.programme_id if cycle else None)
            locale = officer_locale(officer, content, preferred_identity(officer))
            key = f"groups.session.reminder_{reminder.kind}"
            if reminder.kind == "day":  # moved to working hours: say when in the right words
                ahead = days_ahead(now, session.starts_at, officer.timezone)
                key = {0: "groups.session.reminder_today", 1: key}.get(
                    ahead, "groups.session.reminder_ahead"
                )
            sent += await queue_to_officer(
                uow,
                content,
                core.secret,
                officer,
                key,
                idempotency_key=f"gsession:{session.id}:remind:{reminder.kind}:{officer.id}",
                values={
                    "scheme": content.taxonomy.label(
                        "instruments", group.scheme if group else "", locale
                    ),
                    "when": local_time(session.starts_at, officer.timezone, locale),
                },
                purpose="group_session",
                ref_id=session.id,
            )
        await uow.commit()
    return sent
