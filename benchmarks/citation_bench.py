"""What citing good practices costs an FAQ answer (issue 12): before, every approved practice
was read and filtered in Python, then each cited authority was read on its own; now one query
selects the matching practices with their authority, ordered, with a LIMIT.

Seeds N approved practices (one in ten uses EPC, the rest other instruments) and times, per
answer, the old way (reproduced here) and `practices_citation`, with the SQL statements each
sends. Prints medians over `--runs` answers; nothing is asserted.

Run: `python benchmarks/citation_bench.py [--practices 2000] [--runs 50]
[--database-url postgresql+asyncpg://…]` (default: a fresh SQLite file).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from bot.app import build  # noqa: E402
from bot.config import Settings  # noqa: E402
from handlers.practices.flow import forget_citations, practices_citation  # noqa: E402
from storage.models import GoodPractice  # noqa: E402
from storage.repositories.practices import APPROVED  # noqa: E402
from storage.uow import UnitOfWork  # noqa: E402
from tests.support.outbox_load import fresh_database  # noqa: E402

OTHERS = ("green_bond", "crowdfunding", "revolving_fund", "soft_loan", "grant", "eu_funds")


async def old_citation(uow: UnitOfWork, instruments: list[str], limit: int = 3) -> str | None:
    """The citation as it was computed before: all approved practices, filtered in Python."""
    wanted = set(instruments)
    found = [p for p in await uow.practices.list(status=APPROVED) if wanted & set(p.instruments)]
    if not found:
        return None
    found.sort(key=lambda p: (-len(wanted & set(p.instruments)), -(p.year or 0), p.id))
    items = []
    for practice in found[:limit]:
        authority = (
            await uow.authorities.get(practice.authority_id) if practice.authority_id else None
        )
        items.append(f"{authority.name if authority else '—'} — {practice.title}")
    return "; ".join(items)


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = await fresh_database(args.database_url, Path(folder), "citation")
        runtime = await build(Settings(database_url=url))  # type: ignore[call-arg]
        try:
            async with UnitOfWork(runtime.sessionmaker) as uow:
                places = [await uow.authorities.get_or_create(f"City {n}", "BE") for n in range(50)]
                for n in range(args.practices):
                    code = "epc" if n % 10 == 0 else OTHERS[n % len(OTHERS)]
                    uow.add(
                        GoodPractice(
                            authority_id=places[n % 50].id, sector="public_buildings",
                            instruments=[code], title=f"Practice {n}", year=2000 + n % 25,
                            status=APPROVED, investment_eur=1_000_000 + n,
                        )
                    )  # fmt: skip
                await uow.commit()
            statements: list[str] = []

            def count(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
                statements.append(statement)

            event.listen(runtime.engine.sync_engine, "before_cursor_execute", count)
            content = runtime.content.current

            async def uncached(uow: UnitOfWork) -> str | None:
                forget_citations()  # the query behind the line, not the process's cache
                return await practices_citation(uow, ["epc"], "en", content)

            for name, cite in (
                ("before", lambda uow: old_citation(uow, ["epc"])),
                ("now", uncached),
                ("cached", lambda uow: practices_citation(uow, ["epc"], "en", content)),
            ):
                times, sent = [], []
                for _ in range(args.runs):
                    async with UnitOfWork(runtime.sessionmaker) as uow:
                        statements.clear()
                        start = time.perf_counter()
                        await cite(uow)
                        times.append((time.perf_counter() - start) * 1000)
                        sent.append(len(statements))
                print(
                    f"{name:>6}: {args.practices} approved practices, median "
                    f"{statistics.median(times):.2f} ms per answer "
                    f"(p90 {sorted(times)[int(len(times) * 0.9) - 1]:.2f} ms), "
                    f"{statistics.median(sent):.0f} SQL statements"
                )
        finally:
            await runtime.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--practices", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--database-url", default=None)
    asyncio.run(main(parser.parse_args()))
