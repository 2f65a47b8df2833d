"""Installation-wide values kept in the store."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from storage.models import KeyValue
from storage.repositories.base import Repository


class KeyValueRepo(Repository):
    """A tiny key-value table."""

    async def get(self, key: str) -> str | None:
        row = await self.session.get(KeyValue, key)
        return row.value if row else None

    async def put(self, key: str, value: str) -> None:
        row = await self.session.get(KeyValue, key)
        if row is None:
            self.session.add(KeyValue(key=key, value=value))
        else:
            row.value = value
        await self.session.flush()

    async def secret(self) -> bytes:
        """The installation's signing secret, generated once and shared by all processes."""
        stmt = self.insert_ignore(
            KeyValue.__table__,  # type: ignore[arg-type]
            {"key": "signing_secret", "value": secrets.token_urlsafe(32)},
            ["key"],
        )
        await self.session.execute(stmt)
        value = (
            await self.session.execute(
                select(KeyValue.value).where(KeyValue.key == "signing_secret")
            )
        ).scalar_one()
        return value.encode()
