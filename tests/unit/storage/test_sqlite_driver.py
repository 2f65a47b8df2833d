"""The one-round-trip SQLite adapter behaves as SQLAlchemy's aiosqlite one: rows, counts,
generated ids, executemany, RETURNING, errors, transactions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from storage.db import make_engine
from storage.sqlite_driver import DRIVER

meta = MetaData()
things = Table(
    "things",
    meta,
    Column("id", Integer, primary_key=True),
    Column("name", String, unique=True),
    Column("n", Integer),
)


async def test_make_engine_runs_sqlite_on_the_one_hop_adapter(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/a.db")
    try:
        assert engine.dialect.driver == DRIVER
        assert engine.dialect.name == "sqlite"
    finally:
        await engine.dispose()


async def test_statements_results_and_errors(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/b.db")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(meta.create_all)
            first = await conn.execute(insert(things).values(name="a", n=1))
            assert first.inserted_primary_key == (1,)
            await conn.execute(insert(things), [{"name": "b", "n": 2}, {"name": "c", "n": 3}])
            ids = (
                await conn.execute(
                    insert(things).returning(things.c.id, sort_by_parameter_order=True),
                    [{"name": "d", "n": 4}, {"name": "e", "n": 5}],
                )
            ).scalars()
            assert list(ids) == [4, 5]
            changed = await conn.execute(update(things).where(things.c.n >= 3).values(n=0))
            assert changed.rowcount == 3
            rows = (await conn.execute(select(things.c.name, things.c.n).order_by("id"))).all()
            assert rows == [("a", 1), ("b", 2), ("c", 0), ("d", 0), ("e", 0)]
            assert (await conn.execute(text("SELECT count(*) FROM things"))).scalar_one() == 5
            assert (await conn.execute(select(things).where(things.c.n > 9))).first() is None
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(insert(things).values(name="a", n=9))
        async with engine.begin() as conn:  # the failed transaction left nothing
            count = (await conn.execute(text("SELECT count(*) FROM things WHERE n = 9"))).scalar()
            assert count == 0
    finally:
        await engine.dispose()


async def test_a_connection_back_in_the_pool_is_rolled_back_only_when_a_transaction_is_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool rolls back each connection it gets back; after a commit there is nothing to
    roll back and no round trip to the thread is made. A transaction the pool does not know of
    (raw DBAPI use) is still rolled back."""
    import aiosqlite.core

    trips = 0
    queued = aiosqlite.core.Connection._execute

    async def counted(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal trips
        trips += 1
        return await queued(self, fn, *args, **kwargs)

    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/c.db")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(meta.create_all)
        monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counted)
        async with engine.connect() as conn:
            await conn.execute(insert(things).values(name="kept", n=1))
            await conn.commit()
            trips = 0
        assert trips == 0  # the pool's reset after the commit stayed in the event loop

        def unknown_to_the_pool(sync_conn: Any) -> None:
            cursor = sync_conn.connection.dbapi_connection.cursor()
            cursor.execute("INSERT INTO things (name, n) VALUES ('dropped', 2)")

        async with engine.connect() as conn:
            await conn.run_sync(unknown_to_the_pool)
            trips = 0
        assert trips == 1  # the open transaction was rolled back on return
        async with engine.connect() as conn:
            names = (await conn.execute(select(things.c.name))).scalars().all()
        assert names == ["kept"]
    finally:
        await engine.dispose()
