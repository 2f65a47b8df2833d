"""A whole matching round through the store: load, solve, store (what `peerbot match propose` does).

Run: `python benchmarks/propose_bench.py [--sizes 500,2000,5000] [--url DATABASE_URL]`.
Seeds the synthetic population of `matching_bench.py` (same seed) into a fresh database
(a temporary SQLite file by default; a PostgreSQL database with --url, EMPTIED first), twice:
with the mentors' live pairs of that bench, and as a first round (every mentor slot free).
It times
`handlers.matching.round_input` (reading officers, requests, practices and past pairs) and
`handlers.matching.propose` (the same read + the engine + storing the proposed pairs, commit).
Prints one line per size.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from matching_bench import population  # noqa: E402

from handlers.matching import propose, round_input  # noqa: E402
from storage.db import make_engine, make_sessionmaker  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import (  # noqa: E402
    Authority,
    Base,
    GoodPractice,
    MatchRequest,
    Officer,
    Pair,
    Programme,
)
from storage.uow import UnitOfWork  # noqa: E402


async def seed(url: str, n: int, seed_: int, first_round: bool) -> None:
    """Officers, authorities, open requests and approved practices of a synthetic round.

    Unless `first_round`, mentors also hold the live pairs the engine bench gives them
    (`Person.active_pairs`, learner unknown), so fewer slots are free.
    """
    people, requests, practices, _ = population(n, seed_)
    now = datetime(2026, 11, 25, tzinfo=UTC)
    engine = make_engine(url)
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        await conn.execute(insert(Programme).values(id=1, slug="bench", name="Bench"))
        authorities = {
            p.authority_id: {
                "id": p.authority_id,
                "name": p.authority_name,
                "country": p.country,
                "population": p.population,
                "kind": "municipality",
                "created_at": now,
            }
            for p in people
        }
        await conn.execute(insert(Authority), list(authorities.values()))
        await conn.execute(
            insert(Officer),
            [
                {
                    "id": p.id,
                    "name": p.name,
                    "email": f"o{p.id}@bench.example",
                    "authority_id": p.authority_id,
                    "programme_id": 1,
                    "role": "officer",
                    "languages": sorted(p.languages),
                    "timezone": "Europe/Brussels",
                    "sectors": sorted(p.sectors),
                    "wants": sorted(p.wants),
                    "offers": sorted(p.offers),
                    "mentor_capacity": p.capacity,
                    "consent_at": now,
                    "status": "active",
                    "created_at": now - timedelta(days=p.waiting_days),
                    "updated_at": now,
                }
                for p in people
            ],
        )
        await conn.execute(
            insert(MatchRequest),
            [
                {"officer_id": r.learner_id, "topic": r.topic, "status": "open", "created_at": now}
                for r in requests
            ],
        )
        await conn.execute(
            insert(GoodPractice),
            [
                {
                    "officer_id": g.officer_id,
                    "authority_id": next(p.authority_id for p in people if p.id == g.officer_id),
                    "sector": g.sector,
                    "instruments": sorted(g.instruments),
                    "title": g.title,
                    "summary": g.summary,
                    "figures": {},
                    "year": g.year,
                    "status": "approved",
                    "created_at": now,
                }
                for g in practices
            ],
        )
        busy = [p for p in people if p.offers and p.active_pairs and not first_round]
        if busy:
            await conn.execute(
                insert(Pair),
                [
                    {
                        "programme_id": 1,
                        "mentor_id": p.id,
                        "topic": sorted(p.offers)[0],
                        "score": 0.0,
                        "reasons": [],
                        "status": "active",
                        "flagged": False,
                        "threads": {},
                        "created_at": now,
                        "updated_at": now,
                    }
                    for p in busy
                    for _ in range(p.active_pairs)
                ],
            )
    await engine.dispose()


async def run(url: str, n: int, seed_: int, first_round: bool) -> str:
    await seed(url, n, seed_, first_round)
    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    now = datetime(2026, 11, 25, tzinfo=UTC)
    try:
        async with UnitOfWork(sessionmaker) as uow:
            started = time.perf_counter()
            data = await round_input(uow, 1, now)
            load = time.perf_counter() - started
        async with UnitOfWork(sessionmaker) as uow:
            started = time.perf_counter()
            proposed = await propose(uow, 1, now)
            await uow.commit()
            whole = time.perf_counter() - started
    finally:
        await engine.dispose()
    score = sum(p.score for p in proposed.pairs)
    label = "first round " if first_round else "busy mentors"
    return (
        f"{n:>5} officers, {label}, {len(data.requests):>5} requests: load {load:5.2f} s, "
        f"propose (load + solve + store) {whole:5.2f} s, {len(proposed.pairs)} pairs, "
        f"{len(proposed.round.unmatched or [])} unmatched, total score {score:.1f}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="500,2000,5000")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--url", default=None, help="an empty PostgreSQL database (default: SQLite)"
    )
    args = parser.parse_args()
    for n in [int(x) for x in args.sizes.split(",")]:
        for first_round in (False, True):
            url = args.url or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
            await upgrade(url)
            print(await run(url, n, args.seed, first_round), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
