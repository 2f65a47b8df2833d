"""One-time codes: join invites (deep links) and account-link codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update

from storage.models import Invite
from storage.repositories.base import Repository


class InviteRepo(Repository):
    """Invites are used once: the first caller wins, whoever else holds the code."""

    async def use(self, code: str, purpose: str, now: datetime) -> Invite | None:
        """Mark a valid, unused, unexpired code used and return it; None when it is not.

        One conditional UPDATE: two people sending the same code at the same moment cannot
        both read it unused (each transaction's snapshot would say so) and both take it.
        """
        result = await self.session.execute(
            update(Invite)
            .where(
                Invite.code == code[:64],
                Invite.purpose == purpose,
                Invite.used_at.is_(None),
                or_(Invite.expires_at.is_(None), Invite.expires_at >= now),
            )
            .values(used_at=now)
            .returning(Invite.id)
            .execution_options(synchronize_session=False)
        )
        found = result.scalar_one_or_none()
        if found is None:
            return None
        stmt = select(Invite).where(Invite.id == found).execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one()

    async def release(self, invite_id: int) -> None:
        """Give back a code taken in this transaction that turned out not to apply."""
        await self.session.execute(
            update(Invite)
            .where(Invite.id == invite_id)
            .values(used_at=None)
            .execution_options(synchronize_session=False)
        )

    async def add_link_code(self, code: str, officer_id: int, expires_at: datetime) -> Invite:
        """A one-time code that joins another platform's account to this officer."""
        invite = Invite(code=code, purpose="link", officer_id=officer_id, expires_at=expires_at)
        self.session.add(invite)
        return invite
