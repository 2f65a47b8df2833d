"""A group's health as coordinators read it, like a pair's: active, quiet or stalled; and the
escalation of stalled groups to the programme's coordinators, once per silence.

A live group is *stalled* when its latest answered check-in says "stuck", when its last two
check-ins went unanswered, or when nothing happened for four weeks (no message in its spaces,
no check-in answer, no attendance, no note); *quiet* when its latest check-in went unanswered
or nothing happened for two weeks; *active* otherwise. A check-in counts as unanswered once
members had `ANSWER_WINDOW` to answer. The `group_health` job tells the coordinators about a
stalled group once (`peer_group.escalated_at` is claimed with a conditional UPDATE); when the
group is active again the mark is cleared, so a later silence is reported again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from handlers.core.jobs import JobCtx, job
from handlers.core.ports import Messenger
from handlers.pairing.view import notify_coordinators
from storage.models import GroupCheckIn, PeerGroup
from storage.repositories.group_life import LIVE
from storage.uow import UnitOfWork

STATES = ("active", "quiet", "stalled")
QUIET_AFTER = timedelta(days=14)
STALLED_AFTER = timedelta(days=28)
ANSWER_WINDOW = timedelta(days=3)
BATCH = 200


def unanswered_streak(checkins: Sequence[GroupCheckIn], now: datetime) -> int:
    """How many of the latest check-in periods (asked long enough ago) nobody answered."""
    periods: dict[int, list[GroupCheckIn]] = {}
    for c in checkins:
        if c.sent_at is not None:
            periods.setdefault(c.period, []).append(c)
    streak = 0
    for period in sorted(periods, reverse=True):
        rows = periods[period]
        if any(c.answer for c in rows):
            break
        if all(now - c.sent_at < ANSWER_WINDOW for c in rows if c.sent_at):
            continue  # still being asked
        streak += 1
    return streak


def latest_answers(checkins: Sequence[GroupCheckIn]) -> set[str]:
    """The answers of the most recent period anyone answered."""
    answered = [c for c in checkins if c.answer]
    if not answered:
        return set()
    latest = max(c.period for c in answered)
    return {str(c.answer) for c in answered if c.period == latest}


def last_sign_of_life(group: PeerGroup, checkins: Sequence[GroupCheckIn]) -> datetime | None:
    moments = [group.last_activity_at, group.introduced_at]
    moments += [c.answered_at for c in checkins]
    found = [m for m in moments if m is not None]
    return max(found) if found else None


def diagnose(group: PeerGroup, checkins: Sequence[GroupCheckIn], now: datetime) -> dict[str, Any]:
    """{"state", "why", "idle_days", "unanswered"} of a group; a group that is not live has
    its status as state."""
    streak = unanswered_streak(checkins, now)
    last = last_sign_of_life(group, checkins)
    idle = now - last if last else timedelta(0)
    found: dict[str, Any] = {"idle_days": idle.days, "unanswered": streak, "why": None}
    if group.status not in LIVE:
        return {**found, "state": group.status}
    if "stuck" in latest_answers(checkins):
        return {**found, "state": "stalled", "why": "stuck"}
    if streak >= 2:
        return {**found, "state": "stalled", "why": "unanswered"}
    if idle >= STALLED_AFTER:
        return {**found, "state": "stalled", "why": "idle"}
    if streak == 1:
        return {**found, "state": "quiet", "why": "unanswered"}
    if idle >= QUIET_AFTER:
        return {**found, "state": "quiet", "why": "idle"}
    return {**found, "state": "active"}


@job("group_health")
async def escalate_silent_groups(core: JobCtx, messengers: dict[str, Messenger]) -> int:
    """Tell the coordinators about groups that stalled (once per silence): every running
    group, page by page (`BATCH` groups to a transaction)."""
    now = core.clock.now()
    told, after = 0, 0
    while True:
        async with core.uow() as uow:
            page = await uow.groups.running(BATCH, after)
            for group in page:
                told += await _check(core, uow, group, now)
            await uow.commit()
        if len(page) < BATCH:
            return told
        after = page[-1].id


async def _check(core: JobCtx, uow: UnitOfWork, group: PeerGroup, now: datetime) -> int:
    """Escalate one group if it just stalled, or clear its mark once it is active again."""
    life = uow.group_life
    found = diagnose(group, await uow.groups.checkins(group.id), now)
    if found["state"] == "active" and group.escalated_at is not None:
        await life.clear_escalation(group.id)
        return 0
    if found["state"] != "stalled" or group.escalated_at is not None:
        return 0
    if not await life.mark_escalated(group.id, now):
        return 0
    cycle = await uow.cycles.get(group.cycle_id)
    programme_id = cycle.programme_id if cycle else None
    content = await core.content.of_programme(uow, programme_id)
    members = sorted(
        {f"{o.name} ({o.authority.name})" if o.authority else o.name
         for _, o in await uow.groups.members(group.id) if o is not None}
    )  # fmt: skip
    return await notify_coordinators(
        uow,
        content,
        core.secret,
        programme_id,
        f"groups.life.stalled_{found['why']}",
        idempotency=f"group:{group.id}:stalled:{int(now.timestamp())}",
        values={
            "id": group.id,
            "scheme": content.taxonomy.label("instruments", group.scheme, "en"),
            "days": found["idle_days"],
            "n": found["unanswered"],
            "members": ", ".join(members) or "—",
        },
        ref_id=group.id,
    )
