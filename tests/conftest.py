"""Shared fixtures: a migrated database per test (SQLite or PostgreSQL) and a runtime."""

from __future__ import annotations

import os
import sys

# Python caches compiled modules, and pytest its assertion-rewritten tests, in __pycache__
# unless PYTHONDONTWRITEBYTECODE is set (as on some CI images). Without that cache every xdist
# worker and every bot process a test starts compiles the whole code base again: about 10 s
# per worker at collection and a second or more per process. The suite keeps the cache.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

import asyncio  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import AsyncIterator, Awaitable, Callable  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, TypeVar  # noqa: E402

import pytest  # noqa: E402

from bot.app import Runtime, build  # noqa: E402
from bot.config import Settings  # noqa: E402
from handlers.core.clock import FrozenClock  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Base  # noqa: E402
from tests.support.fakes import FakeMessenger, Talk  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
T = TypeVar("T")


def _worker_database(url: str | None) -> str | None:
    """Under pytest-xdist each worker gets its own PostgreSQL database, `<name>_<worker>`,
    created on first use: tests truncate every table, so workers cannot share one.

    The test database (the worker's, or the given one without xdist) commits without waiting
    for its WAL to reach the disk (`synchronous_commit = off`, for every session, the bot
    processes the tests start included): on this machine's disk a flushed commit costs about
    4 ms, a test commits dozens of times. What a commit makes visible, and when, is unchanged;
    only a crash of the PostgreSQL server itself could lose the last commits, and the test that
    restarts PostgreSQL runs a server of its own."""
    if not url:
        return url
    import asyncpg
    from sqlalchemy.engine import make_url

    base = make_url(url)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    name = f"{base.database}_{worker}" if worker else base.database

    async def create() -> None:
        conn = await asyncpg.connect(
            host=base.host,
            port=base.port,
            user=base.username,
            password=base.password,
            database=base.database,
        )
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f'CREATE DATABASE "{name}"')
            await conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        finally:
            await conn.close()

    asyncio.run(create())
    return base.set(database=name).render_as_string(hide_password=False) if worker else url


PG_URL = _worker_database(os.environ.get("TEST_DATABASE_URL"))


def _sqlite_without_fsync(dbapi_conn: Any, _record: Any) -> None:
    """A test's SQLite database (a file of its own, thrown away after the test) syncs its WAL
    at checkpoints only (`synchronous=NORMAL`), not at every commit: an fsync costs about 3 ms
    on this machine's disk. Commits stay atomic and survive the process; only an operating
    system crash could lose the last ones."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _one_sql_compiler_per_worker() -> None:
    """Every engine of this process compiles each statement once, as the bot's one engine does.

    The suite makes an engine per test (a database per test), and SQLAlchemy keys its cache of
    compiled statements by the engine's dialect object: each test compiled every query it ran
    again, about a fifth of the quick lane's CPU. Once an engine has connected (so its dialect
    has read the server's version and features), later engines of the same driver take that
    dialect and its compiled cache. The SQL each test runs is the same; it is compiled once."""
    from sqlalchemy import event
    from sqlalchemy.util import LRUCache

    import storage.db

    make = storage.db.create_async_engine
    donors: dict[str, Any] = {}

    def create_async_engine(url: Any, **kwargs: Any) -> Any:
        engine = make(url, **kwargs)
        sync = engine.sync_engine
        # one dialect per driver and server (a test may start a PostgreSQL of its own)
        driver = f"{sync.dialect.name}+{sync.dialect.driver}@{sync.url.host}:{sync.url.port}"

        def share(_dbapi_conn: Any, _record: Any) -> None:  # after the dialect's initialize
            donor = donors.get(driver)
            if donor is None:
                sync._compiled_cache = LRUCache(20_000)
                donors[driver] = sync
            else:
                sync.dialect = donor.dialect
                sync._compiled_cache = donor._compiled_cache

        event.listen(sync, "connect", share, _once_unless_exception=True)
        if sync.dialect.name == "sqlite":
            event.listen(sync, "connect", _sqlite_without_fsync)
        return engine

    storage.db.create_async_engine = create_async_engine  # type: ignore[assignment]


_one_sql_compiler_per_worker()

# Programme folders a test installs go to a directory of this run, never the user's own
# (~/.local/share/peerbot), and bot processes the tests start inherit it.
os.environ.setdefault("PEERBOT_DATA_DIR", tempfile.mkdtemp(prefix="peerbot-test-data-"))
# The FAQ's sentence encoder costs each bot process seconds and ~120 MB: the suite answers on
# words, and tests/unit/features/test_faq_semantic.py turns the meaning layer on where it tests it.
os.environ.setdefault("PEERBOT_FAQ_SEMANTIC", "false")


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: one worker more than the cores this process may use when the slow tests run.
    The crash, browser and multi-process tests spend much of their time waiting for their
    children, the emulators' pacing and restarts: with one worker per core the machine stood
    idle a fifth of the whole suite (SQLite on 2 cores: 195 s, 82 % busy; with three workers
    181 s, 92 % busy). The quick lane waits on nothing: there a third worker only adds its
    start-up and contention (77 s with two, 92 s with three)."""
    cores = len(os.sched_getaffinity(0))
    return cores if "not slow" in (config.option.markexpr or "") else cores + 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests (real processes, a browser, fuzzing: 5-20 s each) run first, the rest in
    their usual order. xdist's workers steal work from each other only between tests, so a
    20-s test that starts last keeps one worker busy while the other waits; begun first, the
    short tests fill the gaps. (A stable sort: every worker gets the same order.)"""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Fewer garbage collections while the tests run: the youngest generation is collected
    every 10,000 allocations instead of 700. Collections cost about 5% of the tests' CPU
    (gc callbacks over tests/stories and tests/unit/features, `-n 0`: 4.4 s of 80 s in 4,278
    collections; about half that after). `gc.freeze()` saved a tenth more but hides frozen
    objects from `gc.get_referrers`, which makes Hypothesis warn about trio's random."""
    import gc

    gc.set_threshold(10_000, 10, 10)


