"""How pairs look to people: health, JSON for `peerbot pairs list`, `/pairs`, coordinator notes."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime

from handlers.core.content import Content
from handlers.core.context import Ctx
from handlers.core.events import Incoming
from handlers.core.replies import Choice
from handlers.core.router import router
from handlers.delivery.outbox import queue_to_officer
from storage.models import CheckIn, Officer, Pair, PairStatus
from storage.uow import UnitOfWork

ENDED = (PairStatus.CLOSED, PairStatus.DECLINED)
LIVE = (PairStatus.APPROVED, PairStatus.INTRODUCED, PairStatus.ACTIVE)
REJECTED_REASON = "rejected"
"""`close_reason` of a proposal a coordinator rejected (it never became a pair)."""
STATES = (
    "proposed",
    "rejected",
    "approved",
    "introduced",
    "active",
    "stalled",
    "declined",
    "closed",
)
"""What a pair is, as coordinators read it: every figure names one of these."""
WORK_START, WORK_END = time(9, 0), time(17, 0)


def zone(officer: Officer) -> ZoneInfo:
    """An officer's time zone (Brussels when the stored one is unknown)."""
    try:
        return ZoneInfo(officer.timezone or "Europe/Brussels")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Europe/Brussels")


def working_slot(when: datetime, tz: ZoneInfo) -> datetime:
    """`when`, or the next moment from 09:00 to 17:00 on a working day (Mon-Fri) in `tz`."""
    local = when.astimezone(tz)
    if local.weekday() < 5 and WORK_START <= local.time() < WORK_END:
        return when.astimezone(UTC)
    day = local.date()
    if not (local.weekday() < 5 and local.time() < WORK_START):
        day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, WORK_START, tz).astimezone(UTC)


def local_time(when: datetime, officer: Officer, locale: str) -> str:
    """A moment as the officer reads it: their time zone, their language."""
    local = when.astimezone(zone(officer))
    try:
        return format_datetime(local, "EEE d MMM, HH:mm", locale=locale)
    except (ValueError, TypeError):
        return local.strftime("%a %d %b, %H:%M")


def who(officer: Officer | None) -> str:
    """'Name (Authority, CC)' of an officer, or '—'."""
    if officer is None:
        return "—"
    authority = officer.authority
    return f"{officer.name} ({authority.name}, {authority.country})" if authority else officer.name


def partner_of(pair: Pair, officer_id: int) -> int | None:
    """The other officer of a pair."""
    return pair.mentor_id if pair.learner_id == officer_id else pair.learner_id


def state(pair: Pair, latest: CheckIn | None) -> str:
    """One of `STATES`: a rejected proposal is not a declined pair, an introduction not active.

    `stalled` is an active pair in trouble: flagged silent, or its latest check-in said "stuck".
    """
    if pair.status == PairStatus.DECLINED:
        return "rejected" if pair.close_reason == REJECTED_REASON else "declined"
    if pair.status == PairStatus.ACTIVE and (
        pair.flagged or (latest is not None and latest.answer == "stuck")
    ):
        return "stalled"
    return pair.status.value


def waiting_for(pair: Pair) -> list[str]:
    """Who has not accepted an introduction yet ("learner", "mentor"); empty otherwise."""
    if pair.status != PairStatus.INTRODUCED:
        return []
    sides = (("learner", pair.learner_accepted_at), ("mentor", pair.mentor_accepted_at))
    return [side for side, accepted in sides if accepted is None]


def person_json(officer: Officer | None) -> dict[str, Any]:
    """{"email", "name", "authority"} of an officer (None values when gone)."""
    if officer is None:
        return {"email": None, "name": None, "authority": None}
    authority = officer.authority
    return {
        "email": officer.email,
        "name": officer.name,
        "authority": authority.name if authority else None,
    }


def checkin_json(checkin: CheckIn | None) -> dict[str, Any] | None:
    if checkin is None:
        return None
    return {
        "period": checkin.period,
        "due_at": checkin.due_at.isoformat(),
        "answer": checkin.answer,
        "answered_at": checkin.answered_at.isoformat() if checkin.answered_at else None,
        "learned": checkin.outcome,
    }


