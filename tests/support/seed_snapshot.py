"""The two-programme report seed, written once per xdist worker on PostgreSQL and copied back
for each test that asks for it.

Written through the repositories (`tests.support.report_seed.seed`), the seed costs about 140
statements, ~85 ms of CPU in the test process plus the server's share, for each of ~80 console
tests. Here it is written twice per worker, at `now` and at `now - SHIFT`, and read back row by
row: a timestamp that differs between the two is relative (to the seed's `now`, or the real
clock's column defaults) and is moved by the time elapsed since, at each copy; everything else
must be identical (else the seed is not a pure function of `now` and this fails loudly). A copy
is one COPY per table on the worker's kept connection, so a test sees exactly the rows and
sequence values that seeding at that moment would have written. SQLite seeds as before (its
per-test database is a file copy; it is not the slow one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

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


async def _read(conn: Any) -> tuple[dict[str, _Table], dict[str, int]]:
    tables: dict[str, _Table] = {}
    for table in Base.metadata.sorted_tables:
        keys = [c.name for c in table.primary_key.columns] or [c.name for c in table.columns]
        order = ", ".join(f'"{k}"' for k in keys)
        rows = await conn.fetch(f'SELECT * FROM "{table.name}" ORDER BY {order}')
        if rows:
            tables[table.name] = _Table(list(rows[0].keys()), [tuple(r) for r in rows])
    sequences = await conn.fetch(
        "SELECT quote_ident(sequencename), last_value FROM pg_sequences"
        " WHERE schemaname = current_schema() AND last_value IS NOT NULL"
    )
    return tables, {name: value for name, value in sequences}


def _compare(
    now: dict[str, _Table], earlier: dict[str, _Table], seq_now: dict[str, int],
    seq_earlier: dict[str, int],
) -> None:  # fmt: skip
    """Mark in `now` the timestamps that moved with the seed's time; fail on anything else."""
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
                if (
                    isinstance(value, datetime)
                    and isinstance(was, datetime)
                    and (value - was == SHIFT or abs(value - was) < CLOCK_SLACK)
                ):
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


async def seed_now(sessionmaker: Any) -> None:
    """What `seed(uow, datetime.now(UTC))` writes (and commits), into an empty database."""
    global _SNAPSHOT
    if not PG_URL:
        async with UnitOfWork(sessionmaker) as uow:
            await seed(uow, datetime.now(UTC))
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
