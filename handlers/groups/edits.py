"""Coordinators edit groups (move, remove, add an authority, swap a mentor) and seats change
hands when an officer leaves; shared by the CLI, the console and chat.

Every edit is tried on the cycle's groups in memory first and refused (`Refused`, with the
rules it would break) when it adds a hard-constraint violation (`solver.violations`) the
groups did not already have. The authority is the unit: an edit moves an authority's seat
with every officer holding it; when an officer leaves, a colleague of the same authority takes
the seat over and the group's check-ins, votes and reminders move with it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from handlers.audit.service import Coordinator, NotAllowed, authorize, record
from handlers.core.content import Content
from handlers.delivery.outbox import officer_locale, payload, preferred_identity, queue_to_officer
from handlers.groups import solver
from handlers.groups.rules import LIVE
from handlers.groups.seat_spaces import admit, dismiss, leave_programme_chats
from handlers.groups.service import Refused, formation
from handlers.pairing.view import notify_coordinators
from storage.models import GroupMember, LearningCycle, Officer, OfficerStatus, PeerGroup
from storage.repositories.group_edits import GroupEditRepo
from storage.uow import UnitOfWork

EDITABLE = ("proposed", *LIVE)
ROLES = (solver.MENTOR, solver.LEARNER)


@dataclass
class Seating:
    """A cycle's editable groups as the solver sees them, with the check's problem."""

    cycle: LearningCycle
    problem: solver.Problem
    groups: dict[int, solver.Group]
    officers: dict[int, list[Officer]]


async def _group(uow: UnitOfWork, who: Coordinator | None, group_id: int) -> PeerGroup:
    """The group, when the coordinator (None: the operator at the shell) may edit it."""
    group = await uow.groups.get(group_id)
    cycle = await uow.cycles.get(group.cycle_id) if group else None
    if group is None or cycle is None:
        raise NotAllowed(f"group {group_id}")
    if who is not None:
        authorize(who, cycle.programme_id)
    if group.status not in EDITABLE:
        raise Refused(f"group #{group.id} is {group.status}; only proposed or live groups change")
    return group


async def _group_in_cycle(
    uow: UnitOfWork, who: Coordinator | None, group_id: int
) -> tuple[PeerGroup, LearningCycle]:
    """The group to edit (`who` must coordinate its programme) and its cycle."""
    group = await _group(uow, who, group_id)
    cycle = await uow.cycles.get(group.cycle_id)
    assert cycle is not None
    return group, cycle


async def check_access(uow: UnitOfWork, who: Coordinator | None, group_id: int) -> None:
    """`NotAllowed` unless the group is in a programme the coordinator runs."""
    group = await uow.groups.get(group_id)
    cycle = await uow.cycles.get(group.cycle_id) if group else None
    if cycle is None:
        raise NotAllowed(f"group {group_id}")
    if who is not None:
        authorize(who, cycle.programme_id)


async def seating(uow: UnitOfWork, cycle: LearningCycle) -> Seating:
    """The cycle's proposed and live groups, checked against every application."""
    found = await formation(uow, cycle, free_only=False)
    units = {u.id: u for u in found.problem.units}
    groups: dict[int, solver.Group] = {}
    listed = list(await uow.groups.list(cycle.id, statuses=EDITABLE))
    sides: dict[int, tuple[list[int], list[int]]] = {g.id: ([], []) for g in listed}
    for group_id, authority_id, role in sorted(await uow.groups.seats(cycle.id, EDITABLE)):
        side = sides[group_id][0 if role == solver.MENTOR else 1]
        if authority_id not in side:
            side.append(authority_id)
    for group in listed:
        mentors, learners = sides[group.id]
        for authority_id in mentors + learners:
            if authority_id not in units:  # seated without an application: not judged
                units[authority_id] = solver.Unit(
                    authority_id,
                    f"authority {authority_id}",
                    "",
                    frozenset({group.language}),
                    wants=(group.scheme,),
                    offers=frozenset({group.scheme}),
                    capacity=99,
                )
        groups[group.id] = solver.Group(
            group.scheme, group.language, tuple(mentors), tuple(learners)
        )
    problem = replace(found.problem, units=list(units.values()))
    return Seating(cycle, problem, groups, found.officers)


