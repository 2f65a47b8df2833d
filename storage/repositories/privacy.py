"""What is stored about people who never consented, and its removal."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select

from storage.models import Conversation, Identity
from storage.repositories.base import Repository


class PreConsentRepo(Repository):
    """Identities with no officer: someone wrote to the bot but has not (yet) agreed.

    An identity whose onboarding conversation records `consent_at` has agreed and is only
    finishing onboarding: it is not pre-consent, and the stale-flow rule covers it.
    """

    async def _pending(self) -> list[tuple[int, datetime]]:
        """(identity id, last seen) of pre-consent identities, most recently seen first."""
        seen = func.coalesce(Identity.last_seen_at, Identity.created_at)
        stmt = (
            select(Identity.id, seen, Conversation.data)
            .outerjoin(Conversation, Conversation.identity_id == Identity.id)
            .where(Identity.officer_id.is_(None))
            .order_by(seen.desc(), Identity.id.desc())
        )
        rows = (await self.session.execute(stmt)).all()
        return [(int(i), s) for i, s, data in rows if not (data or {}).get("consent_at")]

    async def count(self) -> int:
        """How many pre-consent identities are stored."""
        return len(await self._pending())

    async def prune(self, seen_before: datetime, keep_at_most: int) -> int:
        """Delete pre-consent identities idle since `seen_before`, and the oldest beyond
        `keep_at_most`; their conversation and issued buttons go with them (cascade)."""
        pending = await self._pending()
        doomed = [
            i for n, (i, seen) in enumerate(pending) if n >= keep_at_most or seen < seen_before
        ]
        for start in range(0, len(doomed), 500):
            chunk = doomed[start : start + 500]
            await self.session.execute(
                delete(Conversation).where(Conversation.identity_id.in_(chunk))
            )
            await self.session.execute(
                delete(Identity)
                .where(Identity.id.in_(chunk), Identity.officer_id.is_(None))
                .execution_options(synchronize_session=False)
            )
        return len(doomed)
