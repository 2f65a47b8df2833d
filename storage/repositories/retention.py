"""Retention: what is no longer needed is blanked or deleted after its time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update

from storage.models import Conversation, Outbox, OutboxStatus, ProcessedUpdate
from storage.repositories.base import Repository


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


class RetentionRepo(Repository):
    """Old message bodies, update ids and abandoned flows."""

    async def blank_sent_bodies(self, before: datetime) -> int:
        """Forget the text and chat of messages sent (or refused for good) before `before`."""
        result = await self.session.execute(
            update(Outbox)
            .where(
                Outbox.status.in_([OutboxStatus.SENT, OutboxStatus.UNDELIVERABLE]),
                Outbox.created_at < before,
                Outbox.chat_id != "",
            )
            .values(payload={}, chat_id="")
            .execution_options(synchronize_session=False)
        )
        return _count(result)

    async def drop_update_ids(self, before: datetime) -> int:
        """Platform update ids kept for deduplication, received before `before`."""
        result = await self.session.execute(
            delete(ProcessedUpdate).where(ProcessedUpdate.created_at < before)
        )
        return _count(result)

    async def drop_stale_flows(self, before: datetime) -> int:
        """Conversations (flow state) untouched since `before`."""
        result = await self.session.execute(
            delete(Conversation).where(Conversation.updated_at < before)
        )
        return _count(result)
