"""Seconds for the dashboard's figures (`report --json`) on a large roster.

Run: `python benchmarks/report_bench.py [--sizes 5000,20000] [--pg URL]`.
Imports the realistic roster of `scale_bench` (24 countries, 13 instruments, 35 % mentors,
Telegram/Slack/none) into a fresh SQLite file and, with --pg, into the given PostgreSQL
database, which is EMPTIED first; then builds the report three times and prints the median
wall and CPU seconds and the peak memory the report added. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scale_bench import fresh, roster  # noqa: E402  (the same folder: run as a script)

from handlers.core.taxonomy import Taxonomy  # noqa: E402
from handlers.officers.roster import import_csv  # noqa: E402
from handlers.report.figures import build_report  # noqa: E402
from storage.db import make_engine, make_sessionmaker  # noqa: E402
from storage.uow import UnitOfWork  # noqa: E402


async def measure(url: str, n: int, taxonomy: Taxonomy) -> tuple[float, float, float, int]:
    """(median wall s, median CPU s, peak MB, participants) of the report over n officers."""
    await fresh(url)
    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    try:
        async with UnitOfWork(sessionmaker) as uow:
            home = await uow.programmes.by_slug("bench")
            assert home is not None
            await import_csv(uow, roster(n), taxonomy, home)
            ids = {home.id}
        walls, cpus, peak, participants = [], [], 0.0, 0
        for _ in range(3):
            tracemalloc.start()
            start, cpu = time.perf_counter(), time.process_time()
            async with UnitOfWork(sessionmaker) as uow:
                report = await build_report(uow, ids, datetime.now(UTC))
            walls.append(time.perf_counter() - start)
            cpus.append(time.process_time() - cpu)
            peak = max(peak, tracemalloc.get_traced_memory()[1] / 1e6)
            tracemalloc.stop()
            participants = report.participants
        return statistics.median(walls), statistics.median(cpus), peak, participants
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="5000,20000")
    parser.add_argument("--pg", help="PostgreSQL URL of a database to EMPTY and use")
    args = parser.parse_args()
    taxonomy = Taxonomy.load(ROOT / "content" / "taxonomy.yaml")
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("sqlite", f"sqlite+aiosqlite:///{tmp}/report-{{n}}.db")]
        if args.pg:
            targets.append(("postgresql", args.pg))
        print(f"{'database':<11} {'officers':>8} {'participants':>12} {'wall s':>7} "
              f"{'cpu s':>6} {'peak MB':>8}")  # fmt: skip
        for name, url in targets:
            for n in sizes:
                where = url.replace("{n}", str(n))
                wall, cpu, peak, participants = asyncio.run(measure(where, n, taxonomy))
                print(f"{name:<11} {n:>8} {participants:>12} {wall:>7.2f} {cpu:>6.2f} "
                      f"{peak:>8.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
