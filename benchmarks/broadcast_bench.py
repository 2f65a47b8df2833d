"""Broadcast bench: an announcement to N officers through the outbox, the real messengers and the
platform emulators enforcing the platform's rate with real 429s.

Run: `python benchmarks/broadcast_bench.py [--sizes 1000,5000] [--platforms telegram,slack]
[--database-url postgresql+asyncpg://…] [--rate 29] [--limit 30] [--workers 1]`.

For each platform and size it prints: recipients, wall time (from the announcement being queued
to the last accepted message) divided by the floor (recipients / limit seconds), messages lost,
messages duplicated and 429s received. Target: <= 1.10 of the floor, 0 lost, 0 duplicated.
Telegram: the Bot API emulator at `--limit` messages/s overall (sliding 1 s window), 1/s per chat,
python-telegram-bot with its AIORateLimiter as in the adapter. Slack: the Web API emulator at
`--limit` x 60 messages/min for the workspace and 1/s per channel (burst 3), slack_sdk. The
outbox paces at `--rate` per second, shared by all `--workers` through the database.
Each officer has their own chat, so the per-chat limits do not bind; 5,000 at 30/s is ~3 min.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from bot.app import build  # noqa: E402
from bot.config import Settings  # noqa: E402
from handlers.announcements.flow import send_announcements, status_json  # noqa: E402
from handlers.core.ports import Messenger  # noqa: E402
from handlers.delivery.outbox import OutboxWorker  # noqa: E402
from storage.models import Programme  # noqa: E402
from storage.uow import UnitOfWork  # noqa: E402
from tests.support.emulators.slack_api import RateLimits, SlackApiEmulator  # noqa: E402
from tests.support.emulators.telegram_api import TelegramEmulator  # noqa: E402
from tests.support.outbox_load import (  # noqa: E402
    announce_to_everyone,
    fresh_database,
    seed_officers,
    slack_messenger,
    telegram_messenger,
)


async def run_one(
    platform: str, size: int, args: argparse.Namespace, folder: Path
) -> dict[str, Any]:
    url = await fresh_database(args.database_url, folder, f"{platform}-{size}")
    runtime = await build(Settings(database_url=url))  # type: ignore[call-arg]
    async with UnitOfWork(runtime.sessionmaker) as uow:
        home = await uow.programmes.add(Programme(slug="bench", name="Bench", languages=["en"]))
        await uow.commit()
    await seed_officers(runtime.sessionmaker, size, platform, programme_id=home.id)
    messenger: Messenger
    if platform == "telegram":
        emulator: Any = TelegramEmulator(global_rate=args.limit, per_chat_rate=1.0)
        await emulator.start()
        messenger, close = await telegram_messenger(
            emulator.base_url, rate=args.rate, per_chat=1.0, ptb_limiter=True
        )
    else:
        emulator = SlackApiEmulator(
            limits=RateLimits(
                per_channel_per_second=1.0,
                per_channel_burst=3,
                workspace_per_minute=int(args.limit * 60),
            )
        )
        await emulator.start()
        messenger, close = await slack_messenger(emulator.base_url, rate=args.rate, per_chat=1.0)
    messengers: dict[str, Messenger] = {platform: messenger}
    workers = [OutboxWorker(runtime.sessionmaker, messengers) for _ in range(args.workers)]
    try:
        started = time.monotonic()
        text = "PROSPECT+ webinar: financing school retrofits with EPC, 3 December."
        announcement = await announce_to_everyone(
            runtime.sessionmaker, home.id, text, runtime.clock.now()
        )
        for worker in workers:
            worker.start()
        report: dict[str, Any] = {}
        deadline = started + size / args.limit * 3 + 60
        while time.monotonic() < deadline:
            await send_announcements(runtime.core, messengers)
            async with UnitOfWork(runtime.sessionmaker) as uow:
                stored = await uow.announcements.get(announcement)
                assert stored is not None
                report = await status_json(uow, stored)
            if report["finished_at"]:
                break
            await asyncio.sleep(0.5)
    finally:
        for worker in workers:
            await worker.stop()
        await close()
        await emulator.stop()
        await runtime.close()
    if platform == "telegram":
        ok = [c for c in emulator.calls if c.method == "sendMessage" and c.status == 200]
        chats = Counter(c.params["chat_id"] for c in ok)
        too_many = sum(1 for c in emulator.calls if c.status == 429)
    else:
        ok = [c for c in emulator.calls if c.method == "chat.postMessage" and c.status == 200]
        chats = Counter(c.args.get("channel") for c in ok)
        too_many = sum(1 for c in emulator.calls if c.status == 429)
    last = max((c.at for c in ok), default=time.monotonic())
    wall = last - started
    floor = size / args.limit
    return {
        "platform": platform,
        "recipients": size,
        "wall_s": round(wall, 2),
        "floor_s": round(floor, 2),
        "ratio": round(wall / floor, 3),
        "lost": size - len(chats),
        "duplicated": sum(n - 1 for n in chats.values()),
        "429s": too_many,
        "report": {k: report.get(k) for k in ("total", "sent", "pending", "failed")},
        "workers": args.workers,
        "rate": args.rate,
        "database": "postgresql" if args.database_url else "sqlite",
    }


async def main(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for platform in args.platforms.split(","):
            for size in (int(s) for s in args.sizes.split(",")):
                row = await run_one(platform, size, args, Path(folder))
                rows.append(row)
                print(
                    f"{row['platform']:<9} {row['recipients']:>6} recipients  "
                    f"wall {row['wall_s']:>7.1f}s / floor {row['floor_s']:>6.1f}s = "
                    f"{row['ratio']:.3f}  lost {row['lost']}  duplicated {row['duplicated']}  "
                    f"429s {row['429s']}  ({row['database']}, {row['workers']} worker(s), "
                    f"paced at {row['rate']}/s)",
                    flush=True,
                )
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,5000")
    parser.add_argument("--platforms", default="telegram,slack")
    parser.add_argument("--database-url", default=None, help="PostgreSQL (default: SQLite file)")
    parser.add_argument("--rate", type=float, default=29.0, help="outbox pace, messages/s")
    parser.add_argument("--limit", type=float, default=30.0, help="the emulated limit, messages/s")
    parser.add_argument("--workers", type=int, default=1, help="outbox workers sharing the pace")
    parser.add_argument("--json", action="store_true", help="also print the rows as JSON")
    options = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    found = asyncio.run(main(options))
    if options.json:
        print(json.dumps(found, indent=2))