def pytest_report_header() -> str:
    return f"database: {PG_URL or 'sqlite (a fresh file per test)'}"


@pytest.fixture(scope="session")
def _migrated(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate once per session: PostgreSQL in place, SQLite into a template file."""
    if PG_URL:
        asyncio.run(upgrade(PG_URL))
        return PG_URL
    template = tmp_path_factory.mktemp("db") / "template.db"
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{template}"))
    return str(template)


_EMPTY_ALL = (
    "DO $$ BEGIN SET LOCAL session_replication_role = replica; "
    + " ".join(f'DELETE FROM "{t.name}";' for t in reversed(Base.metadata.sorted_tables))
    + " PERFORM setval(c.oid, 1, false) FROM pg_class c"
    " JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind = 'S' AND n.nspname = current_schema(); END $$"
)
"""Every table emptied and every sequence back at 1, in one statement. DELETE on the few
tables a test wrote costs far less than TRUNCATE, which makes new files for all 60 tables
(a tenth of a second per test); foreign-key triggers are off for the duration
(`session_replication_role`), so the order does not matter."""


class _Emptier:
    """One PostgreSQL connection per worker, kept for the whole run on a thread of its own
    (each test has its own event loop): a new connection per test costs the server a backend
    process, about 15 ms, for every test."""

    def __init__(self, url: str) -> None:
        import threading

        self._url = url
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        self._conn: Any = None

    async def _empty(self) -> None:
        import asyncpg
        from sqlalchemy.engine import make_url

        for attempt in (1, 2):
            if self._conn is None or self._conn.is_closed():
                u = make_url(self._url)
                self._conn = await asyncpg.connect(
                    host=u.host, port=u.port, user=u.username, password=u.password,
                    database=u.database,
                )  # fmt: skip
            try:
                await self._conn.execute(_EMPTY_ALL)
                return
            except (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError):
                # a test stopped the server's backends: connect again, once
                self._conn = None
                if attempt == 2:
                    raise

    async def empty(self) -> None:
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._empty(), self._loop))

    async def run(self, work: Callable[[Any], Awaitable[T]]) -> T:
        """`work(connection)` on the kept connection, on its thread."""

        async def call() -> T:
            if self._conn is None or self._conn.is_closed():
                await self._empty()  # (re)connects; the database is emptied first anyway
            return await work(self._conn)

        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(call(), self._loop))

    def close(self) -> None:
        if self._conn is not None:
            asyncio.run_coroutine_threadsafe(self._conn.close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)


_EMPTIER: _Emptier | None = None


def _emptier(url: str) -> _Emptier:
    global _EMPTIER
    if _EMPTIER is None:
        _EMPTIER = _Emptier(url)
    return _EMPTIER


async def _truncate(url: str) -> None:
    await _emptier(url).empty()


async def empty_database() -> None:
    """Empty this worker's PostgreSQL database, as between tests. PostgreSQL only."""
    assert PG_URL, "PostgreSQL only"
    await _truncate(PG_URL)


async def on_worker_connection(work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work(asyncpg_connection)` on this worker's kept PostgreSQL connection (the one that
    empties the database between tests) and return its result. PostgreSQL only."""
    assert PG_URL, "PostgreSQL only"
    return await _emptier(PG_URL).run(work)


@pytest.fixture
async def database_url(_migrated: str, tmp_path: Path) -> str:
    """An empty, migrated database for one test."""
    if PG_URL:
        await _truncate(PG_URL)
        return PG_URL
    path = tmp_path / "peerbot.db"
    shutil.copy(_migrated, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def clock() -> FrozenClock:
    """Tuesday 2026-11-24 10:00 UTC, moved only by the test."""
    return FrozenClock(datetime(2026, 11, 24, 10, 0, tzinfo=UTC))


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, PEERBOT_CONTENT_DIR=CONTENT)  # type: ignore[call-arg]


@pytest.fixture
async def runtime(settings: Settings, clock: FrozenClock) -> AsyncIterator[Runtime]:
    rt = await build(settings, clock=clock)
    yield rt
    await rt.close()


@pytest.fixture
def messenger(runtime: Runtime) -> FakeMessenger:
    fake = FakeMessenger()
    runtime.messengers["fake"] = fake
    return fake


@pytest.fixture
def talk(runtime: Runtime, messenger: FakeMessenger) -> Talk:
    """A new user talking to the bot in a private chat."""
    return Talk(runtime.core, messenger, user_id="u1", name="Marie Dubois")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Drop this xdist worker's own PostgreSQL database (the main one is the caller's)."""
    if _EMPTIER is not None:
        _EMPTIER.close()
    if not PG_URL or os.environ.get("TEST_DATABASE_URL") == PG_URL:
        return
    import asyncpg
    from sqlalchemy.engine import make_url

    mine = make_url(PG_URL)
    base = make_url(os.environ["TEST_DATABASE_URL"])

    async def drop() -> None:
        conn = await asyncpg.connect(
            host=base.host,
            port=base.port,
            user=base.username,
            password=base.password,
            database=base.database,
        )
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{mine.database}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())