def _broken(seats: Seating, groups: dict[int, solver.Group]) -> list[str]:
    """The violations of these groups, each naming the group by its id."""
    ids = list(groups)
    found = solver.violations(seats.problem, list(groups.values()))
    return [re.sub(r"^group (\d+) ", lambda m: f"group #{ids[int(m.group(1))]} ", v) for v in found]


def _check(seats: Seating, after: dict[int, solver.Group]) -> None:
    """Refuse an edit that breaks a hard rule the groups kept before it."""
    before = set(_broken(seats, seats.groups))
    new = [v for v in _broken(seats, after) if v not in before]
    if new:
        raise Refused("this change would break a rule: " + "; ".join(new))


async def authority_of(uow: UnitOfWork, ref: str) -> tuple[int, str]:
    """An authority named by an officer's e-mail or by its id: (id, name)."""
    ref = ref.strip()
    if ref.isdigit():
        authority = await uow.authorities.get(int(ref))
        if authority is None:
            raise Refused(f"no authority #{ref}")
        return authority.id, authority.name
    officer = await uow.officers.by_email(ref)
    if officer is None or officer.authority_id is None:
        raise Refused(f"no officer {ref[:80]!r} with an authority")
    return officer.authority_id, officer.authority.name if officer.authority else ref


def _without(group: solver.Group, authority_id: int) -> solver.Group:
    return replace(
        group,
        mentors=tuple(a for a in group.mentors if a != authority_id),
        learners=tuple(a for a in group.learners if a != authority_id),
    )


def _with(group: solver.Group, authority_id: int, role: str) -> solver.Group:
    if role == solver.MENTOR:
        return replace(group, mentors=(*group.mentors, authority_id))
    return replace(group, learners=(*group.learners, authority_id))


def _role_in(group: solver.Group, authority_id: int) -> str | None:
    if authority_id in group.mentors:
        return solver.MENTOR
    return solver.LEARNER if authority_id in group.learners else None


def _member_reason(seats: Seating, scheme: str, authority_id: int, role: str) -> dict[str, Any]:
    unit = next((u for u in seats.problem.units if u.id == authority_id), None)
    if role == solver.MENTOR:
        practice = bool(unit and scheme in unit.practices)
        return {"kind": "offers", "scheme": scheme, "practice": practice}
    rank = unit.wants.index(scheme) + 1 if unit and scheme in unit.wants else 1
    return {"kind": "wants", "scheme": scheme, "rank": rank}


def _placeable(seats: Seating, group: PeerGroup, authority_id: int, name: str) -> list[Officer]:
    """The applying officers of an authority that can take a seat in the group; `Refused`
    when it has none or sits there already."""
    officers = seats.officers.get(authority_id, [])
    if not officers:
        raise Refused(f"{name} has no application to this cycle that can be placed")
    if _role_in(seats.groups[group.id], authority_id) is not None:
        raise Refused(f"{name} is already in group #{group.id}")
    return officers


async def _seat(
    edits: GroupEditRepo,
    seats: Seating,
    group: PeerGroup,
    authority_id: int,
    officers: Sequence[Officer],
    role: str,
    now: datetime,
) -> None:
    """Seat an authority's applying officers in a group, with why it fits there."""
    reason = _member_reason(seats, group.scheme, authority_id, role)
    await edits.add_seat(
        [
            GroupMember(
                group_id=group.id,
                authority_id=authority_id,
                officer_id=o.id,
                role=role,
                reasons=[reason],
                created_at=now,
            )
            for o in officers
        ]
    )


