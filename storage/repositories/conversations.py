"""Conversation state of multi-step flows, kept in the database."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete

from storage.models import Conversation, utcnow
from storage.repositories.base import Repository


class ConversationRepo(Repository):
    """Read and write the flow step of an identity."""

    async def get(self, identity_id: int) -> Conversation | None:
        """The open flow of this identity, if any."""
        return await self.session.get(Conversation, identity_id)

    async def set(self, identity_id: int, flow: str, step: str, data: Mapping[str, Any]) -> None:
        """Start or move a flow to a step with its data."""
        conv = await self.session.get(Conversation, identity_id)
        if conv is None:
            conv = Conversation(identity_id=identity_id, flow=flow, step=step, data=dict(data))
            self.session.add(conv)
        else:
            conv.flow, conv.step, conv.data, conv.updated_at = flow, step, dict(data), utcnow()
        await self.session.flush()

    async def clear(self, identity_id: int) -> None:
        """End the flow of this identity."""
        await self.session.execute(
            delete(Conversation).where(Conversation.identity_id == identity_id)
        )
