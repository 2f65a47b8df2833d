"""Use cases of learning cycles and peer-learning groups, shared by chat, CLI and web.

Each function takes a unit of work and plain arguments, checks what it must, and returns plain
data; the caller commits. The authority is the unit of group formation: its officers'
applications are merged (wants ranked by their best rank, offers joined, languages joined) and
all its applying officers take the authority's seat.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from handlers.core.taxonomy import Taxonomy
from handlers.groups import solver
from handlers.groups.checkins import health
from handlers.groups.health import diagnose
from handlers.groups.rules import (
    DEFAULT_SIZES,
    LIVE,
    check_application_row,
    ranked_union,
    size_class,
    utc_hour,
)
from storage.models import (
    CycleApplication,
    GroupMember,
    GroupRound,
    LearningCycle,
    Officer,
    OfficerStatus,
    PeerGroup,
)
from storage.repositories.practices import APPROVED
from storage.uow import UnitOfWork


class Refused(Exception):
    """A use case said no; the message says why (one line, for a coordinator)."""


# -- cycles ------------------------------------------------------------------------------


def _day(value: date) -> datetime:
    return datetime.combine(value, time(0), tzinfo=UTC)


def cycle_json(cycle: LearningCycle, applications: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": cycle.id,
        "name": cycle.name,
        "starts_on": cycle.starts_on.date().isoformat(),
        "ends_on": cycle.ends_on.date().isoformat(),
        "modules": list(cycle.modules or []),
        "status": cycle.status,
        "sizes": {**DEFAULT_SIZES, **(cycle.settings or {}).get("sizes", {})},
    }
    if applications is not None:
        data["applications"] = applications
    return data


async def create_cycle(
    uow: UnitOfWork,
    taxonomy: Taxonomy,
    *,
    name: str,
    starts_on: date,
    ends_on: date,
    modules: list[str],
    programme_slug: str | None = None,
    sizes: dict[str, int] | None = None,
    learners_per_country: int = 1,
) -> dict[str, Any]:
    """A new learning cycle of a programme (the first one when none is named)."""
    name = " ".join(name.split())
    if not 2 <= len(name) <= 200:
        raise Refused("a cycle name has 2-200 characters")
    if ends_on <= starts_on:
        raise Refused("a cycle ends after it starts")
    codes = []
    for module in modules:
        known = module in taxonomy.codes("sectors")
        code = module if known else taxonomy.match("sectors", module)
        if code is None:
            raise Refused(f"unknown module {module!r}; use {', '.join(taxonomy.codes('sectors'))}")
        codes.append(code)
    merged = {**DEFAULT_SIZES, **(sizes or {})}
    problems = solver.Sizes(**merged).problems()
    if problems:
        raise Refused("; ".join(problems))
    if programme_slug:
        programme = await uow.programmes.by_slug(programme_slug)
        if programme is None:
            raise Refused(f"no programme {programme_slug!r}; see `peerbot programmes list`")
    else:
        programme = await uow.programmes.default_or_create()
    cycle = await uow.cycles.add(
        LearningCycle(
            programme_id=programme.id,
            name=name,
            starts_on=_day(starts_on),
            ends_on=_day(ends_on),
            modules=list(dict.fromkeys(codes)) or taxonomy.codes("sectors"),
            settings={"sizes": merged, "learners_per_country": learners_per_country},
        )
    )
    return cycle_json(cycle, 0)


async def list_cycles(uow: UnitOfWork, programme_slug: str | None = None) -> list[dict[str, Any]]:
    programme_id = None
    if programme_slug:
        programme = await uow.programmes.by_slug(programme_slug)
        if programme is None:
            raise Refused(f"no programme {programme_slug!r}; see `peerbot programmes list`")
        programme_id = programme.id
    return [
        cycle_json(c, await uow.cycles.count_applications(c.id))
        for c in await uow.cycles.list(programme_id)
    ]


async def find_cycle(uow: UnitOfWork, cycle_id: int | None) -> LearningCycle:
    """The cycle named, else the latest one created."""
    if cycle_id is not None:
        found = await uow.cycles.get(cycle_id)
    else:
        cycles = sorted(await uow.cycles.list(), key=lambda c: c.id)
        found = cycles[-1] if cycles else None
    if found is None:
        raise Refused("no such cycle; see `peerbot cycles list`")
    return found


# -- applications ------------------------------------------------------------------------


def may_apply(officer: Officer) -> str | None:
    """Why an officer cannot apply (None: they can): consent and an authority are needed."""
    if officer.consent_at is None:
        return "no_consent"
    if officer.status in (OfficerStatus.LEFT, OfficerStatus.PAUSED):
        return "not_active"
    if officer.authority_id is None:
        return "no_authority"
    return None


async def apply(
    uow: UnitOfWork,
    cycle: LearningCycle,
    officer: Officer,
    wants: list[str],
    offers: list[str],
    capacity: int | None = None,
    source: str = "chat",
) -> tuple[CycleApplication, bool]:
    """Record (or replace) an officer's application; True when it is new."""
    why = may_apply(officer)
    if why is not None:
        raise Refused(why)
    if not wants and not offers:
        raise Refused("nothing_chosen")
    if cycle.status != "open":
        raise Refused("cycle_closed")
    cap = capacity if capacity is not None else (min(officer.mentor_capacity, 2) if offers else 0)
    return await uow.cycles.apply(
        cycle.id, officer.id, list(wants), list(offers), cap if offers else 0, source
    )


