"""The Alembic migrations build exactly the schema the models describe (`alembic check`)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from storage.db import make_engine
from storage.models import Base


async def test_the_migrated_database_matches_every_model(database_url: str) -> None:
    def diff(conn: Connection) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            found = await conn.run_sync(diff)
    finally:
        await engine.dispose()
    assert found == []
