"""Matching and pair use cases for the console, on the same functions as `peerbot match` and
`peerbot pairs` (`handlers.pairing.flow`, `handlers.pairing.view`): propose, approve, reject,
swap a proposal's mentor, list pairs with their check-ins, nudge, reassign, close.
Authorization inside: every function checks the programme is the coordinator's, and a pair or
round of another programme is `NotAllowed`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from handlers.audit.service import Coordinator, NotAllowed, authorize, record
from handlers.core.content import Content
from handlers.delivery.outbox import officer_locale, preferred_identity, queue_to_officer
from handlers.pairing import flow
from handlers.pairing.reasons import reasons_json
from handlers.pairing.solver import Request, mentor_options
from handlers.pairing.unmatched import CODES
from handlers.pairing.view import LIVE, checkin_json, pairs_json
from storage.models import Officer, Pair, PairStatus
from storage.uow import UnitOfWork

CLOSE_REASONS = ("goal_reached", "no_response", "poor_fit", "left_programme", "other")
"""Why a coordinator closes a pair (stored as `close_reason`, worded per locale)."""
REASSIGNED = "reassigned"
"""`close_reason` of a pair a coordinator ended to give its learner another mentor."""


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
    found = await uow.matches.latest_round(programme_id)
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
        found = await uow.matches.latest_round(programme_id)
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
    """The programme's pairs (proposals left out) with their state, as `peerbot pairs list`,
    each with its check-in history (`history`: period, due date and answer, oldest first)."""
    authorize(who, programme_id)
    statuses = [s for s in PairStatus if s != PairStatus.PROPOSED]
    rows = await pairs_json(uow, now, programme_id, statuses)
    history = await uow.console.checkins_of([r["id"] for r in rows])
    for row in rows:
        row["history"] = [
            {"period": c.period, "due_at": c.due_at, "answer": c.answer}
            for c in history.get(row["id"], [])
        ]
    return rows


async def every_pair(
    uow: UnitOfWork, now: datetime, programme_slug: str | None, states: Collection[str]
) -> list[dict[str, Any]] | None:
    """Pairs as `peerbot pairs list` (whoever holds the database sees every programme): of one
    programme, or None when the slug names none; proposals only when `states` asks for them."""
    programme_id = None
    if programme_slug:
        found = await uow.programmes.by_slug(programme_slug)
        if found is None:
            return None
        programme_id = found.id
    statuses = None if states else [s for s in PairStatus if s != PairStatus.PROPOSED]
    rows = await pairs_json(uow, now, programme_id, statuses)
    return [r for r in rows if not states or r["state"] in states]


async def pair_detail(uow: UnitOfWork, now: datetime, pair_id: int) -> dict[str, Any] | None:
    """One pair as `peerbot pairs show`, with every check-in (`checkins`), or None."""
    rows = [r for r in await pairs_json(uow, now) if r["id"] == pair_id]
    if not rows:
        return None
    return {**rows[0], "checkins": await checkin_history(uow, pair_id)}


async def pair_history(
    uow: UnitOfWork, who: Coordinator, programme_id: int, pair_id: int
) -> list[dict[str, Any]]:
    """A pair's check-ins, oldest first, as `peerbot pairs show`."""
    authorize(who, programme_id)
    pair = await uow.pairs.get(pair_id)
    if pair is None or pair.programme_id != programme_id:
        raise NotAllowed(f"pair {pair_id}")
    return await checkin_history(uow, pair_id)


async def checkin_history(uow: UnitOfWork, pair_id: int) -> list[dict[str, Any]]:
    """A pair's check-ins with each officer's answer, oldest first (no programme check: the
    CLI's operator sees every programme; the console goes through `pair_history`)."""
    return [
        {**(checkin_json(c) or {}), "answers": c.answers or {}}
        for c in await uow.console.checkins(pair_id)
    ]


async def close_pair(
    uow: UnitOfWork, who: Coordinator, programme_id: int, pair_id: int, reason: str, now: datetime
) -> bool:
    """Close a live pair with one of `CLOSE_REASONS`; False when it is no longer live."""
    authorize(who, programme_id)
    if reason not in CLOSE_REASONS:
        raise ValueError(f"unknown reason {reason!r}")
    pair = await uow.pairs.get(pair_id)
    if pair is None or pair.programme_id != programme_id:
        raise NotAllowed(f"pair {pair_id}")
    moved = await uow.pairs.move(
        pair_id, LIVE, PairStatus.CLOSED, closed_at=now, close_reason=reason, updated_at=now
    )
    if moved:
        await record(uow, who, programme_id, "pair.close", now, pair=pair_id, reason=reason)
        await uow.commit()
    return moved


# -- choosing another mentor: swap a proposal's, reassign a live pair's ------------------------


