"""Dashboard sessions (server-side) and token revocation."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select

from storage.models import DashboardSession, DashboardToken
from storage.repositories.base import Repository
from storage.repositories.dashboard import token_hash


class DashboardSessionRepo(Repository):
    """A browser's sign-in: only the hash of its cookie is stored, with its CSRF token."""

    async def open(self, token_id: int, expires_at: datetime, now: datetime) -> tuple[str, str]:
        """A new session for a token row: (cookie value, CSRF token), both random."""
        cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.session.add(
            DashboardSession(
                session_hash=token_hash(cookie),
                token_id=token_id,
                csrf=csrf,
                expires_at=expires_at,
                created_at=now,
            )
        )
        await self.session.flush()
        return cookie, csrf

    async def find(self, cookie: str, now: datetime) -> DashboardSession | None:
        """The unexpired session of a cookie whose token is unexpired too."""
        if not cookie or len(cookie) > 200:
            return None
        stmt = (
            select(DashboardSession)
            .join(DashboardToken, DashboardToken.id == DashboardSession.token_id)
            .where(
                DashboardSession.session_hash == token_hash(cookie),
                DashboardSession.expires_at > now,
                DashboardToken.expires_at > now,
            )
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def close(self, cookie: str) -> bool:
        """End a session (logout); False when there was none."""
        result = await self.session.execute(
            delete(DashboardSession).where(DashboardSession.session_hash == token_hash(cookie))
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def prune(self, now: datetime) -> int:
        """Delete expired sessions."""
        result = await self.session.execute(
            delete(DashboardSession).where(DashboardSession.expires_at <= now)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class DashboardRevocation(Repository):
    """Revoke dashboard tokens; their sessions go with them (ON DELETE CASCADE)."""

    async def revoke_token(self, token: str) -> int:
        """Revoke one token by its value; the number of tokens revoked (0 or 1)."""
        rows = await self._delete(DashboardToken.token_hash == token_hash(token.strip()))
        return len(rows)

    async def revoke_officer(self, officer_id: int) -> int:
        """Revoke every token of an officer."""
        return len(await self._delete(DashboardToken.officer_id == officer_id))

    async def _delete(self, where: object) -> Sequence[int]:
        ids = (await self.session.execute(select(DashboardToken.id).where(where))).scalars().all()  # type: ignore[arg-type]
        if ids:
            await self.session.execute(
                delete(DashboardSession).where(DashboardSession.token_id.in_(list(ids)))
            )
            await self.session.execute(delete(DashboardToken).where(DashboardToken.id.in_(ids)))
        return ids