async def _refresh(uow: UnitOfWork, seats: Seating, group_id: int, names: dict[int, str]) -> None:
    """A changed group's score and reasons follow its new members."""
    group = await uow.groups.get(group_id)
    if group is None:
        return
    solved = seats.groups[group_id]
    group.score = solver.evaluate(seats.problem, [solved]) if solved.members else 0.0
    kept = [r for r in group.reasons or [] if "authority" not in r]
    for a in solved.members:
        role = _role_in(solved, a) or solver.LEARNER
        kept.append({**_member_reason(seats, group.scheme, a, role), "authority": names[a]})
    group.reasons = kept


async def _names(uow: UnitOfWork, seats: Seating) -> dict[int, str]:
    names = {u.id: u.name for u in seats.problem.units}
    for a in list(names):
        if names[a].startswith("authority "):
            found = await uow.authorities.get(a)
            names[a] = found.name if found else names[a]
    return names


async def _tell(
    uow: UnitOfWork,
    content: Content,
    secret: bytes,
    group: PeerGroup,
    officer: Officer,
    key: str,
    values: dict[str, Any],
    *,
    idempotency_key: str,
    purpose: str,
    admitted: str | None = None,
) -> None:
    """Tell one officer what changed for them in a group; `admitted` (a tag): they are let
    into the group's space and told where to find it."""
    where, choices = (
        await admit(uow, content, group, officer, admitted) if admitted is not None else ("", [])
    )
    await queue_to_officer(
        uow,
        content,
        secret,
        officer,
        key,
        idempotency_key=idempotency_key,
        values=values,
        text=_with_where(content, officer, key, values, where),
        choices=choices,
        purpose=purpose,
        ref_id=group.id,
    )


async def _tell_edit(
    uow: UnitOfWork,
    content: Content | None,
    secret: bytes,
    group: PeerGroup,
    officers: Sequence[Officer],
    key: str,
    tag: str,
    joining: bool = False,
) -> None:
    """Tell officers of a live group what an edit changed for them (nothing for a proposal);
    `joining`: they are let into the group's space and told where to find it."""
    if content is None or group.status not in LIVE:
        return
    for officer in officers:
        await _tell(
            uow,
            content,
            secret,
            group,
            officer,
            key,
            {"scheme": _scheme(content, group, officer)},
            idempotency_key=f"group:{group.id}:{tag}:{officer.id}",
            purpose="group_edit",
            admitted=tag if joining else None,
        )


async def _seats_changed(
    uow: UnitOfWork,
    content: Content | None,
    secret: bytes,
    now: datetime,
    group: PeerGroup,
    *,
    leaving: Sequence[Officer] = (),
    joining: Sequence[Officer] = (),
    into: PeerGroup | None = None,
) -> None:
    """After an edit of a group's seats: the officers `leaving` it are told and leave its
    spaces, then those `joining` it (or the group `into`, for a move) are told and let in."""
    stamp = int(now.timestamp())
    await _tell_edit(uow, content, secret, group, leaving, "groups.edit.removed", f"out:{stamp}")
    await _leave(uow, group, leaving, f"out:{stamp}")
    await _tell_edit(
        uow, content, secret, into or group, joining, "groups.edit.added", f"in:{stamp}", True
    )


def _with_where(
    content: Content, officer: Officer, key: str, values: dict[str, Any], where: str
) -> str | None:
    """The message with where the group talks appended (None: the message alone)."""
    if not where:
        return None
    locale = officer_locale(officer, content, preferred_identity(officer))
    return content.t(locale, key, **values) + "\n\n" + where


async def _leave(uow: UnitOfWork, group: PeerGroup, officers: Sequence[Officer], tag: str) -> None:
    """Officers who no longer sit in a live group leave its spaces where the platform allows."""
    for officer in officers:
        await dismiss(uow, group, officer, tag)


def _scheme(content: Content, group: PeerGroup, officer: Officer) -> str:
    """The group's scheme in the officer's language."""
    locale = officer_locale(officer, content, preferred_identity(officer))
    return content.taxonomy.label("instruments", group.scheme, locale)


async def _officers_on(uow: UnitOfWork, group_id: int, authority_id: int) -> list[Officer]:
    return [
        o
        for m, o in await uow.groups.members(group_id)
        if o is not None and m.authority_id == authority_id
    ]


