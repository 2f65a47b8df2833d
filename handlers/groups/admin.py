"""Cycle and group use cases of the coordinators' console, on the same functions as
`peerbot cycles` and `peerbot groups`. Authorization inside: every function checks the
programme is the coordinator's, and a cycle, group or officer of another programme is
`NotAllowed` (404 on the web)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from handlers.audit.service import Coordinator, NotAllowed, authorize, record
from handlers.core.taxonomy import Taxonomy
from handlers.groups import service, solver
from handlers.groups.rules import MAX_CAPACITY
from storage.models import LearningCycle
from storage.uow import UnitOfWork


async def cycles(uow: UnitOfWork, who: Coordinator, programme_id: int) -> list[dict[str, Any]]:
    """The programme's cycles with their number of applications."""
    authorize(who, programme_id)
    return [
        service.cycle_json(c, await uow.cycles.count_applications(c.id))
        for c in await uow.cycles.list(programme_id)
    ]


async def cycle_of(
    uow: UnitOfWork, who: Coordinator, programme_id: int, cycle_id: int
) -> LearningCycle:
    authorize(who, programme_id)
    cycle = await uow.cycles.get(cycle_id)
    if cycle is None or cycle.programme_id != programme_id:
        raise NotAllowed(f"cycle {cycle_id}")
    return cycle


async def create_cycle(
    uow: UnitOfWork,
    who: Coordinator,
    programme_id: int,
    taxonomy: Taxonomy,
    now: datetime,
    *,
    name: str,
    starts_on: date,
    ends_on: date,
    modules: list[str],
    sizes: dict[str, int] | None = None,
) -> dict[str, Any]:
    """A new cycle of the coordinator's programme (`Refused` says what is wrong)."""
    authorize(who, programme_id)
    programme = await uow.programmes.get(programme_id)
    if programme is None:
        raise NotAllowed(f"programme {programme_id}")
    made = await service.create_cycle(
        uow,
        taxonomy,
        name=name,
        starts_on=starts_on,
        ends_on=ends_on,
        modules=modules,
        programme_slug=programme.slug,
        sizes=sizes,
    )
    await record(uow, who, programme_id, "cycle.create", now, cycle=made["id"], name=made["name"])
    return made


async def applications(
    uow: UnitOfWork, who: Coordinator, programme_id: int, cycle_id: int
) -> list[dict[str, Any]]:
    """A cycle's applications: who, their authority, schemes to learn and to mentor."""
    cycle = await cycle_of(uow, who, programme_id, cycle_id)
    return [
        {
            "email": o.email,
            "name": o.name,
            "authority": o.authority.name if o.authority else "",
            "wants": list(a.wants),
            "offers": list(a.offers),
            "capacity": a.capacity,
            "source": a.source,
        }
        for a, o in await uow.cycles.applications(cycle.id)
    ]


async def apply_for(
    uow: UnitOfWork,
    who: Coordinator,
    programme_id: int,
    cycle_id: int,
    taxonomy: Taxonomy,
    now: datetime,
    *,
    email: str,
    wants: list[str],
    offers: list[str],
    capacity: int | None = None,
) -> bool:
    """Enter or edit an officer's application for them; True when it is new. `Refused` codes:
    no_officer, unknown_scheme, bad_capacity, and those of `service.apply`."""
    cycle = await cycle_of(uow, who, programme_id, cycle_id)
    officer = await uow.officers.by_email(email) if email.strip() else None
    if officer is None or programme_id not in await uow.officers.programme_ids(officer):
        raise service.Refused("no_officer")
    known = set(taxonomy.codes("instruments"))
    if any(code not in known for code in [*wants, *offers]):
        raise service.Refused("unknown_scheme")
    if capacity is not None and not 0 <= capacity <= MAX_CAPACITY:
        raise service.Refused("bad_capacity")
    _, new = await service.apply(
        uow,
        cycle,
        officer,
        list(dict.fromkeys(wants)),
        list(dict.fromkeys(offers)),
        capacity,
        source="console",
    )
    await record(uow, who, programme_id, "cycle.apply", now, cycle=cycle.id, officer=email)
    return new


async def groups(
    uow: UnitOfWork, who: Coordinator, programme_id: int, cycle_id: int
) -> dict[str, Any]:
    """A cycle's groups (not the rejected ones) with each member's reasons, and who was left
    out in the latest round."""
    cycle = await cycle_of(uow, who, programme_id, cycle_id)
    rows = []
    for group in await uow.groups.list(cycle.id):
        if group.status == "rejected":
            continue
        members = []
        for member, officer in await uow.groups.members(group.id):
            members.append(
                {
                    "authority_id": member.authority_id,
                    "authority": officer.authority.name if officer and officer.authority else "",
                    "name": officer.name if officer else None,
                    "email": officer.email if officer else None,
                    "role": member.role,
                    "reasons": list(member.reasons or []),
                }
            )
        rows.append(
            {
                "id": group.id,
                "status": group.status,
                "scheme": group.scheme,
                "module": group.module,
                "language": group.language,
                "score": round(group.score, 2),
                "reasons": [r for r in group.reasons or [] if "authority" not in r],
                "mentors": [m for m in members if m["role"] == solver.MENTOR],
                "learners": [m for m in members if m["role"] == solver.LEARNER],
            }
        )
    found = await uow.groups.latest_round(cycle.id)
    return {
        "cycle": service.cycle_json(cycle),
        "groups": rows,
        "unmatched": list(found.unmatched or []) if found else [],
        "figures": dict(found.figures or {}) if found else {},
    }


async def propose(
    uow: UnitOfWork, who: Coordinator, programme_id: int, cycle_id: int, now: datetime
) -> int:
    """Form the cycle's groups (as `peerbot groups propose`); how many were proposed."""
    cycle = await cycle_of(uow, who, programme_id, cycle_id)
    data = await service.propose(uow, cycle, now, time_limit=10.0)
    await record(uow, who, programme_id, "groups.propose", now, cycle=cycle.id)
    return len(data["groups"])


async def decide(
    uow: UnitOfWork,
    who: Coordinator,
    programme_id: int,
    cycle_id: int,
    group_ids: list[int],
    approving: bool,
    now: datetime,
    every: bool = False,
) -> service.Decided:
    """Approve or reject proposals of the cycle (one, or every one)."""
    cycle = await cycle_of(uow, who, programme_id, cycle_id)
    mine = {g.id for g in await uow.groups.list(cycle.id)}
    if any(g not in mine for g in group_ids):
        raise NotAllowed("group")
    done = await service.decide(uow, group_ids, now, approving, cycle_id=cycle.id, every=every)
    action = "groups.approve" if approving else "groups.reject"
    await record(uow, who, programme_id, action, now, groups=done.done)
    return done
