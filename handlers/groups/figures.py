"""A cycle's figures: applications, groups by scheme and by module, attendance and health.

Attendance has two measures a coordinator can act on: the share of check-ins asked that were
answered, and the share of seats whose officer voted in the group's sessions. Health is the
state coordinators see everywhere else (`health.diagnose`: active, quiet or stalled, or
`approved` for a group not introduced yet); the latest check-in answers are counted beside it.
Seats without an active officer (vacant) are counted, since a seat nobody holds is the first
thing to fix.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from datetime import datetime
from typing import Any

from handlers.audit.service import Coordinator, authorize
from handlers.groups.checkins import health
from handlers.groups.health import diagnose
from handlers.groups.rules import LIVE
from handlers.groups.service import cycle_json
from storage.models import LearningCycle, utcnow
from storage.uow import UnitOfWork

SHOWN = ("proposed", *LIVE, "failed", "closed")


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


async def cycle_figures(
    uow: UnitOfWork, cycle: LearningCycle, now: datetime | None = None
) -> dict[str, Any]:
    """One cycle's figures as `peerbot report --json` prints them under `cycles`."""
    now = now or utcnow()
    groups = list(await uow.groups.list(cycle.id, statuses=SHOWN))
    ids = [g.id for g in groups]
    edits = uow.group_edits
    checkins = await edits.checkin_counts(ids)
    turnout = await edits.session_turnout(ids)
    seats = await edits.seat_counts(ids)
    by_status: Counter[str] = Counter(g.status for g in groups)
    by_scheme: Counter[str] = Counter()
    by_module: Counter[str] = Counter()
    by_health: Counter[str] = Counter()
    by_answer: Counter[str] = Counter()
    rows = []
    asked = answered = sessions = voted = seat_sessions = vacant = 0
    for group in groups:
        n_seats, n_vacant = seats.get(group.id, (0, 0))
        g_asked, g_answered = checkins.get(group.id, (0, 0))
        g_sessions, g_voted = turnout.get(group.id, (0, 0))
        state: dict[str, Any] = {"state": None, "why": None}
        answer = None
        if group.status in LIVE:
            asked_rows = await uow.groups.checkins(group.id)
            state, answer = diagnose(group, asked_rows, now), health(asked_rows)
            by_scheme[group.scheme] += 1
            by_module[group.module or "none"] += 1
            by_health[state["state"]] += 1
            by_answer[answer] += 1
            asked, answered = asked + g_asked, answered + g_answered
            sessions, voted = sessions + g_sessions, voted + g_voted
            seat_sessions += g_sessions * n_seats
            vacant += n_vacant
        rows.append(
            {
                "id": group.id,
                "status": group.status,
                "scheme": group.scheme,
                "module": group.module,
                "language": group.language,
                "score": round(group.score, 2),
                "seats": n_seats,
                "vacant_seats": n_vacant,
                "checkins_asked": g_asked,
                "checkins_answered": g_answered,
                "sessions": g_sessions,
                "session_attendance": _rate(g_voted, g_sessions * n_seats),
                "health": state["state"],
                "health_why": state["why"],
                "latest_checkin": answer,
            }
        )
    return {
        **cycle_json(cycle, await uow.cycles.count_applications(cycle.id)),
        "groups_by_status": dict(sorted(by_status.items())),
        "groups_by_scheme": dict(by_scheme.most_common()),
        "groups_by_module": dict(by_module.most_common()),
        "health": dict(sorted(by_health.items())),
        "latest_checkins": dict(sorted(by_answer.items())),
        "checkins_asked": asked,
        "checkins_answered": answered,
        "checkin_answer_rate": _rate(answered, asked),
        "sessions": sessions,
        "session_attendance": _rate(voted, seat_sessions),
        "vacant_seats": vacant,
        "groups": rows,
    }


async def cycles_report(
    uow: UnitOfWork, programme_ids: Collection[int], now: datetime | None = None
) -> list[dict[str, Any]]:
    """The figures of every cycle of these programmes, oldest first."""
    found = []
    for programme_id in sorted(programme_ids):
        for cycle in await uow.cycles.list(programme_id):
            found.append(await cycle_figures(uow, cycle, now))
    return sorted(found, key=lambda c: (c["starts_on"], c["id"]))


async def cycle_report(
    uow: UnitOfWork,
    who: Coordinator,
    programme_id: int,
    cycle_id: int,
    now: datetime | None = None,
) -> dict[str, Any] | None:
    """One cycle of the coordinator's programme (None: no such cycle there)."""
    authorize(who, programme_id)
    cycle = await uow.cycles.get(cycle_id)
    if cycle is None or cycle.programme_id != programme_id:
        return None
    return await cycle_figures(uow, cycle, now)