@dataclass(frozen=True)
class MentorOption:
    """A mentor who could take the learner on the pair's topic, as a round would score them."""

    mentor_id: int
    name: str
    authority: str
    topic: str
    score: float
    reasons: list[dict[str, Any]]


async def _pair_of(uow: UnitOfWork, programme_id: int, pair_id: int) -> Pair:
    pair = await uow.pairs.get(pair_id)
    if pair is None or pair.programme_id != programme_id:
        raise NotAllowed(f"pair {pair_id}")
    return pair


async def _options(
    uow: UnitOfWork,
    programme_id: int,
    pair: Pair,
    now: datetime,
    *,
    with_round: bool,
    lock: bool = False,
) -> list[MentorOption]:
    """Mentors for the pair's learner and topic under the round's hard rules (language, other
    authority, capacity, never a pair that was live, closed or declined), minus the pair's own
    mentor; `with_round`: the other proposals of its round hold their mentors' slots too."""
    if pair.learner_id is None or pair.topic is None:
        return []
    if lock:  # a change: one writer of mentor slots at a time (rounds take the same lock)
        await uow.pairs.lock_rounds(programme_id)
    data = await flow.round_input(uow, programme_id, now)
    held: Counter[int] = Counter()
    if with_round and pair.round_id is not None:
        for other in await uow.pairs.list(round_id=pair.round_id, statuses=[PairStatus.PROPOSED]):
            if other.id != pair.id and other.mentor_id is not None:
                held[other.mentor_id] += 1
    people = []
    for person in data.people:
        if person.id == pair.learner_id:
            person = replace(person, wants=person.wants | {pair.topic})
        if held[person.id]:
            person = replace(person, active_pairs=person.active_pairs + held[person.id])
        people.append(person)
    excluded = set(data.excluded)
    if pair.mentor_id is not None:
        excluded.add((pair.learner_id, pair.mentor_id))
    found = mentor_options(
        people, Request(pair.learner_id, pair.topic), data.practices, frozenset(excluded)
    )
    return [
        MentorOption(
            p.mentor_id,
            data.officers[p.mentor_id].name,
            data.officers[p.mentor_id].authority_name,
            p.topic,
            p.score,
            reasons_json(p.reasons),
        )
        for p in found
        if p.mentor_id in data.officers
    ]


CHOICES_SHOWN = 20
"""Mentor choices a page lists (the best ones; swap and reassign accept any eligible one)."""


async def mentor_choices(
    uow: UnitOfWork,
    who: Coordinator,
    programme_id: int,
    pair_id: int,
    now: datetime,
    limit: int = CHOICES_SHOWN,
) -> list[MentorOption]:
    """Who else could mentor this pair's learner, best first: for a proposal (swap) or a live
    pair (reassign); empty for any other pair."""
    authorize(who, programme_id)
    pair = await _pair_of(uow, programme_id, pair_id)
    if pair.status == PairStatus.PROPOSED:
        return (await _options(uow, programme_id, pair, now, with_round=True))[:limit]
    if pair.status in LIVE:
        return (await _options(uow, programme_id, pair, now, with_round=False))[:limit]
    return []


class NotEligible(ValueError):
    """The chosen mentor cannot take this learner (or the pair is past the step)."""


async def swap_mentor(
    uow: UnitOfWork,
    who: Coordinator,
    programme_id: int,
    pair_id: int,
    mentor_id: int,
    now: datetime,
) -> None:
    """Give a proposal another mentor among `mentor_choices`, with that mentor's score and
    reasons; it stays proposed for review. `NotEligible` otherwise."""
    authorize(who, programme_id)
    pair = await _pair_of(uow, programme_id, pair_id)
    if pair.status != PairStatus.PROPOSED:
        raise NotEligible("not proposed")
    chosen = next(
        (
            o
            for o in await _options(uow, programme_id, pair, now, with_round=True, lock=True)
            if o.mentor_id == mentor_id
        ),
        None,
    )
    if chosen is None:
        raise NotEligible(f"mentor {mentor_id}")
    old = pair.mentor_id
    moved = await uow.pairs.move(
        pair_id,
        [PairStatus.PROPOSED],
        PairStatus.PROPOSED,
        mentor_id=chosen.mentor_id,
        score=chosen.score,
        reasons=chosen.reasons,
        updated_at=now,
    )
    if not moved:
        raise NotEligible("not proposed")
    await record(uow, who, programme_id, "match.swap", now, pair=pair_id, mentor=mentor_id, was=old)
    await uow.commit()