async def _audit(
    uow: UnitOfWork,
    who: Coordinator | None,
    cycle: LearningCycle,
    action: str,
    now: datetime,
    **detail: Any,
) -> None:
    if who is not None and cycle.programme_id is not None:
        await record(uow, who, cycle.programme_id, action, now, **detail)


async def move_member(
    uow: UnitOfWork,
    who: Coordinator | None,
    group_id: int,
    authority_ref: str,
    to_group_id: int,
    now: datetime,
    content: Content | None = None,
    secret: bytes = b"",
    role: str | None = None,
) -> dict[str, Any]:
    """Move an authority's seat to another group of the same cycle (in the same role)."""
    group = await _group(uow, who, group_id)
    target = await _group(uow, who, to_group_id)
    if target.cycle_id != group.cycle_id or target.id == group.id:
        raise Refused("move a member to another group of the same cycle")
    cycle = await uow.cycles.get(group.cycle_id)
    assert cycle is not None
    authority_id, name = await authority_of(uow, authority_ref)
    seats = await seating(uow, cycle)
    had = _role_in(seats.groups[group.id], authority_id)
    if had is None:
        raise Refused(f"{name} is not in group #{group.id}")
    if _role_in(seats.groups[target.id], authority_id) is not None:
        raise Refused(f"{name} is already in group #{target.id}")
    role = role or had
    if role not in ROLES:
        raise Refused("a role is mentor or learner")
    after = dict(seats.groups)
    after[group.id] = _without(after[group.id], authority_id)
    after[target.id] = _with(after[target.id], authority_id, role)
    _check(seats, after)
    moving = await _officers_on(uow, group.id, authority_id)
    await uow.group_edits.move_seat(group.id, authority_id, target.id, role)
    seats.groups = after
    names = await _names(uow, seats)
    await _refresh(uow, seats, group.id, names)
    await _refresh(uow, seats, target.id, names)
    await _seats_changed(
        uow, content, secret, now, group, leaving=moving, joining=moving, into=target
    )
    await _audit(uow, who, cycle, "groups.move", now, group=group.id, to=target.id, authority=name)
    return {"moved": name, "from": group.id, "to": target.id, "role": role}


async def remove_member(
    uow: UnitOfWork,
    who: Coordinator | None,
    group_id: int,
    authority_ref: str,
    now: datetime,
    content: Content | None = None,
    secret: bytes = b"",
) -> dict[str, Any]:
    """Take an authority's seat out of a group (it is unmatched again for this cycle)."""
    group, cycle = await _group_in_cycle(uow, who, group_id)
    authority_id, name = await authority_of(uow, authority_ref)
    seats = await seating(uow, cycle)
    if _role_in(seats.groups[group.id], authority_id) is None:
        raise Refused(f"{name} is not in group #{group.id}")
    after = {**seats.groups, group.id: _without(seats.groups[group.id], authority_id)}
    _check(seats, after)
    leaving = await _officers_on(uow, group.id, authority_id)
    await uow.group_edits.drop_seat(group.id, authority_id)
    seats.groups = after
    await _refresh(uow, seats, group.id, await _names(uow, seats))
    await _seats_changed(uow, content, secret, now, group, leaving=leaving)
    await _audit(uow, who, cycle, "groups.remove", now, group=group.id, authority=name)
    return {"removed": name, "group": group.id}


async def add_member(
    uow: UnitOfWork,
    who: Coordinator | None,
    group_id: int,
    authority_ref: str,
    role: str,
    now: datetime,
    content: Content | None = None,
    secret: bytes = b"",
) -> dict[str, Any]:
    """Seat an authority that applied to the cycle (its applying officers) in a group."""
    if role not in ROLES:
        raise Refused("a role is mentor or learner")
    group, cycle = await _group_in_cycle(uow, who, group_id)
    authority_id, name = await authority_of(uow, authority_ref)
    seats = await seating(uow, cycle)
    officers = _placeable(seats, group, authority_id, name)
    after = {**seats.groups, group.id: _with(seats.groups[group.id], authority_id, role)}
    _check(seats, after)
    await _seat(uow.group_edits, seats, group, authority_id, officers, role, now)
    seats.groups = after
    await _refresh(uow, seats, group.id, await _names(uow, seats))
    await _seats_changed(uow, content, secret, now, group, joining=officers)
    await _audit(uow, who, cycle, "groups.add", now, group=group.id, authority=name, role=role)
    return {"added": name, "group": group.id, "role": role}


