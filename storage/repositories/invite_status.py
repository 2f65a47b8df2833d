"""Join invites with their authority, for `peerbot invites list`."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from storage.models import Authority, Invite
from storage.repositories.base import Repository


class InviteListRepo(Repository):
    """Invites of one purpose, oldest first, with the authority they join."""

    async def with_authority(
        self, purpose: str = "join", limit: int = 10_000
    ) -> Sequence[tuple[Invite, Authority | None]]:
        stmt = (
            select(Invite, Authority)
            .outerjoin(Authority, Authority.id == Invite.authority_id)
            .where(Invite.purpose == purpose)
            .order_by(Invite.id)
            .limit(limit)
        )
        return [(i, a) for i, a in (await self.session.execute(stmt)).all()]
