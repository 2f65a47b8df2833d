"""Introductions still waiting for an answer: which to remind and which to escalate."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from storage.models import Pair, PairStatus
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
