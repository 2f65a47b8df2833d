"""Matching and pair use cases for the console, on the same functions as `peerbot match` and
`peerbot pairs` (`handlers.pairing.flow`, `handlers.pairing.view`). Authorization inside:
every function checks the programme is the coordinator's, and a pair or round of another
programme is `NotAllowed`."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from handlers.audit.service import Coordinator, NotAllowed, authorize, record
from handlers.pairing import flow
from handlers.pairing.unmatched import CODES
from handlers.pairing.view import LIVE, checkin_json, pairs_json
from storage.models import PairStatus
from storage.repositories.console import ConsoleRepo
from storage.repositories.pairs import MatchRepo, PairRepo
from storage.uow import UnitOfWork

CLOSE_REASONS = ("goal_reached", "no_response", "poor_fit", "left_programme", "other")
"""Why a coordinator closes a pair (stored as `close_reason`, worded per locale)."""


@dataclass
class RoundView:
    """A round as the console shows it: pairs (reasons still as data, worded per locale by
    the page) and unmatched requests with their reason code."""

    id: int
    created_at: datetime
    pairs: list[dict[str, Any]] = field(default_factory=list)
    unmatched: list[dict[str, Any]] = field(default_factory=list)

    @property
    def proposed(self) -> int:
        return sum(p["status"] == "proposed" for p in self.pairs)


async def propose_round(uow: UnitOfWork, who: Coordinator, programme_id: int, now: datetime) -> int:
    """Solve and store a round for the programme (as `peerbot match propose`); its id."""
    authorize(who, programme_id)
    proposed = await flow.propose(uow, programme_id, now)
    await record(
        uow,
        who,
        programme_id,
        "match.propose",
        now,
        round=proposed.round.id,
        pairs=len(proposed.pairs),
    )
    await uow.commit()
    return proposed.round.id


async def latest_round(uow: UnitOfWork, who: Coordinator, programme_id: int) -> RoundView | None:
    """The programme's latest round, or None."""
    authorize(who, programme_id)
    found = await uow.get(MatchRepo).latest_round(programme_id)
    if found is None:
        return None
    data = await flow.round_json(uow, found)
    unmatched = [
        {
            "name": u.get("name"),
            "email": u.get("email"),
            "topic": u.get("topic"),
            "code": u.get("code") if u.get("code") in CODES else None,
            "reason": u.get("reason"),
        }
        for u in found.unmatched or []
    ]
    return RoundView(found.id, found.created_at, data["pairs"], unmatched)


async def decide(
    uow: UnitOfWork,
    who: Coordinator,
    programme_id: int,
    pair_ids: Collection[int],
    approve: bool,
    now: datetime,
    *,
    every: bool = False,
) -> flow.Decided:
    """Approve or reject proposals (`every`: all of the latest round), as `peerbot match`."""
    authorize(who, programme_id)
    chosen = list(pair_ids)
    if every:
        found = await uow.get(MatchRepo).latest_round(programme_id)
        chosen += await flow.proposed_ids(uow, found.id) if found else []
    act = flow.approve if approve else flow.reject
    decided = await act(uow, chosen, now, {programme_id})
    if decided.done:
        await record(
            uow,
            who,
            programme_id,
            "match.approve" if approve else "match.reject",
            now,
            pairs=[p.id for p in decided.done],
        )
    await uow.commit()
    return decided


async def pairs(
    uow: UnitOfWork, who: Coordinator, programme_id: int, now: datetime
) -> list[dict[str, Any]]:
    """The programme's pairs (proposals left out) with their state, as `peerbot pairs list`."""
    authorize(who, programme_id)
    statuses = [s for s in PairStatus if s != PairStatus.PROPOSED]
    return await pairs_json(uow, now, programme_id, statuses)


async def pair_history(
    uow: UnitOfWork, who: Coordinator, programme_id: int, pair_id: int
) -> list[dict[str, Any]]:
    """A pair's check-ins, oldest first, as `peerbot pairs show`."""
    authorize(who, programme_id)
    pair = await uow.get(PairRepo).get(pair_id)
    if pair is None or pair.programme_id != programme_id:
        raise NotAllowed(f"pair {pair_id}")
    return [
        {**(checkin_json(c) or {}), "answers": c.answers or {}}
        for c in await uow.get(ConsoleRepo).checkins(pair_id)
    ]


async def close_pair(
    uow: UnitOfWork, who: Coordinator, programme_id: int, pair_id: int, reason: str, now: datetime
) -> bool:
    """Close a live pair with one of `CLOSE_REASONS`; False when it is no longer live."""
    authorize(who, programme_id)
    if reason not in CLOSE_REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    pair = await uow.get(PairRepo).get(pair_id)
    if pair is None or pair.programme_id != programme_id:
        raise NotAllowed(f"pair {pair_id}")
    moved = await uow.get(PairRepo).move(
        pair_id, LIVE, PairStatus.CLOSED, closed_at=now, close_reason=reason, updated_at=now
    )
    if moved:
        await record(uow, who, programme_id, "pair.close", now, pair=pair_id, reason=reason)
        await uow.commit()
    return moved
