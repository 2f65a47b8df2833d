"""Pairs, their shared spaces, their check-ins, match rounds and match requests."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import and_, delete, func, insert, or_, select, text, update

from storage.models import (
    Authority,
    CheckIn,
    MatchRequest,
    MatchRound,
    Membership,
    Officer,
    OfficerStatus,
    Outbox,
    Pair,
    PairSpace,
    PairStatus,
    Role,
)
from storage.repositories.base import Repository

PROPOSAL_BATCH = 1_000
"""Pairs per INSERT statement when a round is stored (one multi-row statement per batch)."""


class RoundOfficer(NamedTuple):
    """The columns a matching round reads of an officer and their authority (no ORM object)."""

    id: int
    name: str
    email: str | None
    authority_id: int
    authority_name: str
    country: str
    population: int | None
    languages: list[Any]
    sectors: list[Any]
    wants: list[Any]
    offers: list[Any]
    mentor_capacity: int
    created_at: datetime


LIVE = (PairStatus.APPROVED, PairStatus.INTRODUCED, PairStatus.ACTIVE)
"""Pairs that hold a mentor's slot and must not be proposed again."""
ENDED = (PairStatus.CLOSED, PairStatus.DECLINED)
ROUND_LOCK_SPACE = 0x9A12
"""First key of the advisory lock that serialises matching rounds (the second: programme)."""


