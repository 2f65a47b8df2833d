"""The demo programme's bookkeeping: is the store empty, and wiping it for a fresh demo."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from storage.models import Base, KeyValue, Officer
from storage.repositories.base import Repository

DEMO_LOADED = "demo_loaded"
"""The key_value row that says the demo was loaded once (so it is not loaded again)."""


class DemoRepo(Repository):
    """Questions and writes about the whole store that only the demo asks."""

    async def officer_count(self) -> int:
        return int(
            (await self.session.execute(select(func.count()).select_from(Officer))).scalar_one()
        )

    async def wipe(self) -> None:
        """Delete every row, children first; of the installation's key-value settings only the
        demo's own mark goes (the signing secret and the like stay)."""
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != KeyValue.__tablename__:
                await self.session.execute(delete(table))
        await self.session.execute(delete(KeyValue).where(KeyValue.key == DEMO_LOADED))
