"""What the coordinators' console reads and writes beyond the feature repositories: the audit
log, one programme's roster with its chat accounts, its invites, a question, a pair's check-ins."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import selectinload

from storage.models import (
    Announcement,
    AuditEntry,
    Authority,
    CheckIn,
    FaqQuery,
    Invite,
    Membership,
    Officer,
)
from storage.repositories.base import Repository
from storage.repositories.officers import OfficerRepo, ProgrammeRepo


class AuditRepo(Repository):
    """The console's audit log, newest first, always read for given programmes."""

    async def add(
        self,
        programme_id: int,
        officer_id: int | None,
        action: str,
        detail: dict[str, Any],
        now: datetime,
    ) -> AuditEntry:
        entry = AuditEntry(
            programme_id=programme_id,
            officer_id=officer_id,
            action=action,
            detail=detail,
            created_at=now,
        )
        self.session.add(entry)
        await self.session.flush()
        return entry

    async def recent(
        self, programme_ids: set[int], limit: int = 200
    ) -> Sequence[tuple[AuditEntry, Officer | None]]:
        stmt = (
            select(AuditEntry, Officer)
            .outerjoin(Officer, Officer.id == AuditEntry.officer_id)
            .where(AuditEntry.programme_id.in_(programme_ids))
            .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
        return [(a, o) for a, o in (await self.session.execute(stmt)).all()]


class ConsoleRepo(Repository):
    """Reads scoped to one programme for the console's pages."""

    async def roster(self, programme_id: int) -> Sequence[Officer]:
        """The programme's officers (home or member) with their authority and chat accounts."""
        members = select(Membership.officer_id).where(Membership.programme_id == programme_id)
        stmt = (
            select(Officer)
            .where((Officer.programme_id == programme_id) | Officer.id.in_(members))
            .options(selectinload(Officer.identities), selectinload(Officer.authority))
            .order_by(Officer.name, Officer.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def invites(self, programme_id: int) -> Sequence[tuple[Invite, Authority]]:
        """Join invites for the authorities that have an officer in the programme."""
        members = select(Membership.officer_id).where(Membership.programme_id == programme_id)
        authorities = select(Officer.authority_id).where(
            (Officer.programme_id == programme_id) | Officer.id.in_(members)
        )
        mine = or_(
            Invite.programme_id == programme_id,
            Invite.programme_id.is_(None) & Invite.authority_id.in_(authorities),
        )
        stmt = (
            select(Invite, Authority)
            .join(Authority, Authority.id == Invite.authority_id)
            .where(Invite.purpose == "join", mine)
            .order_by(Invite.id.desc())
            .limit(500)
        )
        return [(i, a) for i, a in (await self.session.execute(stmt)).all()]

    async def invite(self, programme_id: int, invite_id: int) -> Invite | None:
        """One join invite, when the programme's invite list shows it."""
        found = await self.session.get(Invite, invite_id)
        if found is None or found.purpose != "join":
            return None
        if found.programme_id == programme_id:
            return found
        shown = {i.id for i, _ in await self.invites(programme_id)}
        return found if found.programme_id is None and found.id in shown else None

    async def add_invite(self, invite: Invite) -> Invite:
        self.session.add(invite)
        await self.session.flush()
        return invite

    async def officer(self, programme_id: int, officer_id: int) -> Officer | None:
        """An officer of the programme (home or member), else None."""
        members = select(Membership.officer_id).where(Membership.programme_id == programme_id)
        stmt = select(Officer).where(
            Officer.id == officer_id,
            (Officer.programme_id == programme_id) | Officer.id.in_(members),
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def checkins(self, pair_id: int) -> Sequence[CheckIn]:
        stmt = select(CheckIn).where(CheckIn.pair_id == pair_id).order_by(CheckIn.period)
        return (await self.session.execute(stmt)).scalars().all()

    async def checkins_of(self, pair_ids: Sequence[int]) -> dict[int, list[CheckIn]]:
        """Check-ins of many pairs, oldest first, in one query per thousand pairs."""
        found: dict[int, list[CheckIn]] = {}
        for lo in range(0, len(pair_ids), 1000):
            stmt = (
                select(CheckIn)
                .where(CheckIn.pair_id.in_(list(pair_ids[lo : lo + 1000])))
                .order_by(CheckIn.pair_id, CheckIn.period)
            )
            for c in (await self.session.execute(stmt)).scalars():
                found.setdefault(c.pair_id, []).append(c)
        return found

    async def announcements(self, programme_id: int, limit: int = 50) -> Sequence[Announcement]:
        stmt = (
            select(Announcement)
            .where(Announcement.programme_id == programme_id)
            .order_by(Announcement.id.desc())
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()


class QuestionRepo(Repository):
    """Questions asked of the FAQ, as coordinators review them."""

    async def get(self, query_id: int) -> FaqQuery | None:
        return await self.session.get(FaqQuery, query_id)

    async def unanswered(
        self, limit: int = 20, programme_ids: set[int] | None = None
    ) -> Sequence[FaqQuery]:
        """Questions the FAQ could not answer (or answered unhelpfully) with no human answer
        yet, escalated first.

        With `programme_ids`, only questions of those programmes' officers (and, for the first
        programme, of people who have not joined yet): one programme never sees another's.
        """
        stmt = select(FaqQuery)
        if programme_ids is not None:
            members = select(Officer.id).where(
                OfficerRepo(self.session).in_programmes(programme_ids)
            )
            default = await ProgrammeRepo(self.session).default()
            visible: ColumnElement[bool] = FaqQuery.officer_id.in_(members)
            if default is not None and default.id in programme_ids:
                visible = or_(visible, FaqQuery.officer_id.is_(None))
            stmt = stmt.where(visible)
        stmt = (
            stmt.where(
                FaqQuery.answer_text.is_(None),
                FaqQuery.text != "",
                or_(FaqQuery.outcome == "unknown", FaqQuery.feedback == "no", FaqQuery.escalated),
            )
            .order_by(FaqQuery.escalated.desc(), FaqQuery.created_at.desc())
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()
