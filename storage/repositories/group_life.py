"""A group's life after its introduction: where its spaces are, its activity and escalation,
attendance at its sessions, its notes and its study visit requests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select, update

from storage.models import (
    GroupMember,
    GroupNote,
    GroupSession,
    GroupSpace,
    PeerGroup,
    SessionAttendance,
    StudyVisit,
)
from storage.repositories.base import Repository

LIVE = ("introduced", "active")


class GroupLifeRepo(Repository):
    """Spaces looked up by chat, activity, attendance, notes and study visits of groups."""

    # -- spaces ----------------------------------------------------------------------------

    async def space_at(
        self, platform: str, chat_id: str, thread_id: str | None
    ) -> GroupSpace | None:
        """The group space a message was written in (a Slack channel, a Telegram topic)."""
        stmt = select(GroupSpace).where(
            GroupSpace.platform == platform,
            GroupSpace.chat_id == chat_id,
            or_(GroupSpace.thread_id == (thread_id or ""), GroupSpace.thread_id == ""),
        )
        rows = (await self.session.execute(stmt)).scalars().all()
        exact = [r for r in rows if r.thread_id == (thread_id or "")]
        found = exact or list(rows)
        return found[0] if found else None

    async def set_invite_link(self, group_id: int, platform: str, link: str) -> None:
        await self.session.execute(
            update(GroupSpace)
            .where(GroupSpace.group_id == group_id, GroupSpace.platform == platform)
            .values(invite_link=link[:300])
            .execution_options(synchronize_session=False)
        )

    # -- groups of a member ------------------------------------------------------------------

    async def live_groups_of(self, officer_id: int) -> Sequence[PeerGroup]:
        """The introduced or active groups an officer holds a seat in, newest first."""
        stmt = (
            select(PeerGroup)
            .join(GroupMember, GroupMember.group_id == PeerGroup.id)
            .where(GroupMember.officer_id == officer_id, PeerGroup.status.in_(LIVE))
            .order_by(PeerGroup.id.desc())
        )
        found = (await self.session.execute(stmt)).scalars().all()
        return list({g.id: g for g in found}.values())  # one seat per officer, but be sure

    async def seat(self, group_id: int, officer_id: int) -> GroupMember | None:
        stmt = select(GroupMember).where(
            GroupMember.group_id == group_id, GroupMember.officer_id == officer_id
        )
        return (await self.session.execute(stmt.limit(1))).scalars().first()

    async def touch(self, group_id: int, now: datetime) -> None:
        """Record a sign of life of a group."""
        await self.session.execute(
            update(PeerGroup)
            .where(PeerGroup.id == group_id)
            .values(last_activity_at=now)
            .execution_options(synchronize_session=False)
        )

    async def mark_escalated(self, group_id: int, now: datetime) -> bool:
        """Take the right to tell the coordinators about a silent group (False: done already)."""
        result = await self.session.execute(
            update(PeerGroup)
            .where(PeerGroup.id == group_id, PeerGroup.escalated_at.is_(None))
            .values(escalated_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def clear_escalation(self, group_id: int) -> None:
        await self.session.execute(
            update(PeerGroup)
            .where(PeerGroup.id == group_id)
            .values(escalated_at=None)
            .execution_options(synchronize_session=False)
        )

    # -- sessions and attendance -------------------------------------------------------------

    async def sessions(self, group_id: int) -> Sequence[GroupSession]:
        stmt = (
            select(GroupSession).where(GroupSession.group_id == group_id).order_by(GroupSession.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def held_unasked(self, before: datetime, limit: int) -> Sequence[GroupSession]:
        """Scheduled sessions that started before `before` (attendance is now due)."""
        stmt = (
            select(GroupSession)
            .where(GroupSession.status == "scheduled", GroupSession.starts_at <= before)
            .order_by(GroupSession.starts_at, GroupSession.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def mark_held(self, session_id: int) -> bool:
        """A scheduled session took place (False: another process marked it first)."""
        result = await self.session.execute(
            update(GroupSession)
            .where(GroupSession.id == session_id, GroupSession.status == "scheduled")
            .values(status="held")
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def set_attendance(
        self, session_id: int, officer_id: int, present: bool, by: int | None, now: datetime
    ) -> None:
        found = await self.session.get(SessionAttendance, (session_id, officer_id))
        if found is None:
            found = SessionAttendance(session_id=session_id, officer_id=officer_id)
            self.session.add(found)
        found.present, found.recorded_by, found.recorded_at = present, by, now
        await self.session.flush()

    async def attendance(self, session_id: int) -> dict[int, bool]:
        stmt = select(SessionAttendance).where(SessionAttendance.session_id == session_id)
        return {a.officer_id: a.present for a in (await self.session.execute(stmt)).scalars()}

    # -- notes -----------------------------------------------------------------------------

    async def add_note(self, note: GroupNote) -> GroupNote:
        self.session.add(note)
        await self.session.flush()
        return note

    async def notes(self, group_id: int, limit: int = 20) -> Sequence[GroupNote]:
        """A group's notes, newest first."""
        stmt = (
            select(GroupNote)
            .where(GroupNote.group_id == group_id)
            .order_by(GroupNote.created_at.desc(), GroupNote.id.desc())
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    # -- study visits ----------------------------------------------------------------------

    async def add_visit(self, visit: StudyVisit) -> StudyVisit:
        self.session.add(visit)
        await self.session.flush()
        return visit

    async def get_visit(self, visit_id: int) -> StudyVisit | None:
        return await self.session.get(StudyVisit, visit_id)

    async def decide_visit(
        self, visit_id: int, status: str, by: int | None, reason: str | None, now: datetime
    ) -> bool:
        """Approve or decline a request still waiting (False: someone decided first)."""
        result = await self.session.execute(
            update(StudyVisit)
            .where(StudyVisit.id == visit_id, StudyVisit.status == "requested")
            .values(status=status, decided_by=by, reason=reason, decided_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def visits(self, group_id: int | None = None) -> Sequence[StudyVisit]:
        stmt = select(StudyVisit).order_by(StudyVisit.id)
        if group_id is not None:
            stmt = stmt.where(StudyVisit.group_id == group_id)
        return (await self.session.execute(stmt)).scalars().all()
