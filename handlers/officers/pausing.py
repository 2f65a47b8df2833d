"""Taking a break: `/pause until DATE`, `/resume`, automatic resume, and pausing the silent.

A paused officer (`officer.status = paused`) gets no check-in, reminder or introduction and is
left out of matching; their pairs stay as they are. A `/pause` with no return date hands their
group seats over like a departure does (`handlers.groups.edits.hand_over_seats`): a colleague
of their authority takes each seat, or, with none, the seat stays theirs for when they resume
and the coordinators are told; the officer reads which. On `/resume` they take back a seat kept
for them or left vacant since, and hear which colleague keeps one that was handed over
(`handlers.groups.edits.seats_on_return`). A dated pause keeps the seats: the
group carries on and they are back on the day. `paused_reason` says who paused them:
`own` (`/pause`), `silent` (three check-ins in a row left unanswered; the check-in job calls
`pause_if_silent`), `coordinator` (from the coordinators' console: `pause_by_coordinator`).
An officer imported with `consent=no` is paused with no reason; neither they nor one a
coordinator paused can `/resume` themselves. The `resume_paused` job brings back those whose
date has come.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from handlers.core.content import Content
from handlers.core.context import Ctx
from handlers.core.date_phrases import day_text
from handlers.core.events import Incoming
from handlers.core.jobs import JobCtx, job
from handlers.core.ports import Messenger
from handlers.core.router import router
from handlers.delivery.outbox import queue_to_officer
from handlers.groups.edits import hand_over_seats, seats_on_return
from handlers.pairing.view import zone
from storage.models import CheckIn, Officer, OfficerStatus, Pair
from storage.uow import UnitOfWork

OWN, SILENT, COORDINATOR = "own", "silent", "coordinator"
SILENT_CHECKINS = 3
"""Check-ins in a row an officer leaves unanswered before they are paused."""
LONGEST = timedelta(days=366)
_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_DMY = re.compile(r"\b(\d{1,2})[./](\d{1,2})[./](\d{4})\b")


def parse_day(text: str) -> date | None:
    """A date written 2027-01-15, 15.01.2027 or 15/01/2027 anywhere in the text."""
    found = _ISO.search(text)
    parts = (found.group(1), found.group(2), found.group(3)) if found else None
    if parts is None and (dmy := _DMY.search(text)):
        parts = (dmy.group(3), dmy.group(2), dmy.group(1))
    if parts is None:
        return None
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        return None


@router.command("pause")
async def pause(event: Incoming, ctx: Ctx) -> None:
    """`/pause` (until `/resume`) or `/pause until 2027-01-15` (back by itself that day)."""
    me = ctx.officer
    if me is None or me.status not in (OfficerStatus.ACTIVE, OfficerStatus.PAUSED):
        await ctx.reply("errors.join_first")
        return
    args = event.args.strip()
    until: datetime | None = None
    if args:
        day = parse_day(args)
        tz = zone(me)
        today = ctx.clock.now().astimezone(tz).date()
        if day is None or day <= today or day > today + LONGEST:
            await ctx.reply("pause.bad_date", answer=args[:40])
            return
        until = datetime.combine(day, time(0), tz)
    if me.status != OfficerStatus.ACTIVE and me.paused_reason is None:
        await ctx.reply("pause.by_coordinators")
        return
    was_active = me.status == OfficerStatus.ACTIVE
    me.status = OfficerStatus.PAUSED
    me.paused_reason = OWN
    me.paused_until = until
    if until is None:
        seats = []
        if was_active:
            seats = await hand_over_seats(
                ctx.uow, ctx.content, ctx.secret, me, ctx.clock.now(), pausing=True
            )
        lines = [ctx.t("pause.done")] + [_seat_line(ctx, me, seat) for seat in seats]
        await ctx.send("\n\n".join(lines))
    else:
        when = day_text(ctx.content.t, ctx.locale, until.date())
        await ctx.reply("pause.done_until", date=when)


def _seat_line(ctx: Ctx, me: Officer, seat: dict[str, Any]) -> str:
    """What became of one group seat of an officer who paused."""
    scheme = ctx.content.taxonomy.label("instruments", seat["scheme"], ctx.locale)
    if seat["kept"]:
        return ctx.t("groups.seat.kept", scheme=scheme)
    authority = me.authority.name if me.authority else ""
    colleague = seat["to_name"] or ""
    return ctx.t("groups.seat.handed", scheme=scheme, authority=authority, colleague=colleague)


@router.command("resume")
async def resume(event: Incoming, ctx: Ctx) -> None:
    """Come back from a pause (one's own, or after unanswered check-ins)."""
    me = ctx.officer
    if me is None or me.status not in (OfficerStatus.ACTIVE, OfficerStatus.PAUSED):
        await ctx.reply("errors.join_first")
        return
    if me.status == OfficerStatus.ACTIVE:
        await ctx.reply("pause.not_paused")
        return
    if me.paused_reason in (None, COORDINATOR):
        await ctx.reply("pause.by_coordinators")
        return
    handed = me.paused_reason == OWN and me.paused_until is None  # seats were handed over
    _unpause(me)
    seats = []
    if handed:
        seats = await seats_on_return(ctx.uow, ctx.content, ctx.secret, me, ctx.clock.now())
    lines = [ctx.t("pause.resumed", name=me.name)]
    await ctx.send("\n\n".join(lines + [_return_line(ctx, me, seat) for seat in seats]))


def _return_line(ctx: Ctx, me: Officer, seat: dict[str, Any]) -> str:
    """What an officer back from `/pause` finds of one of their authority's group seats."""
    scheme = ctx.content.taxonomy.label("instruments", seat["scheme"], ctx.locale)
    authority = me.authority.name if me.authority else ""
    return ctx.t(
        f"groups.seat.back_{seat['state']}",
        scheme=scheme,
        authority=authority,
        colleague=seat["colleague"] or "",
        id=seat["group"],
    )


def _unpause(officer: Officer) -> None:
    officer.status = OfficerStatus.ACTIVE
    officer.paused_reason = None
    officer.paused_until = None


def pause_by_coordinator(officer: Officer, until: datetime | None) -> bool:
    """A coordinator pauses an active officer (until a date, or until they resume them); the
    officer cannot `/resume` themselves. False when the officer is not active."""
    if officer.status != OfficerStatus.ACTIVE:
        return False
    officer.status = OfficerStatus.PAUSED
    officer.paused_reason = COORDINATOR
    officer.paused_until = until
    return True


def resume_by_coordinator(officer: Officer) -> bool:
    """A coordinator brings back a paused officer who consented; False otherwise (an import
    with `consent=no` stays paused until the officer agrees in chat)."""
    if officer.status != OfficerStatus.PAUSED or officer.consent_at is None:
        return False
    _unpause(officer)
    return True


@job("resume_paused")
async def resume_paused(core: JobCtx, messengers: dict[str, Messenger]) -> int:
    """Bring back officers whose pause date has come, and tell them."""
    now = core.clock.now()
    async with core.uow() as uow:
        ids = [o.id for o in await uow.pauses.due_to_resume(now)]
    done = 0
    for officer_id in ids:
        async with core.uow() as uow:
            officer = await uow.officers.get(officer_id)
            until = officer.paused_until if officer else None
            if officer is None or officer.status != OfficerStatus.PAUSED or until is None:
                continue
            if until > now or officer.paused_reason is None:
                continue
            _unpause(officer)
            content = core.content.for_programme(None)
            await queue_to_officer(
                uow,
                content,
                core.secret,
                officer,
                "pause.resumed",
                idempotency_key=f"officer:{officer.id}:resumed:{until.isoformat()}",
                values={"name": officer.name},
                purpose="pause",
            )
            await uow.commit()
            done += 1
    return done


async def silent(uow: UnitOfWork, pair: Pair, officer: Officer, asked: Sequence[CheckIn]) -> bool:
    """Whether these check-ins were all put to the officer and none has their answer."""
    if len(asked) < SILENT_CHECKINS:
        return False
    if any(str(officer.id) in (c.answers or {}) for c in asked):
        return False
    keys = [f"checkin:{pair.id}:{c.period}:{officer.id}" for c in asked]
    return len(await uow.checkins.queued(keys)) == len(keys)


async def pause_if_silent(
    uow: UnitOfWork,
    content: Content,
    secret: bytes,
    pair: Pair,
    officer: Officer,
    upto: CheckIn,
    include: bool,
) -> bool:
    """Pause an officer who left the last three check-ins of a pair unanswered; tell them how
    to come back. `include`: whether `upto` itself counts (it went out and lapsed)."""
    rows = [
        c
        for c in await uow.checkins.recent(pair.id, SILENT_CHECKINS + 1)
        if c.period < upto.period or (include and c.period == upto.period)
    ][:SILENT_CHECKINS]
    if officer.status != OfficerStatus.ACTIVE or not await silent(uow, pair, officer, rows):
        return False
    officer.status = OfficerStatus.PAUSED
    officer.paused_reason = SILENT
    officer.paused_until = None
    await queue_to_officer(
        uow,
        content,
        secret,
        officer,
        "pause.paused_silent",
        idempotency_key=f"officer:{officer.id}:paused_silent:{pair.id}:{upto.period}",
        values={"name": officer.name, "count": SILENT_CHECKINS},
        purpose="pause",
    )
    return True
