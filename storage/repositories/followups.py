"""Due follow-ups: introductions waiting for an answer, paused officers, silent pairs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select

from storage.models import CheckIn, Officer, OfficerStatus, Pair, PairStatus
from storage.repositories.base import Repository


class IntroFollowUpRepo(Repository):
    """Introduced pairs nobody finished accepting, found by their dated marks."""

    async def to_remind(self, introduced_before: datetime, limit: int = 200) -> Sequence[Pair]:
        """Introduced before a time, not reminded yet, oldest first."""
        stmt = (
            select(Pair)
            .where(
                Pair.status == PairStatus.INTRODUCED,
                Pair.introduced_at.is_not(None),
                Pair.introduced_at <= introduced_before,
                Pair.intro_reminded_at.is_(None),
            )
            .order_by(Pair.introduced_at, Pair.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def to_escalate(self, reminded_before: datetime, limit: int = 200) -> Sequence[Pair]:
        """Reminded before a time, still introduced, coordinators not told yet."""
        stmt = (
            select(Pair)
            .where(
                Pair.status == PairStatus.INTRODUCED,
                Pair.intro_reminded_at.is_not(None),
                Pair.intro_reminded_at <= reminded_before,
                Pair.intro_escalated_at.is_(None),
            )
            .order_by(Pair.intro_reminded_at, Pair.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()


class PauseRepo(Repository):
    """Officers who paused (or were paused), and pairs whose check-ins went unanswered."""

    async def due_to_resume(self, now: datetime, limit: int = 200) -> Sequence[Officer]:
        """Paused officers whose chosen date has come."""
        stmt = (
            select(Officer)
            .where(
                Officer.status == OfficerStatus.PAUSED,
                Officer.paused_until.is_not(None),
                Officer.paused_until <= now,
            )
            .order_by(Officer.paused_until, Officer.id)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def pairs_with_lapsed(
        self, sent_before: datetime, count: int, limit: int = 500
    ) -> list[int]:
        """Active pairs with at least `count` check-ins sent before a time (candidates only)."""
        stmt = (
            select(CheckIn.pair_id)
            .join(Pair, Pair.id == CheckIn.pair_id)
            .where(
                Pair.status == PairStatus.ACTIVE,
                CheckIn.sent_at.is_not(None),
                CheckIn.sent_at <= sent_before,
            )
            .group_by(CheckIn.pair_id)
            .having(func.count() >= count)
            .order_by(CheckIn.pair_id)
            .limit(limit)
        )
        return [int(p) for p in (await self.session.execute(stmt)).scalars()]
