"""Announcements (with their optional question) and the answers officers gave."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, select

from storage.models import (
    Announcement,
    AnnouncementStatus,
    Officer,
    Outbox,
    OutboxStatus,
    PollAnswer,
)
from storage.repositories.base import Repository

SCHEDULED = AnnouncementStatus.SCHEDULED
SENDING = AnnouncementStatus.SENDING
DONE = AnnouncementStatus.DONE
CANCELLED = AnnouncementStatus.CANCELLED
PURPOSE = "announcement"
REMINDER = "reminder"


class AnnouncementRepo(Repository):
    """Coordinators' announcements: due, being sent, finished; polls and their answers."""

    async def add(self, announcement: Announcement) -> Announcement:
        self.session.add(announcement)
        await self.session.flush()
        return announcement

    async def get(self, announcement_id: int) -> Announcement | None:
        return await self.session.get(Announcement, announcement_id)

    async def locked(self, announcement_id: int) -> Announcement | None:
        """The announcement, locked for this transaction (None if another process holds it)."""
        stmt = (
            select(Announcement)
            .where(Announcement.id == announcement_id)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def recent(self, limit: int = 50) -> Sequence[Announcement]:
        stmt = select(Announcement).order_by(Announcement.id.desc()).limit(limit)
        return (await self.session.execute(stmt)).scalars().all()

    async def due(self, now: datetime) -> Sequence[Announcement]:
        """Scheduled announcements whose time has come (locked, skipping those others hold)."""
        stmt = (
            select(Announcement)
            .where(
                Announcement.status == SCHEDULED,
                (Announcement.send_at.is_(None)) | (Announcement.send_at <= now),
            )
            .order_by(Announcement.id)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def sending_ids(self) -> list[int]:
        stmt = select(Announcement.id).where(Announcement.status == SENDING)
        return list((await self.session.execute(stmt.order_by(Announcement.id))).scalars())

    async def polls_open(self, now: datetime) -> Sequence[Announcement]:
        """Sent polls still open to answers and not reminded yet."""
        stmt = select(Announcement).where(
            Announcement.poll.is_not(None),
            Announcement.status.in_([SENDING, DONE]),
            Announcement.closes_at > now,
            Announcement.reminded_at.is_(None),
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def polls_closed(self, now: datetime) -> Sequence[Announcement]:
        """Polls past their closing time whose results were not reported yet."""
        stmt = select(Announcement).where(
            Announcement.poll.is_not(None),
            Announcement.status.in_([SENDING, DONE]),
            Announcement.closes_at <= now,
            Announcement.results_sent_at.is_(None),
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def delivered_to(self, announcement_id: int) -> list[int]:
        """Officers the announcement reached (their row was sent)."""
        stmt = select(Outbox.officer_id).where(
            Outbox.purpose == PURPOSE,
            Outbox.ref_id == announcement_id,
            Outbox.status == OutboxStatus.SENT,
            Outbox.officer_id.is_not(None),
        )
        return [int(i) for i in (await self.session.execute(stmt)).scalars() if i is not None]

    async def officers(self, officer_ids: Sequence[int]) -> Sequence[Officer]:
        """The officers with these ids (their accounts loaded), to remind or report to."""
        ids = sorted(set(officer_ids))
        found: list[Officer] = []
        for start in range(0, len(ids), 1000):  # within every driver's limit of parameters
            stmt = select(Officer).where(Officer.id.in_(ids[start : start + 1000]))
            found += (await self.session.execute(stmt.order_by(Officer.id))).scalars().all()
        return found

    async def answer(self, announcement_id: int, officer_id: int) -> PollAnswer | None:
        stmt = select(PollAnswer).where(
            PollAnswer.announcement_id == announcement_id, PollAnswer.officer_id == officer_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def answer_or_new(
        self, announcement_id: int, officer_id: int, now: datetime
    ) -> PollAnswer:
        """The officer's answer row, created empty on first use (unique per officer), locked
        until the transaction ends: two presses of one officer (ticking two options of a
        multiple choice at once) take turns instead of one overwriting the other's tick."""
        values = {
            "announcement_id": announcement_id,
            "officer_id": officer_id,
            "choices": [],
            "answered_at": now,
        }
        await self.session.execute(
            self.insert_ignore(PollAnswer.__table__, values, ["announcement_id", "officer_id"])  # type: ignore[arg-type]
        )
        stmt = (
            select(PollAnswer)
            .where(
                PollAnswer.announcement_id == announcement_id, PollAnswer.officer_id == officer_id
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one()

    async def answers(self, announcement_id: int) -> Sequence[tuple[PollAnswer, Officer]]:
        """Every answer with its officer (authority loaded)."""
        stmt = (
            select(PollAnswer, Officer)
            .join(Officer, and_(Officer.id == PollAnswer.officer_id))
            .where(PollAnswer.announcement_id == announcement_id)
            .order_by(PollAnswer.answered_at)
        )
        return [(a, o) for a, o in (await self.session.execute(stmt)).all()]
