"""Learning cycles, applications, peer-learning groups, their members, rounds and spaces."""

from __future__ import annotations

import builtins
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update

from storage.models import (
    CycleApplication,
    GroupCheckIn,
    GroupMember,
    GroupRound,
    GroupSession,
    GroupSpace,
    LearningCycle,
    Officer,
    PeerGroup,
    Programme,
    SessionReminder,
    SessionVote,
)
from storage.repositories.base import Repository

LIVE = ("approved", "introduced", "active")
FAILED = ("failed",)


class CycleRepo(Repository):
    """Learning cycles and the applications to them."""

    async def add(self, cycle: LearningCycle) -> LearningCycle:
        self.session.add(cycle)
        await self.session.flush()
        return cycle

    async def get(self, cycle_id: int) -> LearningCycle | None:
        return await self.session.get(LearningCycle, cycle_id)

    async def programme(self, programme_id: int | None) -> Programme | None:
        return await self.session.get(Programme, programme_id) if programme_id else None

    async def list(self, programme_id: int | None = None) -> Sequence[LearningCycle]:
        stmt = select(LearningCycle).order_by(LearningCycle.starts_on, LearningCycle.id)
        if programme_id is not None:
            stmt = stmt.where(LearningCycle.programme_id == programme_id)
        return (await self.session.execute(stmt)).scalars().all()

    async def open_for(
        self, programme_ids: Collection[int], now: datetime
    ) -> Sequence[LearningCycle]:
        """Cycles of these programmes that take applications (open, not yet ended)."""
        stmt = (
            select(LearningCycle)
            .where(
                LearningCycle.programme_id.in_(list(programme_ids)),
                LearningCycle.status == "open",
                LearningCycle.ends_on > now,
            )
            .order_by(LearningCycle.starts_on, LearningCycle.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def application(self, cycle_id: int, officer_id: int) -> CycleApplication | None:
        stmt = select(CycleApplication).where(
            CycleApplication.cycle_id == cycle_id, CycleApplication.officer_id == officer_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def apply(
        self,
        cycle_id: int,
        officer_id: int,
        wants: builtins.list[str],
        offers: builtins.list[str],
        capacity: int,
        source: str,
    ) -> tuple[CycleApplication, bool]:
        """Create or replace an officer's application; True when it is new."""
        found = await self.application(cycle_id, officer_id)
        if found is None:
            found = CycleApplication(cycle_id=cycle_id, officer_id=officer_id)
            self.session.add(found)
        new = found.id is None
        found.wants, found.offers, found.capacity, found.source = wants, offers, capacity, source
        await self.session.flush()
        return found, new

    async def applications(self, cycle_id: int) -> builtins.list[tuple[CycleApplication, Officer]]:
        stmt = (
            select(CycleApplication, Officer)
            .join(Officer, Officer.id == CycleApplication.officer_id)
            .where(CycleApplication.cycle_id == cycle_id)
            .order_by(CycleApplication.id)
        )
        return [(a, o) for a, o in (await self.session.execute(stmt)).all()]

    async def count_applications(self, cycle_id: int) -> int:
        return len(await self.applications(cycle_id))


class GroupRepo(Repository):
    """Peer-learning groups, their members (authority seats), rounds and spaces."""

    async def get(self, group_id: int) -> PeerGroup | None:
        return await self.session.get(PeerGroup, group_id)

    async def add_round(self, found: GroupRound) -> GroupRound:
        self.session.add(found)
        await self.session.flush()
        return found

    async def get_round(self, round_id: int) -> GroupRound | None:
        return await self.session.get(GroupRound, round_id)

    async def latest_round(self, cycle_id: int) -> GroupRound | None:
        stmt = (
            select(GroupRound)
            .where(GroupRound.cycle_id == cycle_id)
            .order_by(GroupRound.id.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add(self, group: PeerGroup, members: Sequence[GroupMember]) -> PeerGroup:
        self.session.add(group)
        await self.session.flush()
        for member in members:
            member.group_id = group.id
        self.session.add_all(list(members))
        await self.session.flush()
        return group

    async def list(
        self,
        cycle_id: int | None = None,
        statuses: Collection[str] | None = None,
        round_id: int | None = None,
    ) -> Sequence[PeerGroup]:
        stmt = select(PeerGroup).order_by(PeerGroup.id)
        if cycle_id is not None:
            stmt = stmt.where(PeerGroup.cycle_id == cycle_id)
        if statuses is not None:
            stmt = stmt.where(PeerGroup.status.in_(list(statuses)))
        if round_id is not None:
            stmt = stmt.where(PeerGroup.round_id == round_id)
        return (await self.session.execute(stmt)).scalars().all()

    async def members(self, group_id: int) -> builtins.list[tuple[GroupMember, Officer | None]]:
        stmt = (
            select(GroupMember, Officer)
            .outerjoin(Officer, Officer.id == GroupMember.officer_id)
            .where(GroupMember.group_id == group_id)
            .order_by(GroupMember.role.desc(), GroupMember.id)
        )
        return [(m, o) for m, o in (await self.session.execute(stmt)).all()]

    async def drop_proposed(self, cycle_id: int) -> int:
        """Delete proposals nobody reviewed (a new round replaces them)."""
        result = await self.session.execute(
            delete(PeerGroup).where(PeerGroup.cycle_id == cycle_id, PeerGroup.status == "proposed")
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def move(self, group_id: int, from_: Collection[str], to: str, **values: object) -> bool:
        """Change a group's status only from one of `from_` (False: someone else did first)."""
        result = await self.session.execute(
            update(PeerGroup)
            .where(PeerGroup.id == group_id, PeerGroup.status.in_(list(from_)))
            .values(status=to, **values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def status_locked(self, group_id: int) -> str | None:
        """The group's status, its row locked until the transaction ends (PostgreSQL; SQLite
        has one writer at a time): a seat change and the introduction wait for each other."""
        stmt = select(PeerGroup.status).where(PeerGroup.id == group_id).with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def seats(
        self, cycle_id: int, statuses: Collection[str]
    ) -> builtins.list[tuple[int, int, str]]:
        """(group, authority, role) of the cycle's groups in these states."""
        stmt = (
            select(GroupMember.group_id, GroupMember.authority_id, GroupMember.role)
            .join(PeerGroup, PeerGroup.id == GroupMember.group_id)
            .where(PeerGroup.cycle_id == cycle_id, PeerGroup.status.in_(list(statuses)))
            .distinct()
        )
        return [(int(g), int(a), str(r)) for g, a, r in (await self.session.execute(stmt)).all()]

    async def failed_authorities(self) -> builtins.list[set[int]]:
        """The authorities of every group that failed, group by group (never grouped again)."""
        stmt = (
            select(GroupMember.group_id, GroupMember.authority_id)
            .join(PeerGroup, PeerGroup.id == GroupMember.group_id)
            .where(PeerGroup.status.in_(FAILED))
        )
        found: dict[int, set[int]] = {}
        for group_id, authority_id in (await self.session.execute(stmt)).all():
            found.setdefault(int(group_id), set()).add(int(authority_id))
        return list(found.values())

    async def approved(self, limit: int) -> Sequence[PeerGroup]:
        stmt = select(PeerGroup).where(PeerGroup.status == "approved").order_by(PeerGroup.id)
        return (await self.session.execute(stmt.limit(limit))).scalars().all()

    # -- spaces ----------------------------------------------------------------------------

    async def reserve_space(
        self, group_id: int, platform: str, now: datetime, lease: timedelta
    ) -> bool:
        """Take the right to create a group's space on a platform (a dead holder's is taken)."""
        values = {"group_id": group_id, "platform": platform, "claimed_at": now, "created_at": now}
        stmt = self.insert_ignore(GroupSpace.__table__, values, ["group_id", "platform"])  # type: ignore[arg-type]
        if (await self.session.execute(stmt)).rowcount:  # type: ignore[attr-defined]
            return True
        result = await self.session.execute(
            update(GroupSpace)
            .where(
                GroupSpace.group_id == group_id,
                GroupSpace.platform == platform,
                GroupSpace.chat_id.is_(None),
                GroupSpace.claimed_at < now - lease,
            )
            .values(claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def record_space(
        self, group_id: int, platform: str, chat_id: str, thread_id: str | None
    ) -> None:
        await self.session.execute(
            update(GroupSpace)
            .where(GroupSpace.group_id == group_id, GroupSpace.platform == platform)
            .values(chat_id=chat_id, thread_id=thread_id or "")
            .execution_options(synchronize_session=False)
        )

    async def release_space(self, group_id: int, platform: str) -> None:
        await self.session.execute(
            delete(GroupSpace).where(
                GroupSpace.group_id == group_id,
                GroupSpace.platform == platform,
                GroupSpace.chat_id.is_(None),
            )
        )

    async def spaces(self, group_id: int) -> Sequence[GroupSpace]:
        stmt = select(GroupSpace).where(GroupSpace.group_id == group_id).order_by(GroupSpace.id)
        return (await self.session.execute(stmt)).scalars().all()

    # -- sessions --------------------------------------------------------------------------

    async def add_session(self, session: GroupSession) -> GroupSession:
        self.session.add(session)
        await self.session.flush()
        return session

    async def get_session(self, session_id: int) -> GroupSession | None:
        return await self.session.get(GroupSession, session_id)

    async def toggle_vote(self, session_id: int, officer_id: int, slot: int) -> bool:
        """Add the vote, or take it back when it was there; True when it is now cast."""
        found = await self.session.get(SessionVote, (session_id, officer_id, slot))
        if found is not None:
            await self.session.delete(found)
            await self.session.flush()
            return False
        self.session.add(SessionVote(session_id=session_id, officer_id=officer_id, slot=slot))
        await self.session.flush()
        return True

    async def my_votes(self, session_id: int, officer_id: int) -> set[int]:
        stmt = select(SessionVote.slot).where(
            SessionVote.session_id == session_id, SessionVote.officer_id == officer_id
        )
        return {int(s) for s in (await self.session.execute(stmt)).scalars()}

    async def vote_counts(self, session_id: int) -> dict[int, int]:
        stmt = (
            select(SessionVote.slot, func.count())
            .where(SessionVote.session_id == session_id)
            .group_by(SessionVote.slot)
        )
        return {int(s): int(n) for s, n in (await self.session.execute(stmt)).all()}

    async def add_reminder(
        self, session_id: int, officer_id: int, kind: str, due_at: datetime
    ) -> None:
        values = {"session_id": session_id, "officer_id": officer_id, "kind": kind}
        stmt = self.insert_ignore(
            SessionReminder.__table__,  # type: ignore[arg-type]
            {**values, "due_at": due_at},
            ["session_id", "officer_id", "kind"],
        )
        await self.session.execute(stmt)

    async def due_reminders(self, now: datetime, limit: int) -> Sequence[SessionReminder]:
        stmt = (
            select(SessionReminder)
            .where(SessionReminder.sent_at.is_(None), SessionReminder.due_at <= now)
            .order_by(SessionReminder.due_at, SessionReminder.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def mark_reminded(self, reminder_id: int, now: datetime) -> bool:
        """Claim a reminder for sending (False: another process took it)."""
        result = await self.session.execute(
            update(SessionReminder)
            .where(SessionReminder.id == reminder_id, SessionReminder.sent_at.is_(None))
            .values(sent_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    # -- check-ins -------------------------------------------------------------------------

    async def running(self, limit: int, after: int = 0) -> Sequence[PeerGroup]:
        """Introduced groups (the ones that get check-ins), by id, those after `after` (a page;
        the next starts after the last id of this one)."""
        stmt = (
            select(PeerGroup)
            .where(PeerGroup.status.in_(("introduced", "active")), PeerGroup.id > after)
            .order_by(PeerGroup.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def add_checkin(self, group_id: int, officer_id: int, period: int, due: datetime) -> None:
        values = {"group_id": group_id, "officer_id": officer_id, "period": period, "due_at": due}
        stmt = self.insert_ignore(
            GroupCheckIn.__table__,  # type: ignore[arg-type]
            values,
            ["group_id", "officer_id", "period"],
        )
        await self.session.execute(stmt)

    async def unsent_checkins(self, now: datetime, limit: int) -> Sequence[GroupCheckIn]:
        stmt = (
            select(GroupCheckIn)
            .where(GroupCheckIn.sent_at.is_(None), GroupCheckIn.due_at <= now)
            .order_by(GroupCheckIn.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def mark_checkin_sent(self, checkin_id: int, now: datetime) -> bool:
        result = await self.session.execute(
            update(GroupCheckIn)
            .where(GroupCheckIn.id == checkin_id, GroupCheckIn.sent_at.is_(None))
            .values(sent_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def get_checkin(self, checkin_id: int) -> GroupCheckIn | None:
        return await self.session.get(GroupCheckIn, checkin_id)

    async def checkins(self, group_id: int) -> Sequence[GroupCheckIn]:
        stmt = (
            select(GroupCheckIn)
            .where(GroupCheckIn.group_id == group_id)
            .order_by(GroupCheckIn.period, GroupCheckIn.id)
        )
        return (await self.session.execute(stmt)).scalars().all()
