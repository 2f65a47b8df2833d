"""What the dashboard's figures read: participants as plain rows (never officer objects, which
cost seconds at 20,000), pairs with their check-ins, asked check-ins, FAQ questions by day and
recent announcements of a set of programmes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, exists, or_, select

from storage.models import (
    Announcement,
    Authority,
    CheckIn,
    FaqQuery,
    Identity,
    Officer,
    Outbox,
    Pair,
)
from storage.repositories.base import Repository
from storage.repositories.console import QuestionRepo
from storage.repositories.faq import FaqQueryRepo
from storage.repositories.officers import in_programmes, participating


class ReportRepo(Repository):
    """The dashboard's reads, scoped to a set of programmes."""

    async def participants(self, ids: set[int]) -> list[tuple[int, str | None, list[str]]]:
        """(officer id, authority country, sectors) of every participant, by id."""
        stmt = (
            select(Officer.id, Authority.country, Officer.sectors)
            .outerjoin(Authority, Authority.id == Officer.authority_id)
            .where(*participating(ids))
            .order_by(Officer.id)
        )
        return [(i, c, list(s or [])) for i, c, s in (await self.session.execute(stmt)).all()]

    async def participant_platforms(self, ids: set[int]) -> list[tuple[int, str]]:
        """(officer id, platform) of every chat account of a participant."""
        stmt = (
            select(Identity.officer_id, Identity.platform)
            .join(Officer, Officer.id == Identity.officer_id)
            .where(*participating(ids))
            .distinct()
        )
        rows = (await self.session.execute(stmt)).all()
        return [(i, p) for i, p in rows if i is not None]

    async def pairs_with_checkins(
        self, ids: set[int]
    ) -> tuple[list[Pair], dict[int, list[CheckIn]]]:
        """The programmes' pairs by id, and each pair's check-ins by period."""
        stmt = select(Pair).where(Pair.programme_id.in_(ids)).order_by(Pair.id)
        pairs = list((await self.session.execute(stmt)).scalars().all())
        by_pair: dict[int, list[CheckIn]] = {p.id: [] for p in pairs}
        if pairs:
            rows = await self.session.execute(
                select(CheckIn)
                .join(Pair, Pair.id == CheckIn.pair_id)
                .where(Pair.programme_id.in_(ids))
                .order_by(CheckIn.pair_id, CheckIn.period)
            )
            for checkin in rows.scalars():
                by_pair[checkin.pair_id].append(checkin)
        return pairs, by_pair

    async def asked_checkins(self, ids: set[int]) -> list[tuple[datetime, datetime | None]]:
        """(due, answered) of check-ins actually put to a pair (an outbox row exists)."""
        asked_row = exists().where(Outbox.purpose == "checkin", Outbox.ref_id == CheckIn.id)
        stmt = (
            select(CheckIn.due_at, CheckIn.answered_at)
            .join(Pair, Pair.id == CheckIn.pair_id)
            .where(Pair.programme_id.in_(ids), CheckIn.sent_at.is_not(None), asked_row)
        )
        return [(d, a) for d, a in (await self.session.execute(stmt)).all()]

    def _faq_visible(self, ids: set[int], default_id: int | None) -> ColumnElement[bool]:
        """The same visibility as the unanswered-questions list: these programmes' officers'
        questions (and, for the first programme, those of people not joined yet)."""
        members = select(Officer.id).where(in_programmes(ids))
        visible: ColumnElement[bool] = FaqQuery.officer_id.in_(members)
        if default_id is not None and default_id in ids:
            visible = or_(visible, FaqQuery.officer_id.is_(None))
        return visible

    async def helpful_counts(
        self, ids: set[int], default_id: int | None
    ) -> dict[str, dict[str, int]]:
        """Per FAQ entry, the yes/no ratings of these programmes' questions."""
        visible = self._faq_visible(ids, default_id)
        return await FaqQueryRepo(self.session).helpful_counts(visible)

    async def question_times(
        self, ids: set[int], default_id: int | None, since: datetime, until: datetime
    ) -> list[datetime]:
        """When these programmes' officers asked the FAQ (choices of a suggestion left out)."""
        stmt = select(FaqQuery.created_at).where(
            self._faq_visible(ids, default_id),
            FaqQuery.created_at >= since,
            FaqQuery.created_at <= until,
            FaqQuery.outcome != "picked",
        )
        return list((await self.session.execute(stmt)).scalars())

    async def unanswered(self, ids: set[int], limit: int = 500) -> Sequence[FaqQuery]:
        """Questions with no answer yet, newest first (see `QuestionRepo.unanswered`)."""
        return await QuestionRepo(self.session).unanswered(limit, ids)

    async def recent_announcements(self, ids: set[int], limit: int) -> list[Announcement]:
        """The programmes' latest announcements, newest first."""
        stmt = (
            select(Announcement)
            .where(Announcement.programme_id.in_(ids))
            .order_by(Announcement.id.desc())
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars().all())
