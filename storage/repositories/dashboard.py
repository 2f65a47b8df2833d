"""Coordinators' dashboard login tokens: issued once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select

from storage.models import DashboardToken
from storage.repositories.base import Repository


def token_hash(token: str) -> str:
    """The stored form of a token (hex SHA-256)."""
    return hashlib.sha256(token.encode()).hexdigest()


class DashboardTokenRepo(Repository):
    """Issue and look up dashboard tokens."""

    async def issue(self, officer_id: int, expires_at: datetime, now: datetime) -> str:
        """A new random token for an officer; only its hash is kept."""
        token = secrets.token_urlsafe(32)
        row = DashboardToken(
            token_hash=token_hash(token),
            officer_id=officer_id,
            expires_at=expires_at,
            created_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        return token

    async def valid(self, token: str, now: datetime) -> DashboardToken | None:
        """The unexpired row of a presented token (None when unknown or expired)."""
        if not token or len(token) > 200:
            return None
        stmt = select(DashboardToken).where(DashboardToken.token_hash == token_hash(token))
        row = (await self.session.execute(stmt)).scalar_one_or_none()
        return row if row is not None and row.expires_at > now else None

    async def get_valid(self, token_id: int, now: datetime) -> DashboardToken | None:
        """An unexpired token row by id (what a session cookie refers to)."""
        row = await self.session.get(DashboardToken, token_id)
        return row if row is not None and row.expires_at > now else None
