"""Seconds to queue an announcement to every officer of a large roster.

Run: `python benchmarks/announce_bench.py [--sizes 5000,20000] [--pg URL]`.
Imports the realistic roster of `scale_bench` into a fresh SQLite file and, with --pg, into the
given PostgreSQL database (EMPTIED first), then times what a coordinator's "send to all" costs
until every recipient's row is in the outbox: the announcement (`service.create`, audience
counted) and its expansion into outbox rows (`flow.expand`, as the announcements job runs it),
wall and CPU seconds of this process, and the 1-minute load average after each size (the
machine is shared: compare figures taken at a similar load). Nothing is sent to a platform.
Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scale_bench import fresh, roster  # noqa: E402  (the same folder: run as a script)

from bot.app import build  # noqa: E402
from bot.config import Settings  # noqa: E402
from handlers.announcements import service  # noqa: E402
from handlers.announcements.flow import expand  # noqa: E402
from handlers.audit.service import Coordinator  # noqa: E402
from handlers.officers.roster import import_csv  # noqa: E402
from storage.models import AnnouncementStatus  # noqa: E402


async def measure(url: str, n: int) -> tuple[float, float, float, float, int]:
    """(send wall s, send CPU s, expand wall s, expand CPU s, rows queued) for one
    announcement to all."""
    await fresh(url)
    settings = Settings(database_url=url, PEERBOT_CONTENT_DIR=ROOT / "content")  # type: ignore[call-arg]
    runtime = await build(settings)
    try:
        taxonomy = runtime.content.current.taxonomy
        async with runtime.core.uow() as uow:
            home = await uow.programmes.by_slug("bench")
            assert home is not None
            await import_csv(uow, roster(n), taxonomy, home)
            programme_id = home.id
        async with runtime.core.uow() as uow:  # any officer stands in as the author
            author = (await uow.reports.participants({programme_id}))[0][0]
        who = Coordinator(author, frozenset({programme_id}))
        start, cpu = time.perf_counter(), time.process_time()
        async with runtime.core.uow() as uow:
            queued = await service.create(
                uow,
                service.in_console(who, programme_id, runtime.content.current),
                text="Webinar on energy performance contracts on Thursday",
                audience="",
                now=runtime.clock.now(),
            )
            await uow.commit()
            ann_id = queued.id
        sent, sent_cpu = time.perf_counter() - start, time.process_time() - cpu
        async with runtime.core.uow() as uow:
            ann = await uow.announcements.locked(ann_id)
            assert ann is not None
            ann.status = AnnouncementStatus.SENDING  # due now: the job would start it
            await uow.commit()
        start, cpu = time.perf_counter(), time.process_time()
        rows = await expand(runtime.core, ann_id)
        return sent, sent_cpu, time.perf_counter() - start, time.process_time() - cpu, rows
    finally:
        await runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="5000,20000")
    parser.add_argument("--pg", help="PostgreSQL URL of a database to EMPTY and use")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("sqlite", f"sqlite+aiosqlite:///{tmp}/announce-{{n}}.db")]
        if args.pg:
            targets.append(("postgresql", args.pg))
        print(f"{'database':<11} {'officers':>8} {'queued':>7} {'send s':>7} {'cpu s':>6} "
              f"{'expand s':>9} {'cpu s':>6} {'total s':>8} {'load':>5}")  # fmt: skip
        for name, url in targets:
            for n in sizes:
                found = asyncio.run(measure(url.replace("{n}", str(n)), n))
                sent, sent_cpu, wall, cpu, rows = found
                load = os.getloadavg()[0]
                print(f"{name:<11} {n:>8} {rows:>7} {sent:>7.2f} {sent_cpu:>6.2f} {wall:>9.2f} "
                      f"{cpu:>6.2f} {sent + wall:>8.2f} {load:>5.1f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