@dataclass
class ApplyReport:
    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "errors": self.errors}


async def import_applications(
    uow: UnitOfWork, taxonomy: Taxonomy, cycle: LearningCycle, text: str
) -> ApplyReport:
    """Applications from CSV (`email,wants,offers[,capacity]`): bad rows reported by line,
    good rows kept; re-importing an email replaces that officer's application."""
    report = ApplyReport()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in ("email", "wants", "offers") if c not in header]
    if missing:
        report.errors.append(f"line 1: missing column(s) {', '.join(missing)}")
        return report
    reader.fieldnames = header
    for row in reader:
        line = reader.line_num
        checked = check_application_row(line, row, taxonomy)
        if isinstance(checked, list):
            report.errors += checked
            continue
        email, wants, offers, capacity = checked
        officer = await uow.officers.by_email(email)
        if officer is None:
            report.errors.append(f"line {line}: no officer {email}; import the roster first")
            continue
        try:
            _, new = await apply(uow, cycle, officer, wants, offers, capacity, source="csv")
        except Refused as exc:
            report.errors.append(f"line {line}: {email}: {str(exc).replace('_', ' ')}")
            continue
        if new:
            report.created += 1
        else:
            report.updated += 1
    return report


# -- formation ---------------------------------------------------------------------------


@dataclass
class Formation:
    """The solver's input for a cycle, and what it needs to turn groups back into people."""

    problem: solver.Problem
    officers: dict[int, list[Officer]]
    """Applying officers per authority."""
    excluded: list[tuple[Officer, str]]
    sectors: dict[int, Counter[str]]


