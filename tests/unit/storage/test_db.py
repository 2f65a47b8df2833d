"""PostgreSQL pooled connections: pinged before use only after sitting idle, and a connection
that died while idle is replaced without the caller seeing an error."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from storage import db
from storage.db import is_sqlite, make_engine


@pytest.fixture
def pg_url(database_url: str) -> str:
    if is_sqlite(database_url):
        pytest.skip("PostgreSQL only (TEST_DATABASE_URL)")
    return database_url


def counting_pings(engine: Any) -> list[int]:
    """The engine's pings, counted (the dialect's own ping still runs)."""
    dialect = engine.sync_engine.dialect
    pings: list[int] = []
    real = dialect.do_ping

    def do_ping(dbapi_connection: Any) -> bool:
        pings.append(1)
        return bool(real(dbapi_connection))

    dialect.do_ping = do_ping
    return pings


async def backend_pid(engine: Any) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_a_connection_back_in_the_pool_a_moment_ago_is_not_pinged(pg_url: str) -> None:
    engine = make_engine(pg_url, pool_size=1, max_overflow=0)
    pings = counting_pings(engine)
    try:
        first = await backend_pid(engine)
        for _ in range(5):
            assert await backend_pid(engine) == first  # the same pooled connection
        assert pings == []
    finally:
        await engine.dispose()


async def test_an_idle_connection_killed_meanwhile_is_pinged_and_replaced(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(pg_url, pool_size=1, max_overflow=0)
    other = make_engine(pg_url, pool_size=1, max_overflow=0)
    pings = counting_pings(engine)
    try:
        pooled = await backend_pid(engine)
        async with other.connect() as conn:  # a restart or an idle timeout, for this one only
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pooled})
        monkeypatch.setattr(db, "IDLE_PING_SECONDS", -1.0)  # every pooled one counts as idle
        fresh = await backend_pid(engine)  # no error reaches the caller
        assert fresh != pooled
        assert len(pings) == 1
    finally:
        await engine.dispose()
        await other.dispose()
