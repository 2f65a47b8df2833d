"""The two-programme report seed, written once per xdist worker on PostgreSQL and copied back
for each test that asks for it.

Written through the repositories (`tests.support.report_seed.seed`), the seed costs about 140
statements, ~85 ms of CPU in the test process plus the server's share, for each of ~80 console
tests. Here it is written twice per worker, at `now` and at `now - SHIFT`, and read back row by
row: a timestamp that differs between the two is relative (to the seed's `now`, or the real
clock's column defaults) and is moved by the time elapsed since, at each copy; everything else
must be identical (else the seed is not a pure function of `now` and this fails loudly). A copy
is one COPY per table on the worker's kept connection, so a test sees exactly the rows and
sequence values that seeding at that moment would have written.

SQLite does the same with files: the seed is written twice into copies of the test's migrated
database, read back with the sqlite3 module, and inserted into each test's file in one
transaction (about 85 ms of seeding per console test of the quick lane become a few ms). There a
timestamp is the text SQLAlchemy stores; a moved one is shifted and written in that same form."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from storage.db import make_engine, make_sessionmaker
from storage.models import Base
from storage.uow import UnitOfWork
from tests.conftest import PG_URL, empty_database, on_worker_connection
from tests.support.report_seed import seed

SHIFT = timedelta(days=11, hours=5, minutes=7, seconds=3, microseconds=123_457)
CLOCK_SLACK = timedelta(minutes=1)  # two seeds' real-clock defaults are this close


@dataclass
class _Table:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    moved: list[tuple[int, int]] = field(default_factory=list)  # (row, column) relative to now


@dataclass
class _Snapshot:
    at: datetime
    tables: dict[str, _Table]
    sequences: dict[str, int]


_SNAPSHOT: _Snapshot | None = None


def _ordered(table: Any) -> str:
    """Every row of a table, in primary-key order (both seeds' rows line up)."""
    keys = [c.name for c in table.primary_key.columns] or [c.name for c in table.columns]
    order = ", ".join(f'"{k}"' for k in keys)
    return f'SELECT * FROM "{table.name}" ORDER BY {order}'


async def _read(conn: Any) -> tuple[dict[str, _Table], dict[str, int]]:
    tables: dict[str, _Table] = {}
    for table in Base.metadata.sorted_tables:
        rows = await conn.fetch(_ordered(table))
        if rows:
            tables[table.name] = _Table(list(rows[0].keys()), [tuple(r) for r in rows])
    sequences = await conn.fetch(
        "SELECT quote_ident(sequencename), last_value FROM pg_sequences"
        " WHERE schemaname = current_schema() AND last_value IS NOT NULL"
    )
    return tables, {name: value for name, value in sequences}


def _as_time(value: Any) -> datetime | None:
    """A value asyncpg read, as a timestamp if it is one."""
    return value if isinstance(value, datetime) else None


def _compare(
    now: dict[str, _Table], earlier: dict[str, _Table], seq_now: dict[str, int],
    seq_earlier: dict[str, int], as_time: Callable[[Any], datetime | None] = _as_time,
) -> None:  # fmt: skip
    """Mark in `now` the timestamps that moved with the seed's time; fail on anything else.
    `as_time` reads a stored value as a timestamp (None when it is none)."""
    if now.keys() != earlier.keys() or seq_now != seq_earlier:
        raise AssertionError("the report seed wrote different tables or ids at another time")
    for name, table in now.items():
        other = earlier[name]
        if table.columns != other.columns or len(table.rows) != len(other.rows):
            raise AssertionError(f"the report seed wrote different {name} rows at another time")
        for i, (row, old) in enumerate(zip(table.rows, other.rows, strict=True)):
            for j, (value, was) in enumerate(zip(row, old, strict=True)):
                if value == was:
                    continue
                t, t_was = as_time(value), as_time(was)
                if t and t_was and (t - t_was == SHIFT or abs(t - t_was) < CLOCK_SLACK):
                    table.moved.append((i, j))
                    continue
                raise AssertionError(
                    f"{name}.{table.columns[j]} is not a function of the seed's time: "
                    f"{value!r} / {was!r}"
                )


async def _take(uow_of: Any) -> _Snapshot:
    at = datetime.now(UTC)
    await empty_database()
    async with uow_of() as uow:
        await seed(uow, at - SHIFT)
    earlier, seq_earlier = await on_worker_connection(_read)
    await empty_database()
    async with uow_of() as uow:
        await seed(uow, at)
    tables, sequences = await on_worker_connection(_read)
    _compare(tables, earlier, sequences, seq_earlier)
    await empty_database()
    return _Snapshot(at, tables, sequences)


SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"
"""How SQLAlchemy writes a DateTime into SQLite (microseconds always present)."""

_SQLITE_SNAPSHOT: _Snapshot | None = None


def _sqlite_time(value: Any) -> datetime | None:
    """The timestamp a SQLite text value holds, if it is one written as SQLAlchemy writes."""
    if not isinstance(value, str) or len(value) != 26:
        return None
    try:
        parsed = datetime.strptime(value, SQLITE_TIME)
    except ValueError:
        return None
    return parsed if parsed.strftime(SQLITE_TIME) == value else None


def _sqlite_read(path: Path) -> tuple[dict[str, _Table], dict[str, int]]:
    with sqlite3.connect(path) as conn:
        tables: dict[str, _Table] = {}
        for table in Base.metadata.sorted_tables:
            cursor = conn.execute(_ordered(table))
            rows = cursor.fetchall()
            if rows:
                columns = [d[0] for d in cursor.description]
                tables[table.name] = _Table(columns, [tuple(r) for r in rows])
        found = conn.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_sequence'")
        sequences = (
            dict(conn.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
            if found.fetchone()
            else {}
        )
    return tables, sequences


async def _sqlite_seeded(template: Path, at: datetime) -> tuple[dict[str, _Table], dict[str, int]]:
    """The rows `seed` writes at `at` into an emptied copy of `template`."""
    with tempfile.TemporaryDirectory(prefix="peerbot-seed-") as folder:
        path = Path(folder) / "seed.db"
        shutil.copy(template, path)
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA foreign_keys = OFF")
            for table in Base.metadata.sorted_tables:
                conn.execute(f'DELETE FROM "{table.name}"')
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        try:
            async with UnitOfWork(make_sessionmaker(engine)) as uow:
                await seed(uow, at)
        finally:
            await engine.dispose()
        return _sqlite_read(path)


async def _sqlite_seed_now(sessionmaker: Any) -> None:
    global _SQLITE_SNAPSHOT
    bind = sessionmaker.kw["bind"]
    database = make_url(str(bind.url)).database
    assert database and database != ":memory:", "a SQLite file database"
    path = Path(database)
    if _SQLITE_SNAPSHOT is None:
        at = datetime.now(UTC)
        earlier, seq_earlier = await _sqlite_seeded(path, at - SHIFT)
        tables, sequences = await _sqlite_seeded(path, at)
        _compare(tables, earlier, sequences, seq_earlier, _sqlite_time)
        _SQLITE_SNAPSHOT = _Snapshot(at, tables, sequences)
    snap = _SQLITE_SNAPSHOT
    delta = datetime.now(UTC) - snap.at
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("BEGIN IMMEDIATE")
        for name, table in snap.tables.items():
            rows = [list(r) for r in table.rows]
            for i, j in table.moved:
                rows[i][j] = (datetime.strptime(rows[i][j], SQLITE_TIME) + delta).strftime(
                    SQLITE_TIME
                )
            columns = ", ".join(f'"{c}"' for c in table.columns)
            marks = ", ".join("?" for _ in table.columns)
            conn.executemany(f'INSERT INTO "{name}" ({columns}) VALUES ({marks})', rows)
        for name, seq in snap.sequences.items():
            conn.execute("DELETE FROM sqlite_sequence WHERE name = ?", (name,))
            conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (name, seq))
        conn.execute("COMMIT")
    finally:
        conn.close()


async def seed_now(sessionmaker: Any) -> None:
    """What `seed(uow, datetime.now(UTC))` writes (and commits), into an empty database."""
    global _SNAPSHOT
    if not PG_URL:
        await _sqlite_seed_now(sessionmaker)
        return
    if _SNAPSHOT is None:
        _SNAPSHOT = await _take(lambda: UnitOfWork(sessionmaker))
    snap = _SNAPSHOT
    delta = datetime.now(UTC) - snap.at

    async def copy(conn: Any) -> None:
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            for name, table in snap.tables.items():
                rows = [list(r) for r in table.rows]
                for i, j in table.moved:
                    rows[i][j] += delta
                await conn.copy_records_to_table(name, records=rows, columns=table.columns)
            await conn.execute(
                "SELECT setval(s::regclass, v) FROM unnest($1::text[], $2::bigint[]) AS t(s, v)",
                list(snap.sequences),
                list(snap.sequences.values()),
            )

    await on_worker_connection(copy)