async def formation(uow: UnitOfWork, cycle: LearningCycle, free_only: bool = True) -> Formation:
    """Merge a cycle's applications per authority, minus seats already taken in live groups
    (all of them when not `free_only`: what coordinators' edits are checked against)."""
    settings = cycle.settings or {}
    sizes = solver.Sizes(**{**DEFAULT_SIZES, **settings.get("sizes", {})})
    taken = await uow.groups.seats(cycle.id, LIVE) if free_only else []
    learning = {a for _, a, role in taken if role == solver.LEARNER}
    mentoring = Counter(a for _, a, role in taken if role == solver.MENTOR)
    practices: dict[int, set[str]] = {}
    practice_sectors: dict[int, Counter[str]] = {}
    for p in await uow.practices.list(status=APPROVED):
        if p.authority_id is not None:
            practices.setdefault(p.authority_id, set()).update(p.instruments or [])
            practice_sectors.setdefault(p.authority_id, Counter())[p.sector] += 2
    by_authority: dict[int, list[tuple[CycleApplication, Officer]]] = {}
    excluded: list[tuple[Officer, str]] = []
    for application, officer in await uow.cycles.applications(cycle.id):
        why = may_apply(officer)
        if why is not None:
            excluded.append((officer, why))
        else:
            by_authority.setdefault(int(officer.authority_id or 0), []).append(
                (application, officer)
            )
    units = []
    sectors: dict[int, Counter[str]] = {}
    for authority_id, rows in sorted(by_authority.items()):
        first = rows[0][1]
        authority = first.authority
        wants = () if authority_id in learning else ranked_union([list(a.wants) for a, _ in rows])
        capacity = max((a.capacity for a, _ in rows if a.offers), default=0)
        units.append(
            solver.Unit(
                id=authority_id,
                name=authority.name if authority else first.name,
                country=authority.country if authority else "",
                languages=frozenset(lang for _, o in rows for lang in o.languages or []),
                wants=wants,
                offers=frozenset(code for a, _ in rows for code in a.offers),
                capacity=max(0, capacity - mentoring[authority_id]),
                utc_hour=utc_hour(first.timezone, cycle.starts_on),
                size=size_class(authority.population if authority else None),
                practices=frozenset(practices.get(authority_id, set())),
            )
        )
        found = Counter(s for _, o in rows for s in o.sectors or [])
        sectors[authority_id] = found + practice_sectors.get(authority_id, Counter())
    apart = frozenset(
        frozenset(pair)
        for members in await uow.groups.failed_authorities()
        for pair in _pairs(sorted(members))
    )
    problem = solver.Problem(
        units=units,
        sizes=sizes,
        learners_per_country=int(settings.get("learners_per_country", 1)),
        apart=apart,
    )
    officers = {a: [o for _, o in rows] for a, rows in by_authority.items()}
    return Formation(problem, officers, excluded, sectors)


def _pairs(items: list[int]) -> list[tuple[int, int]]:
    return [(a, b) for i, a in enumerate(items) for b in items[i + 1 :]]


def _module(cycle: LearningCycle, sectors: Counter[str]) -> str | None:
    modules = list(cycle.modules or [])
    ranked = [s for s, _ in sectors.most_common() if s in modules]
    return ranked[0] if ranked else (modules[0] if modules else None)


def _reasons(
    problem: solver.Problem, group: solver.Group
) -> tuple[list[Any], dict[int, list[Any]]]:
    """Why this group: its language and mix; per authority, what it wants or offers."""
    units = {u.id: u for u in problem.units}
    members = [units[a] for a in group.members]
    overall: list[Any] = [
        {"kind": "language", "language": group.language},
        {"kind": "countries", "n": len({u.country for u in members})},
        {"kind": "hours", "n": len({u.utc_hour for u in members})},
    ]
    each: dict[int, list[Any]] = {}
    for a in group.mentors:
        each[a] = [
            {
                "kind": "offers",
                "scheme": group.scheme,
                "practice": group.scheme in units[a].practices,
            }
        ]
    for a in group.learners:
        rank = units[a].wants.index(group.scheme) + 1
        each[a] = [{"kind": "wants", "scheme": group.scheme, "rank": rank}]
    return overall, each