async def swap_mentor(
    uow: UnitOfWork,
    who: Coordinator | None,
    group_id: int,
    old_ref: str,
    new_ref: str,
    now: datetime,
    content: Content | None = None,
    secret: bytes = b"",
) -> dict[str, Any]:
    """Replace a mentor authority of a group by another that offers the scheme."""
    group, cycle = await _group_in_cycle(uow, who, group_id)
    old_id, old_name = await authority_of(uow, old_ref)
    new_id, new_name = await authority_of(uow, new_ref)
    seats = await seating(uow, cycle)
    if _role_in(seats.groups[group.id], old_id) != solver.MENTOR:
        raise Refused(f"{old_name} does not mentor group #{group.id}")
    officers = _placeable(seats, group, new_id, new_name)
    swapped = _with(_without(seats.groups[group.id], old_id), new_id, solver.MENTOR)
    after = {**seats.groups, group.id: swapped}
    _check(seats, after)
    leaving = await _officers_on(uow, group.id, old_id)
    edits = uow.group_edits
    await edits.drop_seat(group.id, old_id)
    await _seat(edits, seats, group, new_id, officers, solver.MENTOR, now)
    seats.groups = after
    await _refresh(uow, seats, group.id, await _names(uow, seats))
    await _seats_changed(uow, content, secret, now, group, leaving=leaving, joining=officers)
    await _audit(uow, who, cycle, "groups.swap", now, group=group.id, old=old_name, new=new_name)
    return {"group": group.id, "mentor_out": old_name, "mentor_in": new_name}


# -- the authority is the unit: seats change hands -----------------------------------------


async def _announce_takeover(
    uow: UnitOfWork,
    content: Content,
    secret: bytes,
    group: PeerGroup,
    leaving: Officer | None,
    taking: Officer,
    now: datetime,
    why: str = "",
) -> None:
    """The new officer is told what they inherit and let into the group's space; the rest of
    the group who now sits there (`*_new` wording when the seat had nobody to hand it over,
    `*_paused` when its officer is taking a break rather than leaving)."""
    authority = taking.authority.name if taking.authority else ""
    before = leaving.name if leaving else ""
    new = why if leaving else "_new"
    key = f"groups.seat.yours{new}"
    values = {"scheme": _scheme(content, group, taking), "authority": authority, "before": before}
    await _tell(
        uow,
        content,
        secret,
        group,
        taking,
        key,
        values,
        idempotency_key=f"group:{group.id}:seat:{taking.id}:yours",
        purpose="group_seat",
        admitted=f"seat:{int(now.timestamp())}",
    )
    for member, officer in await uow.groups.members(group.id):
        if officer is None or officer.id == taking.id or member.authority_id == taking.authority_id:
            continue
        await queue_to_officer(
            uow,
            content,
            secret,
            officer,
            f"groups.seat.changed{new}",
            idempotency_key=f"group:{group.id}:seat:{taking.id}:to:{officer.id}",
            values={"authority": authority, "before": before, "after": taking.name},
            purpose="group_seat",
            ref_id=group.id,
        )
    locale = content.t.resolve(group.language)
    text = content.t(
        locale,
        f"groups.seat.changed{new}",
        authority=authority,
        before=before,
        after=taking.name,
    )
    for space in await uow.groups.spaces(group.id):
        if space.chat_id:
            await uow.outbox.enqueue(
                f"group:{group.id}:seat:{taking.id}:space:{space.platform}",
                space.platform,
                str(space.chat_id),
                payload(text),
                thread_id=space.thread_id or None,
                purpose="group_seat",
                ref_id=group.id,
            )