async def pairs_json(
    uow: UnitOfWork,
    now: datetime,
    programme_id: int | None = None,
    statuses: Collection[PairStatus] | None = None,
) -> list[dict[str, Any]]:
    """Pairs as `peerbot pairs list --json` prints them."""
    pairs = await uow.pairs.list(programme_id=programme_id, statuses=statuses)
    ids = [p.id for p in pairs]
    checkins = uow.checkins
    latest = await checkins.latest_by_pair(ids)
    answered = await checkins.last_answered_by_pair(ids)
    rows = []
    for pair in pairs:
        learner = await uow.officers.get(pair.learner_id) if pair.learner_id else None
        mentor = await uow.officers.get(pair.mentor_id) if pair.mentor_id else None
        rows.append(
            {
                "id": pair.id,
                "round": pair.round_id,
                "learner": person_json(learner),
                "mentor": person_json(mentor),
                "topic": pair.topic,
                "status": pair.status.value,
                "state": state(pair, latest.get(pair.id)),
                "health": state(pair, latest.get(pair.id)),
                "waiting_for": waiting_for(pair),
                "flagged": pair.flagged,
                "score": pair.score,
                "reasons": list(pair.reasons),
                "accepted": {
                    "learner": pair.learner_accepted_at is not None,
                    "mentor": pair.mentor_accepted_at is not None,
                },
                "last_checkin": checkin_json(latest.get(pair.id)),
                "last_outcome": answered[pair.id].answer if pair.id in answered else None,
                "next_checkin": (
                    pair.next_checkin_at.isoformat()
                    if pair.next_checkin_at and pair.status == PairStatus.ACTIVE
                    else None
                ),
                "spaces": dict(pair.threads or {}),
                "close_reason": pair.close_reason,
            }
        )
    return rows


async def notify_coordinators(
    uow: UnitOfWork,
    content: Content,
    secret: bytes,
    programme_id: int | None,
    key: str,
    *,
    idempotency: str,
    values: Mapping[str, Any],
    ref_id: int | None = None,
    choices: Sequence[Choice] = (),
) -> int:
    """Queue a note to a programme's coordinators (all coordinators when it has none)."""
    coordinators = list(await uow.officers.coordinators(programme_id))
    coordinators = coordinators or list(await uow.officers.coordinators())
    sent = 0
    for coordinator in coordinators:
        sent += await queue_to_officer(
            uow,
            content,
            secret,
            coordinator,
            key,
            idempotency_key=f"{idempotency}:coord:{coordinator.id}",
            values=values,
            choices=choices,
            purpose="pair",
            ref_id=ref_id,
        )
    return sent


def topic_label(content: Content, locale: str, topic: str) -> str:
    return content.taxonomy.label("instruments", topic, locale)


async def next_checkin_for(
    uow: UnitOfWork, pair: Pair, officer: Officer, now: datetime
) -> datetime | None:
    """When the officer will really be asked next: the check-in job's working-hours rule.

    A check-in already due but not yet put to this officer goes out at their next working
    moment; otherwise the next nominal time, moved to 09:00-17:00 on a working day where they
    live. None when the pair has no check-ins to come.
    """
    if pair.status != PairStatus.ACTIVE or pair.next_checkin_at is None:
        return None
    checkins = uow.checkins
    pending = [c for c in await checkins.recent(pair.id, 1) if c.sent_at is None]
    if pending:
        key = f"checkin:{pair.id}:{pending[0].period}:{officer.id}"
        if not await checkins.queued([key]):
            return working_slot(max(now, pending[0].due_at), zone(officer))
    return working_slot(max(now, pair.next_checkin_at), zone(officer))


@router.command("pairs", member=True)
async def show_pairs(event: Incoming, ctx: Ctx) -> None:
    """The caller's pairs: partner, topic, status and next check-in in their own time."""
    assert ctx.officer is not None
    me = ctx.officer
    pairs = [
        p
        for p in await ctx.uow.pairs.list(officer_id=me.id)
        if state(p, None) not in ("proposed", "rejected")  # never shown to the officers
    ]
    if not pairs:
        await ctx.reply("pairs.none")
        return
    lines, choices = [], []
    for pair in pairs[-10:]:
        other_id = partner_of(pair, me.id)
        other = await ctx.uow.officers.get(other_id) if other_id else None
        role = "learner" if pair.learner_id == me.id else "mentor"
        when = await next_checkin_for(ctx.uow, pair, me, ctx.clock.now())
        nxt = local_time(when, me, ctx.locale) if when else "—"
        lines.append(
            ctx.t(
                "pairs.line",
                id=pair.id,
                partner=who(other),
                topic=topic_label(ctx.content, ctx.locale, pair.topic),
                role=ctx.t(f"pairs.role_{role}"),
                status=ctx.t(f"pairs.status_{pair.status.value}"),
                next=nxt,
            )
        )
        if pair.status in (PairStatus.INTRODUCED, PairStatus.ACTIVE) and other is not None:
            choices.append(Choice(f"pmsg:{pair.id}", ctx.t("pairs.write_to", name=other.name)[:60]))
    await ctx.reply("pairs.list", lines="\n\n".join(lines), choices=choices[:6])