async def reassign_pair(
    uow: UnitOfWork,
    content: Content,
    secret: bytes,
    who: Coordinator,
    programme_id: int,
    pair_id: int,
    mentor_id: int,
    now: datetime,
) -> int:
    """End a live pair (reason `reassigned`) and pair its learner with another mentor among
    `mentor_choices`, approved at once (the introductions job introduces them); the learner
    and the former mentor are told, each in their language. The new pair's id.
    `NotEligible` when the mentor cannot take them or the pair is not live."""
    authorize(who, programme_id)
    pair = await _pair_of(uow, programme_id, pair_id)
    if pair.status not in LIVE:
        raise NotEligible("not live")
    chosen = next(
        (
            o
            for o in await _options(uow, programme_id, pair, now, with_round=False, lock=True)
            if o.mentor_id == mentor_id
        ),
        None,
    )
    if chosen is None:
        raise NotEligible(f"mentor {mentor_id}")
    repo = uow.pairs
    ended = await repo.move(
        pair_id,
        LIVE,
        PairStatus.CLOSED,
        closed_at=now,
        close_reason=REASSIGNED,
        updated_at=now,
    )
    if not ended:
        raise NotEligible("not live")
    new = await repo.add(
        Pair(
            programme_id=programme_id,
            learner_id=pair.learner_id,
            mentor_id=chosen.mentor_id,
            topic=chosen.topic,
            score=chosen.score,
            reasons=chosen.reasons,
            status=PairStatus.APPROVED,
            created_at=now,
            updated_at=now,
            approved_at=now,
        )
    )
    await _tell_reassigned(uow, content, secret, pair, new)
    await record(
        uow,
        who,
        programme_id,
        "pair.reassign",
        now,
        pair=pair_id,
        new_pair=new.id,
        mentor=chosen.mentor_id,
    )
    await uow.commit()
    return new.id


async def _tell_reassigned(
    uow: UnitOfWork, content: Content, secret: bytes, old: Pair, new: Pair
) -> None:
    learner = await uow.officers.get(old.learner_id) if old.learner_id else None
    mentor = await uow.officers.get(old.mentor_id) if old.mentor_id else None
    for me, other, key in ((learner, mentor, "to_learner"), (mentor, learner, "to_old_mentor")):
        if me is None or other is None:
            continue
        await _queue_worded(
            uow,
            content,
            secret,
            me,
            f"reassign.{key}",
            old.topic,
            other.name,
            idempotency_key=f"pair:{old.id}:reassigned:{me.id}",
            purpose="pair",
            ref_id=new.id,
        )


async def _queue_worded(
    uow: UnitOfWork,
    content: Content,
    secret: bytes,
    me: Officer,
    key: str,
    topic: str | None,
    partner: str,
    *,
    idempotency_key: str,
    purpose: str,
    ref_id: int,
) -> bool:
    """Queue `key` to an officer with the topic's label in their own language."""
    locale = officer_locale(me, content, preferred_identity(me))
    area = key.split(".", 1)[0]
    label = (
        content.taxonomy.label("instruments", topic, locale)
        if topic
        else content.t(locale, f"{area}.any_topic")
    )
    text = content.t(locale, key, name=me.name, partner=partner, topic=label)
    return await queue_to_officer(
        uow,
        content,
        secret,
        me,
        key,
        idempotency_key=idempotency_key,
        text=text,
        purpose=purpose,
        ref_id=ref_id,
    )


# -- nudging a pair ----------------------------------------------------------------------------

NUDGEABLE = (PairStatus.INTRODUCED, PairStatus.ACTIVE)


async def nudge_pair(
    uow: UnitOfWork,
    content: Content,
    secret: bytes,
    who: Coordinator,
    programme_id: int,
    pair_id: int,
    now: datetime,
) -> int:
    """Remind both officers of an introduced or active pair to get in touch, each in their
    language, through the outbox; at most once a day per pair. How many messages were queued
    (0: already nudged today, or nobody reachable). `NotEligible` for a pair not running."""
    authorize(who, programme_id)
    pair = await _pair_of(uow, programme_id, pair_id)
    if pair.status not in NUDGEABLE:
        raise NotEligible("not running")
    learner = await uow.officers.get(pair.learner_id) if pair.learner_id else None
    mentor = await uow.officers.get(pair.mentor_id) if pair.mentor_id else None
    queued = 0
    for me, other, role in ((learner, mentor, "learner"), (mentor, learner, "mentor")):
        if me is None or other is None:
            continue
        queued += await _queue_worded(
            uow,
            content,
            secret,
            me,
            f"nudge.to_{role}",
            pair.topic,
            other.name,
            idempotency_key=f"nudge:{pair.id}:{now.date().isoformat()}:{me.id}",
            purpose="nudge",
            ref_id=pair.id,
        )
    if queued:
        await record(uow, who, programme_id, "pair.nudge", now, pair=pair_id, messages=queued)
        await uow.commit()
    return queued
