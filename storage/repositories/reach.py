"""What the last delivery to each officer says about whether they can be reached."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select

from storage.models import Outbox, OutboxStatus
from storage.repositories.base import Repository


class ReachRepo(Repository):
    """Officers whose latest finished delivery was refused for good (blocked the bot, left)."""

    async def refused(self, officer_ids: Collection[int]) -> dict[int, str]:
        """officer id -> the platform's error, when their newest sent-or-refused row was refused."""
        if not officer_ids:
            return {}
        finished = (OutboxStatus.SENT, OutboxStatus.UNDELIVERABLE)
        newest = (
            select(func.max(Outbox.id))
            .where(Outbox.officer_id.in_(list(officer_ids)), Outbox.status.in_(finished))
            .group_by(Outbox.officer_id)
        )
        stmt = select(Outbox.officer_id, Outbox.status, Outbox.error).where(Outbox.id.in_(newest))
        return {
            int(officer_id): str(error or "")
            for officer_id, status, error in (await self.session.execute(stmt)).all()
            if officer_id is not None and status == OutboxStatus.UNDELIVERABLE
        }

    async def refused_of(self, purpose: str, ref_id: int) -> dict[int, str]:
        """officer id -> error of the rows of one source (an announcement) refused for good."""
        stmt = select(Outbox.officer_id, Outbox.error).where(
            Outbox.purpose == purpose,
            Outbox.ref_id == ref_id,
            Outbox.status == OutboxStatus.UNDELIVERABLE,
            Outbox.officer_id.is_not(None),
        )
        return {int(o or 0): str(e or "") for o, e in (await self.session.execute(stmt)).all()}