async def propose(
    uow: UnitOfWork, cycle: LearningCycle, now: datetime, time_limit: float = 30.0
) -> dict[str, Any]:
    """Form groups for a cycle and store them as proposals (unreviewed ones go)."""
    await uow.groups.drop_proposed(cycle.id)
    found = await formation(uow, cycle)
    best = solver.solve(found.problem, time_limit=time_limit)
    baseline = solver.greedy(found.problem)
    unmatched = [{"email": o.email, "reason": why} for o, why in found.excluded]
    for authority_id, why in sorted(best.unplaced.items()):
        unmatched += [{"email": o.email, "reason": why} for o in found.officers[authority_id]]
    figures = {
        "method": best.method,
        "objective": best.objective,
        "bound": best.bound,
        "gap": None if best.gap is None else round(best.gap, 6),
        "optimal": best.optimal,
        "greedy": baseline.objective,
        "seconds": round(best.seconds, 3),
        "broken": solver.violations(found.problem, best.groups),
    }
    stored_round = await uow.groups.add_round(
        GroupRound(cycle_id=cycle.id, unmatched=unmatched, figures=figures, created_at=now)
    )
    units = {u.id: u for u in found.problem.units}
    for group in best.groups:
        overall, each = _reasons(found.problem, group)
        counted: Counter[str] = Counter()
        for a in group.members:
            counted += found.sectors.get(a, Counter())
        members = [
            GroupMember(
                authority_id=a,
                officer_id=o.id,
                role=solver.MENTOR if a in group.mentors else solver.LEARNER,
                reasons=each[a],
                created_at=now,
            )
            for a in group.members
            for o in found.officers[a]
        ]
        reasons = overall + [
            {**r, "authority": units[a].name} for a in group.members for r in each[a]
        ]
        await uow.groups.add(
            PeerGroup(
                cycle_id=cycle.id,
                round_id=stored_round.id,
                scheme=group.scheme,
                module=_module(cycle, counted),
                language=group.language,
                score=solver.evaluate(found.problem, [group]),
                reasons=reasons,
                created_at=now,
            ),
            members,
        )
    return await round_json(uow, stored_round)


async def group_json(uow: UnitOfWork, group: PeerGroup) -> dict[str, Any]:
    people: dict[str, list[dict[str, Any]]] = {solver.MENTOR: [], solver.LEARNER: []}
    for member, officer in await uow.groups.members(group.id):
        if officer is None:
            continue
        authority = officer.authority.name if officer.authority else ""
        people[member.role].append({"email": officer.email, "authority": authority})
    return {
        "id": group.id,
        "scheme": group.scheme,
        "module": group.module,
        "mentors": people[solver.MENTOR],
        "learners": people[solver.LEARNER],
        "score": round(group.score, 2),
        "reasons": list(group.reasons or []),
    }


async def round_json(uow: UnitOfWork, found: GroupRound) -> dict[str, Any]:
    cycle = await uow.cycles.get(found.cycle_id)
    groups = await uow.groups.list(round_id=found.id)
    return {
        "cycle": cycle_json(cycle) if cycle else None,
        "round": found.id,
        "groups": [await group_json(uow, g) for g in groups if g.status != "rejected"],
        "unmatched": list(found.unmatched or []),
        "figures": dict(found.figures or {}),
    }


async def show(
    uow: UnitOfWork, group_id: int, now: datetime | None = None
) -> dict[str, Any] | None:
    group = await uow.groups.get(group_id)
    if group is None:
        return None
    data = await group_json(uow, group)
    data["status"] = group.status
    data["language"] = group.language
    data["cycle"] = group.cycle_id
    checkins = await uow.groups.checkins(group.id)
    data["health"] = health(checkins)
    found = diagnose(group, checkins, now or datetime.now(UTC))
    data["state"] = found.pop("state")
    data["silence"] = found
    data["escalated_at"] = group.escalated_at.isoformat() if group.escalated_at else None
    data["spaces"] = {
        s.platform: {"chat_id": s.chat_id, "thread_id": s.thread_id or None}
        for s in await uow.groups.spaces(group.id)
        if s.chat_id
    }
    return data


@dataclass
class Decided:
    done: list[int]
    refused: list[int]


async def decide(
    uow: UnitOfWork,
    ids: list[int],
    now: datetime,
    approving: bool = True,
    cycle_id: int | None = None,
    every: bool = False,
) -> Decided:
    """Approve (or reject) proposed groups; `every` takes every proposal of the cycle."""
    chosen = list(ids)
    if every:
        cycle = await find_cycle(uow, cycle_id)
        chosen += [g.id for g in await uow.groups.list(cycle.id, statuses=["proposed"])]
    done: list[int] = []
    refused: list[int] = []
    for group_id in dict.fromkeys(chosen):
        values: dict[str, Any] = {"approved_at": now} if approving else {"closed_at": now}
        moved = await uow.groups.move(
            group_id, ["proposed"], "approved" if approving else "rejected", **values
        )
        (done if moved else refused).append(group_id)
    return Decided(done, refused)
