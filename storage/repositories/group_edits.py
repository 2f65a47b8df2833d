"""Coordinator edits of group seats, seat takeovers, and the per-cycle figures of groups.

A seat (`group_member`) belongs to an authority; its officer can change. Handing a seat over
moves the leaving officer's open check-ins, session votes and unsent reminders to the colleague
who takes it, so the group's history stays with the authority's seat.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import aliased

from storage.models import (
    GroupCheckIn,
    GroupMember,
    GroupSession,
    Membership,
    Officer,
    OfficerStatus,
    Pair,
    PairSpace,
    PairStatus,
    PeerGroup,
    SessionReminder,
    SessionVote,
)
from storage.repositories.base import Repository


class GroupEditRepo(Repository):
    """Seats of groups as coordinators edit them and as officers hand them over."""

    async def add_seat(self, members: Sequence[GroupMember]) -> None:
        self.session.add_all(list(members))
        await self.session.flush()

    async def drop_seat(self, group_id: int, authority_id: int) -> int:
        """Remove an authority from a group (every officer holding its seat)."""
        result = await self.session.execute(
            delete(GroupMember).where(
                GroupMember.group_id == group_id, GroupMember.authority_id == authority_id
            )
        )
        await self.session.flush()
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def move_seat(self, group_id: int, authority_id: int, to_group: int, role: str) -> int:
        """Move an authority's seat (all its officers) to another group, in a role."""
        result = await self.session.execute(
            update(GroupMember)
            .where(GroupMember.group_id == group_id, GroupMember.authority_id == authority_id)
            .values(group_id=to_group, role=role)
            .execution_options(synchronize_session=False)
        )
        await self.session.flush()
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def seats_of_officer(
        self, officer_id: int, statuses: Collection[str]
    ) -> list[tuple[GroupMember, PeerGroup]]:
        """The seats an officer holds in groups in these states."""
        stmt = (
            select(GroupMember, PeerGroup)
            .join(PeerGroup, PeerGroup.id == GroupMember.group_id)
            .where(GroupMember.officer_id == officer_id, PeerGroup.status.in_(list(statuses)))
            .order_by(PeerGroup.id)
        )
        return [(m, g) for m, g in (await self.session.execute(stmt)).all()]

    async def seats_of_authority(
        self, authority_id: int, statuses: Collection[str]
    ) -> list[tuple[GroupMember, PeerGroup]]:
        """Every officer's row of an authority's seats in groups in these states."""
        stmt = (
            select(GroupMember, PeerGroup)
            .join(PeerGroup, PeerGroup.id == GroupMember.group_id)
            .where(GroupMember.authority_id == authority_id, PeerGroup.status.in_(list(statuses)))
            .order_by(PeerGroup.id, GroupMember.id)
        )
        return [(m, g) for m, g in (await self.session.execute(stmt)).all()]

    async def open_pair_chats(self, officer_id: int) -> set[tuple[str, str]]:
        """(platform, chat) of the spaces of the officer's pairs still open: a Telegram pair's
        topic lives in the same supergroup as the groups'."""
        stmt = (
            select(PairSpace.platform, PairSpace.chat_id)
            .join(Pair, Pair.id == PairSpace.pair_id)
            .where(
                or_(Pair.learner_id == officer_id, Pair.mentor_id == officer_id),
                Pair.status.notin_([PairStatus.CLOSED, PairStatus.DECLINED]),
                PairSpace.chat_id.isnot(None),
            )
        )
        return {(str(p), str(c)) for p, c in (await self.session.execute(stmt)).all()}

    async def colleagues(
        self, authority_id: int, programme_id: int | None, but: Collection[int]
    ) -> Sequence[Officer]:
        """Active officers of an authority (in the programme when given), oldest first."""
        stmt = select(Officer).where(
            Officer.authority_id == authority_id,
            Officer.status == OfficerStatus.ACTIVE,
            Officer.consent_at.isnot(None),
            Officer.id.notin_(list(but) or [0]),
        )
        if programme_id is not None:
            joined = select(Membership.officer_id).where(Membership.programme_id == programme_id)
            stmt = stmt.where((Officer.programme_id == programme_id) | Officer.id.in_(joined))
        return (await self.session.execute(stmt.order_by(Officer.id))).scalars().all()

    async def hand_over(self, member: GroupMember, officer_id: int | None) -> None:
        """Give a seat to another officer (None: vacant); their history moves with it."""
        old = member.officer_id
        if officer_id is not None:
            already = await self.session.execute(
                select(GroupMember.id).where(
                    GroupMember.group_id == member.group_id, GroupMember.officer_id == officer_id
                )
            )
            if already.first() is not None:  # the colleague sits there already
                await self.session.delete(member)
                await self.session.flush()
                officer_id = None
            else:
                member.officer_id = officer_id
                await self.session.flush()
        else:
            member.officer_id = None
            await self.session.flush()
        if old is not None and officer_id is not None:
            await self._move_history(member.group_id, old, officer_id)

    async def _move_history(self, group_id: int, old: int, new: int) -> None:
        mine = aliased(GroupCheckIn)
        await self.session.execute(
            update(GroupCheckIn)
            .where(
                GroupCheckIn.group_id == group_id,
                GroupCheckIn.officer_id == old,
                ~exists().where(
                    mine.group_id == group_id,
                    mine.officer_id == new,
                    mine.period == GroupCheckIn.period,
                ),
            )
            .values(officer_id=new)
            .execution_options(synchronize_session=False)
        )
        sessions = select(GroupSession.id).where(GroupSession.group_id == group_id)
        vote = aliased(SessionVote)
        await self.session.execute(
            update(SessionVote)
            .where(
                SessionVote.officer_id == old,
                SessionVote.session_id.in_(sessions),
                ~exists().where(
                    vote.session_id == SessionVote.session_id,
                    vote.officer_id == new,
                    vote.slot == SessionVote.slot,
                ),
            )
            .values(officer_id=new)
            .execution_options(synchronize_session=False)
        )
        reminder = aliased(SessionReminder)
        await self.session.execute(
            update(SessionReminder)
            .where(
                SessionReminder.officer_id == old,
                SessionReminder.sent_at.is_(None),
                SessionReminder.session_id.in_(sessions),
                ~exists().where(
                    reminder.session_id == SessionReminder.session_id,
                    reminder.officer_id == new,
                    reminder.kind == SessionReminder.kind,
                ),
            )
            .values(officer_id=new)
            .execution_options(synchronize_session=False)
        )
        await self.session.flush()

    # -- figures of a cycle ----------------------------------------------------------------

    async def checkin_counts(self, group_ids: Collection[int]) -> dict[int, tuple[int, int]]:
        """Per group: check-ins asked and check-ins answered."""
        if not group_ids:
            return {}
        stmt = (
            select(
                GroupCheckIn.group_id,
                func.count(GroupCheckIn.sent_at),
                func.count(GroupCheckIn.answered_at),
            )
            .where(GroupCheckIn.group_id.in_(list(group_ids)))
            .group_by(GroupCheckIn.group_id)
        )
        rows = (await self.session.execute(stmt)).all()
        return {int(g): (int(a), int(b)) for g, a, b in rows}

    async def session_turnout(self, group_ids: Collection[int]) -> dict[int, tuple[int, int]]:
        """Per group: sessions held or planned, and the members who voted in them (summed)."""
        if not group_ids:
            return {}
        voters = select(SessionVote.session_id, SessionVote.officer_id).distinct().subquery()
        stmt = (
            select(GroupSession.group_id, GroupSession.id, func.count(voters.c.officer_id))
            .outerjoin(voters, voters.c.session_id == GroupSession.id)
            .where(GroupSession.group_id.in_(list(group_ids)))
            .group_by(GroupSession.group_id, GroupSession.id)
        )
        found: dict[int, tuple[int, int]] = {}
        for group_id, _, n in (await self.session.execute(stmt)).all():
            held, voted = found.get(int(group_id), (0, 0))
            found[int(group_id)] = (held + 1, voted + int(n))
        return found

    async def seat_counts(self, group_ids: Collection[int]) -> dict[int, tuple[int, int]]:
        """Per group: authority seats, and seats held by no active officer (vacant)."""
        if not group_ids:
            return {}
        stmt = (
            select(GroupMember.group_id, GroupMember.authority_id, Officer.status)
            .outerjoin(
                Officer,
                and_(Officer.id == GroupMember.officer_id),
            )
            .where(GroupMember.group_id.in_(list(group_ids)))
        )
        seats: dict[int, dict[int, bool]] = {}
        for group_id, authority_id, status in (await self.session.execute(stmt)).all():
            held = seats.setdefault(int(group_id), {})
            held[int(authority_id)] = held.get(int(authority_id), False) or (
                status == OfficerStatus.ACTIVE
            )
        return {g: (len(h), sum(not v for v in h.values())) for g, h in seats.items()}