async def hand_over_seats(
    uow: UnitOfWork,
    content: Content,
    secret: bytes,
    officer: Officer,
    now: datetime,
    pausing: bool = False,
) -> list[dict[str, Any]]:
    """An officer leaves: each of their seats goes to a colleague of the same authority in
    the programme (one who applied to the cycle first), or stays the authority's, vacant,
    and the coordinators are asked to find someone.

    `pausing`: the officer takes a break with no return date. A colleague takes the seat as
    above; with no colleague the seat stays the officer's, for when they resume (the group
    hears nothing for them meanwhile), and the coordinators are told."""
    edits = uow.group_edits
    done: list[dict[str, Any]] = []
    left: list[PeerGroup] = []
    for member, group in await edits.seats_of_officer(officer.id, EDITABLE):
        cycle = await uow.cycles.get(group.cycle_id)
        programme_id = cycle.programme_id if cycle else None
        sitting = {o.id for m, o in await uow.groups.members(group.id) if o is not None}
        colleagues = list(await edits.colleagues(member.authority_id, programme_id, [officer.id]))
        applied = {o.id for _, o in await uow.cycles.applications(group.cycle_id)}
        colleagues.sort(key=lambda o: (o.id not in sitting, o.id not in applied, o.id))
        taking = colleagues[0] if colleagues else None
        row: dict[str, Any] = {
            "group": group.id,
            "scheme": group.scheme,
            "from": officer.email,
            "to": None,
            "to_name": None,
            "kept": pausing and taking is None,
        }
        if not row["kept"]:
            await edits.hand_over(member, taking.id if taking else None)
            await dismiss(uow, group, officer, f"seat:{int(now.timestamp())}")
            left.append(group)
        why = "_paused" if pausing else ""
        if taking is not None:
            row["to"], row["to_name"] = taking.email, taking.name
            if taking.id not in sitting and group.status in LIVE:
                await _announce_takeover(uow, content, secret, group, officer, taking, now, why)
        elif group.status in LIVE:
            authority = officer.authority.name if officer.authority else ""
            await notify_coordinators(
                uow,
                content,
                secret,
                programme_id,
                f"groups.seat.vacant{why}",
                idempotency=f"group:{group.id}:vacant{why}:{officer.id}:{int(now.timestamp())}"
                if pausing
                else f"group:{group.id}:vacant:{officer.id}",
                values={"id": group.id, "authority": authority, "who": officer.name},
                ref_id=group.id,
            )
        done.append(row)
    if not pausing:
        await leave_programme_chats(uow, officer, left, f"left:{int(now.timestamp())}")
    return done


async def seats_on_return(
    uow: UnitOfWork, content: Content, secret: bytes, officer: Officer, now: datetime
) -> list[dict[str, Any]]:
    """An officer back from a pause with no return date (`/resume`): what became of their
    authority's seats in the groups of their programmes.

    - `kept`: the seat waited for them (no colleague could take it); it is theirs again and
      the coordinators, who were told it was kept, hear that they are back.
    - `taken`: the seat is vacant, held by the authority (say the colleague who took it over
      has left since); they take it, are let into the group's space and the group is told.
    - `colleague`: a colleague took it over and keeps it (the group has settled with them);
      the officer is told who, in which group, and that the coordinators can give it back.
    """
    if officer.authority_id is None:
        return []
    edits = uow.group_edits
    mine = await uow.officers.programme_ids(officer)
    by_group: dict[int, tuple[PeerGroup, list[tuple[GroupMember, Officer | None]]]] = {}
    for member, group in await edits.seats_of_authority(officer.authority_id, EDITABLE):
        holder = await uow.officers.get(member.officer_id) if member.officer_id else None
        by_group.setdefault(group.id, (group, []))[1].append((member, holder))
    done: list[dict[str, Any]] = []
    for group, rows in by_group.values():
        cycle = await uow.cycles.get(group.cycle_id)
        programme_id = cycle.programme_id if cycle else None
        if programme_id is not None and programme_id not in mine:
            continue
        row: dict[str, Any] = {"group": group.id, "scheme": group.scheme, "colleague": None}
        vacant = [m for m, holder in rows if holder is None]
        others = [h for _, h in rows if h is not None and h.id != officer.id]
        if any(h is not None and h.id == officer.id for _, h in rows):
            row["state"] = "kept"
        elif vacant:
            row["state"] = "taken"
            await edits.hand_over(vacant[0], officer.id)
            if group.status in LIVE:
                await _announce_takeover(uow, content, secret, group, None, officer, now)
        elif others:
            row["state"], row["colleague"] = "colleague", others[0].name
        else:
            continue
        if row["state"] != "colleague" and group.status in LIVE:
            await notify_coordinators(
                uow,
                content,
                secret,
                programme_id,
                "groups.seat.back",
                idempotency=f"group:{group.id}:back:{officer.id}:{int(now.timestamp())}",
                values={
                    "id": group.id,
                    "who": officer.name,
                    "authority": officer.authority.name if officer.authority else "",
                },
                ref_id=group.id,
            )
        done.append(row)
    return done


