"""A coordinator's group edits at the programme's scale, through the store.

Run: `python benchmarks/group_edits_bench.py [--authorities 180] [--url DATABASE_URL]`.
Seeds the synthetic programme of `groups_bench.py` (one officer per authority, one
application each) into a fresh database (a temporary SQLite file by default; an EMPTY
PostgreSQL database with --url), forms its groups (`service.propose`), then times, each over
several runs: an edit that is refused (a learner moved into a group that does not teach their
scheme) and one accepted (a learner taken out of a group above the minimum) — both re-check
every hard rule of the cycle —, a seat handed over to a colleague, and the cycle's figures.
Prints milliseconds per operation (median of the runs); nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from groups_bench import programme  # noqa: E402

from handlers.core.content import load_content  # noqa: E402
from handlers.groups import edits, service  # noqa: E402
from handlers.groups.figures import cycle_figures  # noqa: E402
from handlers.registry import load_content_parts  # noqa: E402
from storage.db import make_engine, make_sessionmaker  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Officer, OfficerStatus  # noqa: E402
from storage.uow import UnitOfWork  # noqa: E402

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
RUNS = 5


async def run(url: str, authorities: int, seed: int) -> None:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    load_content_parts()
    content = load_content(ROOT / "content")
    problem, _ = programme(authorities, seed)
    tax = content.taxonomy
    codes = tax.codes("instruments")
    scheme = {f"scheme_{n:02d}": codes[n % len(codes)] for n in range(18)}
    async with UnitOfWork(sessions) as uow:
        home = await uow.programmes.default_or_create()
        made = await service.create_cycle(
            uow,
            tax,
            name="Bench cycle",
            starts_on=date(2027, 1, 1),
            ends_on=date(2027, 6, 30),
            modules=[],
            sizes={"max_learners": 6},
        )
        cycle = await uow.cycles.get(made["id"])
        assert cycle is not None
        for unit in problem.units:
            authority = await uow.authorities.get_or_create(f"City {unit.id}", unit.country)
            for n in range(2):  # a colleague for the takeover
                officer = await uow.officers.add(
                    Officer(
                        name=f"Officer {unit.id}.{n}",
                        email=f"o{unit.id}.{n}@bench.example",
                        authority_id=authority.id,
                        programme_id=home.id,
                        languages=sorted(unit.languages),
                        consent_at=NOW,
                        status=OfficerStatus.ACTIVE,
                        mentor_capacity=max(unit.capacity, 1),
                    )
                )
                if n == 0:
                    await service.apply(
                        uow,
                        cycle,
                        officer,
                        list(dict.fromkeys(scheme[s] for s in unit.wants)),
                        list(dict.fromkeys(scheme[s] for s in unit.offers)),
                    )
        await uow.commit()
        started = time.perf_counter()
        formed = await service.propose(uow, cycle, NOW, time_limit=30.0)
        await uow.commit()
        print(
            f"{authorities} authorities: {len(formed['groups'])} groups proposed in "
            f"{time.perf_counter() - started:.1f} s ({formed['figures']['method']})"
        )
    groups = formed["groups"]
    big = next(g for g in groups if len(g["learners"]) > 3)
    other = next(g for g in groups if g["scheme"] != big["scheme"])
    mover = big["learners"][0]["email"]
    timings: dict[str, list[float]] = {
        k: [] for k in ("refused", "accepted", "takeover", "figures")
    }
    for _ in range(RUNS):
        async with UnitOfWork(sessions) as uow:
            started = time.perf_counter()
            with contextlib.suppress(service.Refused):
                await edits.move_member(uow, None, big["id"], mover, other["id"], NOW)
            timings["refused"].append(time.perf_counter() - started)
            started = time.perf_counter()
            await edits.remove_member(uow, None, big["id"], mover, NOW)
            timings["accepted"].append(time.perf_counter() - started)
            await uow.rollback()
        async with UnitOfWork(sessions) as uow:
            leaving = await uow.officers.by_email(big["learners"][1]["email"])
            assert leaving is not None
            started = time.perf_counter()
            await edits.hand_over_seats(uow, content, b"bench", leaving, NOW)
            timings["takeover"].append(time.perf_counter() - started)
            started = time.perf_counter()
            found = await uow.cycles.get(made["id"])
            assert found is not None
            await cycle_figures(uow, found)
            timings["figures"].append(time.perf_counter() - started)
            await uow.rollback()
    for name, values in timings.items():
        print(f"  {name:<9} {statistics.median(values) * 1000:8.1f} ms (median of {RUNS})")
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--authorities", type=int, default=180)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--url", default=None, help="an EMPTY PostgreSQL database")
    args = parser.parse_args()
    url = args.url or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
    asyncio.run(upgrade(url))
    asyncio.run(run(url, args.authorities, args.seed))


if __name__ == "__main__":
    main()
