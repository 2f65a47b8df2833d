"""Load for the outbox: many officers at once, the real messengers on the platform emulators, and
a standalone sender process for the crash and multi-process tests and the benchmark.

    python -m tests.support.outbox_load --database-url URL --telegram-api http://127.0.0.1:PORT/bot \
        --rate 50 --max-seconds 60

sends what the outbox holds for Telegram until nothing is left, then prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.ext import AIORateLimiter, ApplicationBuilder

from bot.slack.messenger import SlackMessenger
from bot.telegram.adapter import requests
from bot.telegram.messenger import TelegramMessenger
from handlers.core.ports import Messenger
from handlers.delivery.outbox import OutboxWorker
from storage.db import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.models import (
    Base,
    Identity,
    Officer,
    OfficerStatus,
    Outbox,
    OutboxStatus,
    Role,
    utcnow,
)
from storage.uow import UnitOfWork

TELEGRAM_TOKEN = "123456789:TEST-token_for-the-emulator"
SLACK_TOKEN = "xoxb-0000-test-token"
FIRST_TELEGRAM_CHAT = 10_000_000
Closer = Callable[[], Awaitable[None]]


def telegram_chat(index: int) -> str:
    return str(FIRST_TELEGRAM_CHAT + index)


def slack_user(index: int) -> str:
    return f"U{index:07d}"


async def seed_officers(
    sessionmaker: async_sessionmaker[AsyncSession],
    count: int,
    platform: str,
    *,
    offset: int = 0,
    programme_id: int | None = None,
) -> list[int]:
    """`count` active, consenting officers with a chat account on `platform`; their ids."""
    now = utcnow()
    ids: list[int] = []
    async with UnitOfWork(sessionmaker) as uow:
        for start in range(0, count, 500):
            indexes = range(offset + start, offset + min(count, start + 500))
            rows = [
                {
                    "name": f"Officer {i}",
                    "email": f"officer{i}.{platform}@example.eu",
                    "programme_id": programme_id,
                    "role": Role.OFFICER.value,
                    "languages": ["en"],
                    "timezone": "Europe/Brussels",
                    "sectors": ["public_buildings"],
                    "wants": [],
                    "offers": [],
                    "mentor_capacity": 2,
                    "consent_at": now,
                    "consent_source": "import",
                    "status": OfficerStatus.ACTIVE.value,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in indexes
            ]
            found = await uow.session.execute(
                insert(Officer.__table__).values(rows).returning(Officer.__table__.c.id)  # type: ignore[arg-type]
            )
            officer_ids = [int(r[0]) for r in found.all()]
            accounts = []
            for i, officer_id in zip(indexes, officer_ids, strict=True):
                user = telegram_chat(i) if platform == "telegram" else slack_user(i)
                chat = user if platform == "telegram" else f"D{user}"
                accounts.append(
                    {
                        "platform": platform,
                        "user_id": user,
                        "dm_chat_id": chat,
                        "officer_id": officer_id,
                        "created_at": now,
                        # they have used the bot (pressed Start): seen, and the language their
                        # app told then (the emulators' users speak English)
                        "last_seen_at": now,
                        "locale": "en",
                    }
                )
            await uow.session.execute(insert(Identity.__table__).values(accounts))  # type: ignore[arg-type]
            ids += officer_ids
        await uow.commit()
    return ids


async def telegram_messenger(
    api_base: str,
    *,
    rate: float | None = None,
    per_chat: float = 0.0,
    ptb_limiter: bool = False,
) -> tuple[TelegramMessenger, Closer]:
    """The real Telegram messenger (python-telegram-bot) talking to `api_base`."""
    calls, updates = requests()
    builder = (
        ApplicationBuilder()
        .token(TELEGRAM_TOKEN)
        .base_url(api_base)
        .request(calls)
        .get_updates_request(updates)
        .job_queue(None)
    )
    if ptb_limiter:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=0))  # type: ignore[arg-type]
    application = builder.updater(None).build()
    await application.initialize()
    messenger = TelegramMessenger(application.bot)
    messenger.capabilities = replace(
        messenger.capabilities, rate_per_second=rate, per_chat_interval=per_chat
    )
    return messenger, application.shutdown


async def slack_messenger(
    api_base: str, *, rate: float | None = None, per_chat: float = 0.0
) -> tuple[SlackMessenger, Closer]:
    """The real Slack messenger (slack_sdk) talking to `api_base`."""
    from slack_sdk.web.async_client import AsyncWebClient

    session = aiohttp.ClientSession()
    client = AsyncWebClient(
        token=SLACK_TOKEN, base_url=api_base, session=session, retry_handlers=[]
    )
    messenger = SlackMessenger(client, patient=False, rate_per_second=rate)
    messenger.capabilities = replace(messenger.capabilities, per_chat_interval=per_chat)
    return messenger, session.close


async def announce_to_everyone(
    sessionmaker: async_sessionmaker[AsyncSession], programme_id: int, text: str, now: datetime
) -> int:
    """A coordinator's announcement to the whole programme (as `peerbot broadcast create`
    queues it, without an author); returns its id."""
    from handlers.announcements.audience import Audience
    from handlers.announcements.flow import store

    async with UnitOfWork(sessionmaker) as uow:
        announcement = await store(
            uow,
            text=text,
            audience=Audience(),
            scope=None,
            programme_id=programme_id,
            author_id=None,
            now=now,
        )
        await uow.commit()
    return int(announcement.id)


async def left_to_send(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with UnitOfWork(sessionmaker) as uow:
        stmt = select(func.count()).where(
            Outbox.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING])
        )
        return int((await uow.session.execute(stmt)).scalar_one())


async def send_until_done(
    sessionmaker: async_sessionmaker[AsyncSession],
    messengers: dict[str, Messenger],
    max_seconds: float = 120.0,
    **worker: Any,
) -> OutboxWorker:
    """Drain every platform until the outbox has nothing pending or in flight."""
    sender = OutboxWorker(sessionmaker, messengers, **worker)
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        await sender.tick()
        if await left_to_send(sessionmaker) == 0:
            break
        await asyncio.sleep(0.05)
    return sender


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    engine = make_engine(args.database_url)
    sessionmaker = make_sessionmaker(engine)
    messenger, close = await telegram_messenger(
        args.telegram_api, rate=args.rate, per_chat=args.per_chat, ptb_limiter=args.ptb_limiter
    )
    if args.start_at:
        await asyncio.sleep(max(0.0, args.start_at - time.time()))
    try:
        sender = await send_until_done(
            sessionmaker, {"telegram": messenger}, args.max_seconds, concurrency=args.concurrency
        )
    finally:
        await close()
        await engine.dispose()
    return {"worker": sender.worker_id, **sender.stats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--telegram-api", required=True, help="e.g. http://127.0.0.1:PORT/bot")
    parser.add_argument("--rate", type=float, default=None, help="messages per second overall")
    parser.add_argument("--per-chat", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, default=30)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument("--ptb-limiter", action="store_true", help="add PTB's AIORateLimiter")
    parser.add_argument("--start-at", type=float, default=0.0, help="epoch seconds to begin at")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(asyncio.run(_main(args))), flush=True)  # noqa: T201


if __name__ == "__main__":
    main()


async def fresh_database(url: str | None, folder: Path, name: str) -> str:
    """An empty migrated database: a new SQLite file, or the given PostgreSQL one emptied."""
    if url is None:
        url = f"sqlite+aiosqlite:///{folder / name}.db"
        await upgrade(url)
        return url
    await upgrade(url)
    engine = make_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await engine.dispose()
    return url