async def officer_left(
    uow: UnitOfWork,
    who: Coordinator | None,
    email: str,
    now: datetime,
    content: Content,
    secret: bytes,
) -> list[dict[str, Any]]:
    """A coordinator records that an officer has left for good: their status becomes `left`
    and their seats go to colleagues of their authority."""
    officer = await uow.officers.by_email(email)
    if officer is None:
        raise Refused(f"no officer {email[:80]!r}")
    if who is not None:
        mine = await uow.officers.programme_ids(officer)
        if not mine & who.programme_ids:
            raise NotAllowed(f"officer {officer.id}")
    officer.status = OfficerStatus.LEFT
    return await hand_over_seats(uow, content, secret, officer, now)


async def take_over(
    uow: UnitOfWork,
    who: Coordinator | None,
    group_id: int,
    email: str,
    now: datetime,
    content: Content,
    secret: bytes,
) -> dict[str, Any]:
    """A coordinator gives an officer their authority's seat in a group: vacant holders or
    ones no longer active make way; otherwise the officer joins the seat."""
    group = await _group(uow, who, group_id)
    officer = await uow.officers.by_email(email)
    if officer is None or officer.authority_id is None:
        raise Refused(f"no officer {email[:80]!r} with an authority")
    if officer.status != OfficerStatus.ACTIVE or officer.consent_at is None:
        raise Refused(f"{officer.email} is not active in the programme")
    seat = [
        (m, o)
        for m, o in await uow.groups.members(group.id)
        if m.authority_id == officer.authority_id
    ]
    if not seat:
        raise Refused(
            f"{officer.authority.name if officer.authority else 'their authority'} "
            f"has no seat in group #{group.id}"
        )
    if any(o is not None and o.id == officer.id for _, o in seat):
        raise Refused(f"{officer.email} already holds the seat in group #{group.id}")
    edits = uow.group_edits
    gone = [(m, o) for m, o in seat if o is None or o.status != OfficerStatus.ACTIVE]
    before = gone[0][1] if gone and gone[0][1] is not None else None
    if gone:
        await edits.hand_over(gone[0][0], officer.id)
        for m, _ in gone[1:]:
            await edits.hand_over(m, None)
    else:
        first = seat[0][0]
        await edits.add_seat(
            [
                GroupMember(
                    group_id=group.id,
                    authority_id=officer.authority_id,
                    officer_id=officer.id,
                    role=first.role,
                    reasons=list(first.reasons or []),
                    created_at=now,
                )
            ]
        )
    for _, gone_officer in gone:
        if gone_officer is not None:
            await dismiss(uow, group, gone_officer, f"seat:{int(now.timestamp())}")
    if group.status in LIVE:
        await _announce_takeover(uow, content, secret, group, before, officer, now)
    cycle = await uow.cycles.get(group.cycle_id)
    if cycle is not None:
        await _audit(uow, who, cycle, "groups.takeover", now, group=group.id, to=officer.email)
    return {"group": group.id, "to": officer.email, "from": before.email if before else None}
