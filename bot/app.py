"""Composition root: build the runtime from settings and run every configured adapter."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import Settings
from bot.http import PlatformAdapter, make_web_app, serve
from handlers.core.clock import Clock, SystemClock
from handlers.core.content import ContentStore
from handlers.core.engine import MAX_CONCURRENT, SQLITE_CONCURRENT, Core
from handlers.core.jobs import JOBS
from handlers.core.ports import Messenger
from handlers.delivery.inbox import Door, InboxWorker
from handlers.delivery.outbox import OutboxWorker, queue_to_officer
from handlers.delivery.replies import ReplySender
from handlers.registry import load_handlers
from storage.db import Engine, is_sqlite, make_engine, make_sessionmaker
from storage.uow import SessionFactory, UnitOfWork

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything a running bot holds; adapters get the core and add their messengers."""

    settings: Settings
    engine: Engine
    sessionmaker: SessionFactory
    content: ContentStore
    core: Core
    clock: Clock
    messengers: dict[str, Messenger] = field(default_factory=dict)
    scheduler: AsyncIOScheduler | None = None
    outbox: OutboxWorker | None = None
    adapters: list[PlatformAdapter] = field(default_factory=list)
    doors: dict[str, Door] = field(default_factory=dict)
    """Per platform, how its stored updates are handled (adapters add theirs)."""
    inbox: InboxWorker | None = None

    def start_inbox(self) -> InboxWorker:
        """Start the inbox workers of this process for every platform with a door."""
        if self.inbox is None:
            self.inbox = InboxWorker(self.core, self.doors)
            self.inbox.start()
        return self.inbox

    async def tick(self) -> int:
        """One pass of due work: every registered job, then the outbox."""
        done = 0
        for name, fn in JOBS.items():
            try:
                done += await fn(self.core, self.messengers)
            except Exception:
                log.exception("job %s failed; it will run again at the next tick", name)
        if self.outbox is None:
            self.outbox = OutboxWorker(self.sessionmaker, self.messengers)
        if self.messengers:
            try:
                done += await self.outbox.tick()
            except Exception:
                log.exception("outbox tick failed; it will run again at the next tick")
        return done

    def start_scheduler(self) -> None:
        """Tick every PEERBOT_TICK_SECONDS; missed ticks coalesce, none run in parallel."""
        scheduler = AsyncIOScheduler(timezone="UTC")
        scheduler.add_job(
            self.tick,
            "interval",
            seconds=self.settings.tick_seconds,
            id="peerbot-tick",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        scheduler.start()
        self.scheduler = scheduler

    async def close(self) -> None:
        """Stop the scheduler and the sender loops (claimed rows are given back), then the pool."""
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        if self.inbox is not None:
            await self.inbox.stop()
            self.inbox = None
        if self.outbox is not None:
            await self.outbox.stop()
        await self.engine.dispose()


def _concurrency(url: str) -> int:
    """Events handled at once: a few on SQLite (one writer, short transactions), more on
    PostgreSQL."""
    return SQLITE_CONCURRENT if is_sqlite(url) else MAX_CONCURRENT


async def prepare_database(url: str) -> None:
    """Bring the database to the shipped migrations before anything uses it. At them already
    (every restart but the first after a deploy), only the version table is read: Alembic's
    full run, imports included, costs about a second even when there is nothing to do."""
    from storage.versions import upgrade_if_behind

    await upgrade_if_behind(url)


async def build(settings: Settings, clock: Clock | None = None, **core_kwargs: Any) -> Runtime:
    """Connect the store, load content and handlers, and make the core."""
    load_handlers()
    engine = make_engine(settings.database_url)
    sessionmaker = make_sessionmaker(engine)
    if settings.secret_key:  # one key shared across deployments (e.g. blue/green)
        secret = settings.secret_key.encode()
    else:  # generated once, kept in the database, shared by every process
        async with UnitOfWork(sessionmaker) as uow:
            secret = await uow.kv.secret()
            await uow.commit()
    content = ContentStore(
        settings.content_dir, settings.data_dir / "programmes", settings.data_dir / "cache"
    )
    clock = clock or SystemClock()
    core = Core(
        sessionmaker,
        content,
        secret,
        notify=queue_to_officer,
        replies=ReplySender,
        clock=clock,
        default_locale=settings.default_locale,
        **{
            "max_concurrent": _concurrency(settings.database_url),
            "serial_writes": is_sqlite(settings.database_url),
            **core_kwargs,
        },
    )
    core.inbox_retention = timedelta(days=settings.inbox_retention_days)
    return Runtime(settings, engine, sessionmaker, content, core, clock)


async def run(settings: Settings, console_user: str | None = None) -> None:
    """Run every adapter whose credentials are set (one HTTP server for all); else the console."""
    runtime = await build(settings)
    if settings.faq_semantic:  # loads in a background thread; the FAQ answers on words meanwhile
        from handlers.faq.content import with_meaning_layer

        runtime.content.on_load(with_meaning_layer(settings.data_dir / "faq-vectors"))
    try:
        if not (settings.telegram_enabled or settings.slack_enabled):
            from bot.console.adapter import run_console

            runtime.start_scheduler()
            await run_console(runtime, console_user or "you")
            return
        web_app = make_web_app(runtime)
        if settings.telegram_enabled:
            from bot.telegram.adapter import create_telegram

            runtime.adapters.append(await create_telegram(runtime, web_app))
        if settings.slack_enabled:
            from bot.slack.adapter import create_slack

            runtime.adapters.append(await create_slack(runtime, web_app))
        web_runner = await serve(web_app, settings.http_host, settings.http_port)
        for adapter in runtime.adapters:
            await adapter.start()  # each starts the inbox workers once its platform answered
        runtime.outbox = OutboxWorker(runtime.sessionmaker, runtime.messengers)
        runtime.outbox.start()  # one paced sender loop per platform; ticks only nudge it
        runtime.start_scheduler()
        log.info("peerbot running: %s", ", ".join(a.name for a in runtime.adapters))
        stop = asyncio.Event()  # SIGTERM (docker stop) shuts down cleanly, as Ctrl-C does
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        try:
            await stop.wait()
        finally:
            for adapter in runtime.adapters:
                await adapter.stop()
            await web_runner.cleanup()
    finally:
        await runtime.close()
