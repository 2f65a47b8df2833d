"""Where one answered question goes: SQL statements and CPU per update, in process.

N onboarded officers each ask "what is ELENA?"; every question is stored through `Core.accept`
and handled by an `InboxWorker` with a messenger that answers at once (no platform, no network),
so what is measured is peerbot's own path: inbox, claim, handler, replies after commit, record.
Prints statements per update by kind (SELECT/INSERT/UPDATE…), CPU ms per update
(`time.process_time`), and with `--profile` the top functions by cumulative time (cProfile).

Run: `python benchmarks/answer_profile.py [--users 300] [--database-url postgresql+asyncpg://…]
[--profile] [--log-statements] [--bare-seed] [--batch N]` (default: a fresh SQLite file).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import cProfile
import io
import json
import pstats
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, update  # noqa: E402

from bot.app import build  # noqa: E402
from bot.config import Settings  # noqa: E402
from handlers.core.events import Incoming  # noqa: E402
from handlers.core.ports import Capabilities  # noqa: E402
from handlers.core.replies import Reply  # noqa: E402
from handlers.delivery.inbox import Door, InboxWorker  # noqa: E402
from storage.models import Identity, Officer  # noqa: E402
from storage.uow import UnitOfWork  # noqa: E402
from tests.support.outbox_load import fresh_database, seed_officers, telegram_chat  # noqa: E402

QUESTION = "what is ELENA?"
SORT = "tottime"  # `--sort cumulative` for the callers


@dataclass
class Instant:
    """A messenger that answers at once, as a platform with no latency would."""

    platform: str = "telegram"
    capabilities: Capabilities = field(default_factory=lambda: Capabilities(edit=True))
    sent: int = 0

    async def send(self, chat_id: str, reply: Reply) -> str | None:
        self.sent += 1
        return str(self.sent)

    async def edit(self, chat_id: str, message_id: str, reply: Reply) -> str | None:
        return message_id


def shape(sql: str) -> str:
    """A statement on one line (parameters are placeholders, so equal shapes add up)."""
    return " ".join(sql.split())


async def as_onboarded(runtime: Any, home_id: int) -> None:
    """Give the seeded officers what onboarding gives a real one: an authority (loaded with
    the officer on every event) and the chat account's language (else the first question
    stores it, a write a returning officer does not make)."""
    async with UnitOfWork(runtime.sessionmaker) as uow:
        authority = await uow.authorities.get_or_create("Ghent", "BE")
        await uow.session.execute(
            update(Officer).where(Officer.programme_id == home_id).values(authority_id=authority.id)
        )
        await uow.session.execute(update(Identity).values(locale="en"))
        await uow.commit()


async def run(
    users: int,
    url: str | None,
    profile: bool,
    log_statements: bool = False,
    onboarded: bool = True,
    batch: int = 1,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        db = await fresh_database(url, Path(tmp), "profile")
        runtime = await build(Settings(database_url=db))  # type: ignore[call-arg]
        try:
            async with UnitOfWork(runtime.sessionmaker) as uow:
                home = await uow.programmes.default_or_create()
                await uow.commit()
            await seed_officers(runtime.sessionmaker, users, "telegram", programme_id=home.id)
            if onboarded:
                await as_onboarded(runtime, home.id)
            statements: collections.Counter[str] = collections.Counter()
            shapes: collections.Counter[str] = collections.Counter()

            @event.listens_for(runtime.engine.sync_engine, "before_cursor_execute")
            def _count(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
                statements[sql.lstrip().split(None, 1)[0].upper()] += 1
                if log_statements:
                    shapes[shape(sql)] += 1

            @event.listens_for(runtime.engine.sync_engine, "commit")
            def _commit(conn: Any) -> None:
                statements["(COMMIT)"] += 1

            messenger = Instant()
            worker = InboxWorker(runtime.core, {"telegram": Door(messenger)})
            profiler = cProfile.Profile() if profile else None
            use0 = resource.getrusage(resource.RUSAGE_SELF)
            main0 = time.thread_time()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            events = [
                Incoming(
                    "telegram",
                    telegram_chat(i),
                    telegram_chat(i),
                    text=QUESTION,
                    update_id=f"q{i}",
                    locale="en",
                )
                for i in range(users)
            ]
            for start in range(0, users, batch):
                await runtime.core.accept_many(events[start : start + batch])
            await worker.drain(within=600)
            await worker.stop()
            if profiler:
                profiler.disable()
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            main = time.thread_time() - main0
            use = resource.getrusage(resource.RUSAGE_SELF)
            report: dict[str, Any] = {
                "database": "postgresql" if url else "sqlite",
                "updates": users,
                "answered": messenger.sent,
                "cpu_ms_per_update": round(1000 * cpu / users, 2),
                "main_thread_cpu_ms_per_update": round(1000 * main / users, 2),
                "system_cpu_ms_per_update": round(1000 * (use.ru_stime - use0.ru_stime) / users, 2),
                "wall_per_second": round(users / wall, 1),
                "statements_per_update": round(
                    sum(v for k, v in statements.items() if k != "(COMMIT)") / users, 2
                ),
                "commits_per_update": round(statements["(COMMIT)"] / users, 2),
                "by_kind": {k: round(v / users, 2) for k, v in statements.most_common()},
            }
            if log_statements:
                report["statements"] = {k: round(v / users, 2) for k, v in shapes.most_common()}
            if profiler:
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats(SORT).print_stats(45)
                report["profile"] = out.getvalue()
            return report
        finally:
            await runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--log-statements", action="store_true", help="list each statement shape per update"
    )
    parser.add_argument(
        "--bare-seed",
        action="store_true",
        help="officers without authority nor account language (the figures before 2026-12-07)",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=1,
        help="updates stored per transaction (a long-polling batch is up to 100); default 1",
    )
    args = parser.parse_args()
    report = asyncio.run(
        run(
            args.users,
            args.database_url,
            args.profile,
            args.log_statements,
            onboarded=not args.bare_seed,
            batch=max(1, args.batch),
        )
    )
    text = report.pop("profile", None)
    print(json.dumps(report, indent=1))
    if text:
        print(text)


if __name__ == "__main__":
    main()