class PairRepo(Repository):
    """Pairs of a learner and a mentor on one topic."""

    async def get(self, pair_id: int) -> Pair | None:
        return await self.session.get(Pair, pair_id)

    async def lock(self, pair_id: int) -> Pair | None:
        """The pair, its row locked until the transaction ends, read fresh (`FOR UPDATE`).

        Two officers acting on one pair at once (both accept, one accepts as the other
        declines) then take turns, and the second sees what the first committed; SQLite
        ignores the clause and takes one writer at a time anyway.
        """
        stmt = (
            select(Pair)
            .where(Pair.id == pair_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def lock_rounds(self, programme_id: int | None) -> None:
        """Hold a programme's matching until the transaction ends (PostgreSQL advisory lock).

        A round reads every mentor's live pairs to respect `mentor_capacity`, then writes
        proposals; two rounds at once would each see the mentor free and propose twice.
        SQLite takes one writer at a time already.
        """
        if self.dialect == "postgresql":
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(:space, :key)"),
                {"space": ROUND_LOCK_SPACE, "key": programme_id or 0},
            )

    async def add(self, pair: Pair) -> Pair:
        self.session.add(pair)
        await self.session.flush()
        return pair

    async def add_all(self, pairs: Collection[Pair]) -> None:
        """Store many pairs with one flush (a round of thousands)."""
        self.session.add_all(list(pairs))
        await self.session.flush()

    async def insert_many(self, rows: Sequence[dict[str, Any]]) -> list[Pair]:
        """Insert the pairs of new rounds, given as column values: a bulk INSERT, not a flush.

        One executemany without RETURNING (SQLite would send `RETURNING` in input order one
        row at a time: 11 s for 3,500 pairs), then one SELECT of the ids, matched back by
        (round, learner, mentor, topic), which a round never repeats. The pairs returned are
        not attached to the session.
        """
        if not rows:
            return []
        for lo in range(0, len(rows), PROPOSAL_BATCH):
            await self.session.execute(insert(Pair), list(rows[lo : lo + PROPOSAL_BATCH]))
        rounds = sorted({r["round_id"] for r in rows})
        found = await self.session.execute(
            select(Pair.id, Pair.round_id, Pair.learner_id, Pair.mentor_id, Pair.topic).where(
                Pair.round_id.in_(rounds)
            )
        )
        ids = {(r, learner, mentor, topic): i for i, r, learner, mentor, topic in found}
        return [
            Pair(id=ids[r["round_id"], r["learner_id"], r["mentor_id"], r["topic"]], **r)
            for r in rows
        ]

    async def list(
        self,
        programme_id: int | None = None,
        statuses: Collection[PairStatus] | None = None,
        officer_id: int | None = None,
        round_id: int | None = None,
    ) -> Sequence[Pair]:
        stmt = select(Pair).order_by(Pair.id)
        if programme_id is not None:
            stmt = stmt.where(Pair.programme_id == programme_id)
        if statuses is not None:
            stmt = stmt.where(Pair.status.in_(list(statuses)))
        if officer_id is not None:
            stmt = stmt.where(or_(Pair.learner_id == officer_id, Pair.mentor_id == officer_id))
        if round_id is not None:
            stmt = stmt.where(Pair.round_id == round_id)
        return (await self.session.execute(stmt)).scalars().all()

    async def mentor_load(self) -> dict[int, int]:
        """Live pairs per mentor (what counts against `officer.mentor_capacity`)."""
        stmt = (
            select(Pair.mentor_id, func.count())
            .where(Pair.status.in_(LIVE), Pair.mentor_id.is_not(None))
            .group_by(Pair.mentor_id)
        )
        return {int(m or 0): int(n) for m, n in (await self.session.execute(stmt)).all()}

    async def known_pairs(self) -> set[tuple[int, int]]:
        """(learner, mentor) of every pair that is live or ended: never proposed again."""
        stmt = select(Pair.learner_id, Pair.mentor_id).where(
            Pair.status.in_([*LIVE, *ENDED]),
            Pair.learner_id.is_not(None),
            Pair.mentor_id.is_not(None),
        )
        return {(int(a or 0), int(b or 0)) for a, b in (await self.session.execute(stmt)).all()}

    async def live_topics(self) -> dict[int, set[str]]:
        """The topics each learner already has a live pair on."""
        stmt = select(Pair.learner_id, Pair.topic).where(
            Pair.status.in_(LIVE), Pair.learner_id.is_not(None)
        )
        found: dict[int, set[str]] = {}
        for learner, topic in (await self.session.execute(stmt)).all():
            found.setdefault(int(learner or 0), set()).add(str(topic))
        return found

    async def drop_proposed(self, programme_id: int | None) -> int:
        """Delete proposals nobody reviewed (a new round replaces them)."""
        stmt = delete(Pair).where(Pair.status == PairStatus.PROPOSED)
        if programme_id is not None:
            stmt = stmt.where(Pair.programme_id == programme_id)
        result = await self.session.execute(stmt)
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def approved(self, limit: int = 20) -> Sequence[Pair]:
        """Pairs approved by a coordinator and not yet introduced, oldest first."""
        stmt = select(Pair).where(Pair.status == PairStatus.APPROVED).order_by(Pair.id).limit(limit)
        return (await self.session.execute(stmt)).scalars().all()

    async def move(
        self, pair_id: int, from_: Collection[PairStatus], to: PairStatus, **values: object
    ) -> bool:
        """Change a pair's status only if it is still in one of `from_` (one winner)."""
        result = await self.session.execute(
            update(Pair)
            .where(Pair.id == pair_id, Pair.status.in_(list(from_)))
            .values(status=to, **values)
            .execution_options(synchronize_session="fetch")
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def due_checkins(self, now: datetime, limit: int = 200) -> Sequence[Pair]:
        """Active pairs whose next check-in time has come."""
        stmt = (
            select(Pair)
            .where(
                Pair.status == PairStatus.ACTIVE,
                Pair.next_checkin_at.is_not(None),
                Pair.next_checkin_at <= now,
            )
            .order_by(Pair.next_checkin_at, Pair.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def advance_checkin(self, pair_id: int, seen: datetime, to: datetime) -> bool:
        """Move the next check-in time forward if nobody else did (compare and set)."""
        result = await self.session.execute(
            update(Pair)
            .where(Pair.id == pair_id, Pair.next_checkin_at == seen)
            .values(next_checkin_at=to)
            .execution_options(synchronize_session="fetch")
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


class SpaceRepo(Repository):
    """A pair's shared spaces, one per platform."""

    async def reserve(self, pair_id: int, platform: str, now: datetime, lease: timedelta) -> bool:
        """Take the right to create a pair's space on a platform; False if someone holds it.

        A reservation whose creator died (no chat after `lease`) is taken over.
        """
        values = {"pair_id": pair_id, "platform": platform, "claimed_at": now, "created_at": now}
        stmt = self.insert_ignore(PairSpace.__table__, values, ["pair_id", "platform"])  # type: ignore[arg-type]
        if (await self.session.execute(stmt)).rowcount:  # type: ignore[attr-defined]
            return True
        result = await self.session.execute(
            update(PairSpace)
            .where(
                PairSpace.pair_id == pair_id,
                PairSpace.platform == platform,
                PairSpace.chat_id.is_(None),
                PairSpace.claimed_at < now - lease,
            )
            .values(claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def record(
        self, pair_id: int, platform: str, chat_id: str, thread_id: str | None
    ) -> None:
        await self.session.execute(
            update(PairSpace)
            .where(PairSpace.pair_id == pair_id, PairSpace.platform == platform)
            .values(chat_id=chat_id, thread_id=thread_id or "")
            .execution_options(synchronize_session=False)
        )

    async def release(self, pair_id: int, platform: str) -> None:
        """Drop a reservation whose space could not be created."""
        await self.session.execute(
            delete(PairSpace).where(
                PairSpace.pair_id == pair_id,
                PairSpace.platform == platform,
                PairSpace.chat_id.is_(None),
            )
        )

    async def of_pair(self, pair_id: int) -> Sequence[PairSpace]:
        stmt = select(PairSpace).where(PairSpace.pair_id == pair_id).order_by(PairSpace.id)
        return (await self.session.execute(stmt)).scalars().all()

    async def at(self, platform: str, chat_id: str, thread_id: str | None) -> PairSpace | None:
        """The pair space a message was written in (a thread of a channel space counts)."""
        stmt = select(PairSpace).where(
            PairSpace.platform == platform,
            PairSpace.chat_id == chat_id,
            or_(PairSpace.thread_id == (thread_id or ""), PairSpace.thread_id == ""),
        )
        rows = (await self.session.execute(stmt)).scalars().all()
        exact = [r for r in rows if r.thread_id == (thread_id or "")]
        found = exact or list(rows)
        return found[0] if found else None


class CheckInRepo(Repository):
    """Scheduled check-ins, one row per pair and period."""

    async def get(self, checkin_id: int) -> CheckIn | None:
        return await self.session.get(CheckIn, checkin_id)

    async def lock(self, checkin_id: int) -> CheckIn | None:
        """The check-in, its row locked until the transaction ends and read fresh: both
        officers answer into one `answers` document, and one must not overwrite the other."""
        stmt = (
            select(CheckIn)
            .where(CheckIn.id == checkin_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def create(self, pair_id: int, period: int, due_at: datetime) -> bool:
        """Create the check-in of a period once (False when it already exists)."""
        values = {"pair_id": pair_id, "period": period, "due_at": due_at}
        stmt = self.insert_ignore(CheckIn.__table__, values, ["pair_id", "period"])  # type: ignore[arg-type]
        return bool((await self.session.execute(stmt)).rowcount)  # type: ignore[attr-defined]

    async def last_period(self, pair_id: int) -> int:
        stmt = select(func.max(CheckIn.period)).where(CheckIn.pair_id == pair_id)
        return int((await self.session.execute(stmt)).scalar_one() or 0)

    async def unsent(self, now: datetime, limit: int = 200) -> Sequence[CheckIn]:
        """Check-ins due whose messages are not all queued yet."""
        stmt = (
            select(CheckIn)
            .where(CheckIn.sent_at.is_(None), CheckIn.due_at <= now)
            .order_by(CheckIn.due_at, CheckIn.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def awaiting_reminder(self, sent_before: datetime, limit: int = 200) -> Sequence[CheckIn]:
        """Sent, unanswered, not reminded, sent before the given time."""
        stmt = (
            select(CheckIn)
            .where(
                CheckIn.sent_at.is_not(None),
                CheckIn.sent_at <= sent_before,
                CheckIn.answered_at.is_(None),
                CheckIn.reminded_at.is_(None),
            )
            .order_by(CheckIn.sent_at, CheckIn.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def of_officer(self, officer_id: int) -> Sequence[CheckIn]:
        """Every check-in of the pairs an officer is in, learner or mentor, by pair and period."""
        stmt = (
            select(CheckIn)
            .join(Pair, Pair.id == CheckIn.pair_id)
            .where(or_(Pair.learner_id == officer_id, Pair.mentor_id == officer_id))
            .order_by(CheckIn.pair_id, CheckIn.period)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def recent(self, pair_id: int, count: int = 2) -> Sequence[CheckIn]:
        """The latest check-ins of a pair, newest first."""
        stmt = (
            select(CheckIn)
            .where(CheckIn.pair_id == pair_id)
            .order_by(CheckIn.period.desc())
            .limit(count)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def latest_by_pair(self, pair_ids: Collection[int]) -> dict[int, CheckIn]:
        """The newest check-in of each pair (answered or not)."""
        if not pair_ids:
            return {}
        newest = (
            select(CheckIn.pair_id, func.max(CheckIn.period).label("period"))
            .where(CheckIn.pair_id.in_(list(pair_ids)))
            .group_by(CheckIn.pair_id)
            .subquery()
        )
        stmt = select(CheckIn).join(
            newest, and_(CheckIn.pair_id == newest.c.pair_id, CheckIn.period == newest.c.period)
        )
        return {c.pair_id: c for c in (await self.session.execute(stmt)).scalars().all()}

    async def last_answered_by_pair(self, pair_ids: Collection[int]) -> dict[int, CheckIn]:
        """The newest answered check-in of each pair."""
        if not pair_ids:
            return {}
        newest = (
            select(CheckIn.pair_id, func.max(CheckIn.period).label("period"))
            .where(CheckIn.pair_id.in_(list(pair_ids)), CheckIn.answered_at.is_not(None))
            .group_by(CheckIn.pair_id)
            .subquery()
        )
        stmt = select(CheckIn).join(
            newest, and_(CheckIn.pair_id == newest.c.pair_id, CheckIn.period == newest.c.period)
        )
        return {c.pair_id: c for c in (await self.session.execute(stmt)).scalars().all()}

    async def queued(self, keys: Collection[str]) -> set[str]:
        """Which of these outbox idempotency keys were queued already."""
        if not keys:
            return set()
        stmt = select(Outbox.idempotency_key).where(Outbox.idempotency_key.in_(list(keys)))
        return set((await self.session.execute(stmt)).scalars())

    async def lapsed(self, sent_before: datetime, limit: int = 200) -> Sequence[CheckIn]:
        """Unanswered check-ins sent before a time, of active pairs not flagged yet."""
        stmt = (
            select(CheckIn)
            .join(Pair, Pair.id == CheckIn.pair_id)
            .where(
                Pair.status == PairStatus.ACTIVE,
                Pair.flagged.is_(False),
                CheckIn.sent_at.is_not(None),
                CheckIn.sent_at <= sent_before,
                CheckIn.answered_at.is_(None),
            )
            .order_by(CheckIn.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()


class MatchRepo(Repository):
    """Match rounds and officers' requests for a peer."""

    async def add_round(self, programme_id: int | None, now: datetime) -> MatchRound:
        found = MatchRound(programme_id=programme_id, created_at=now, unmatched=[])
        self.session.add(found)
        await self.session.flush()
        return found

    async def get_round(self, round_id: int) -> MatchRound | None:
        return await self.session.get(MatchRound, round_id)

    async def latest_round(self, programme_id: int | None) -> MatchRound | None:
        stmt = select(MatchRound).order_by(MatchRound.id.desc()).limit(1)
        if programme_id is not None:
            stmt = stmt.where(MatchRound.programme_id == programme_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def round_officers(self, programme_id: int | None) -> list[RoundOfficer]:
        """Who takes part in a round, as columns: active, consenting officers (not
        coordinators) with an authority, of the programme (home or membership; all if None)."""
        stmt = (
            select(
                Officer.id,
                Officer.name,
                Officer.email,
                Authority.id,
                Authority.name,
                Authority.country,
                Authority.population,
                Officer.languages,
                Officer.sectors,
                Officer.wants,
                Officer.offers,
                Officer.mentor_capacity,
                Officer.created_at,
            )
            .join(Authority, Authority.id == Officer.authority_id)
            .where(
                Officer.role == Role.OFFICER,
                Officer.status == OfficerStatus.ACTIVE,
                Officer.consent_at.is_not(None),
            )
            .order_by(Officer.id)
        )
        if programme_id is not None:
            members = select(Membership.officer_id).where(Membership.programme_id == programme_id)
            stmt = stmt.where(or_(Officer.programme_id == programme_id, Officer.id.in_(members)))
        return [RoundOfficer(*row) for row in (await self.session.execute(stmt)).all()]

    async def round_people(self, round_id: int) -> dict[int, Officer]:
        """The officers named by a round's pairs, by id, in one query (not one per pair)."""
        of_round = select(Pair.learner_id, Pair.mentor_id).where(Pair.round_id == round_id)
        named = of_round.subquery()
        learners, mentors = select(named.c.learner_id), select(named.c.mentor_id)
        stmt = select(Officer).where(or_(Officer.id.in_(learners), Officer.id.in_(mentors)))
        return {o.id: o for o in (await self.session.execute(stmt)).scalars().all()}

    async def open_requests(self, officer_ids: Collection[int] | None = None) -> list[MatchRequest]:
        stmt = select(MatchRequest).where(MatchRequest.status == "open").order_by(MatchRequest.id)
        if officer_ids is not None:
            stmt = stmt.where(MatchRequest.officer_id.in_(list(officer_ids)))
        return list((await self.session.execute(stmt)).scalars().all())

    async def request(self, officer_id: int, topic: str | None, now: datetime) -> bool:
        """Queue a request for a peer; False if the same one is already open.

        The officer's row is locked first, so the same request sent twice at once (two
        devices, a double tap) is queued once: the second waits and then finds the first."""
        await self.session.execute(
            select(Officer.id).where(Officer.id == officer_id).with_for_update()
        )
        stmt = select(MatchRequest.id).where(
            MatchRequest.officer_id == officer_id,
            MatchRequest.status == "open",
            MatchRequest.topic.is_(None) if topic is None else MatchRequest.topic == topic,
        )
        if (await self.session.execute(stmt)).first() is not None:
            return False
        self.session.add(
            MatchRequest(officer_id=officer_id, topic=topic, status="open", created_at=now)
        )
        await self.session.flush()
        return True

    async def close_request(self, officer_id: int, topic: str) -> None:
        """Mark the request a new pair answers as matched: the one on its topic, else 'any'."""
        open_ = await self.open_requests([officer_id])
        exact = [r for r in open_ if r.topic == topic]
        chosen = exact or [r for r in open_ if r.topic is None]
        if chosen:
            chosen[0].status = "matched"
            await self.session.flush()
