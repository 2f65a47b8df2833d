"""A whole matching round through the store: load, solve, store (what `peerbot match propose` does).

Run: `python benchmarks/propose_bench.py [--sizes 500,2000,5000] [--url DATABASE_URL]
[--mentors 0.5] [--first-round-only] [--verify-max 2000]`.
CPU seconds (`time.process_time`, the solver thread included) print beside wall time:
on a shared machine the wall time mostly measures the load.
Seeds the synthetic population of `matching_bench.py` (same seed) into a fresh database
(a temporary SQLite file by default; a PostgreSQL database with --url, EMPTIED first), twice:
with the mentors' live pairs of that bench, and as a first round (every mentor slot free).
Each round is then measured in a fresh process (so its peak memory is its own): the time of
`handlers.pairing.flow.propose` (read + engine + storing the proposed pairs, commit) and its peak
RSS (`resource.getrusage`), then, untimed, `round_input` alone, greedy on the same input and,
up to --verify-max officers, the optimum by `scipy.optimize.milp`. Prints one line per round.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from matching_bench import milp_optimum, population, total  # noqa: E402

from handlers.pairing.flow import propose, round_input  # noqa: E402
from handlers.pairing.solver import solve_greedy  # noqa: E402
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

NOW = datetime(2026, 11, 25, tzinfo=UTC)


async def seed(url: str, n: int, seed_: int, first_round: bool, mentors: float = 0.5) -> None:
    """Officers, authorities, open requests and approved practices of a synthetic round.

    Unless `first_round`, mentors also hold the live pairs the engine bench gives them
    (`Person.active_pairs`, learner unknown), so fewer slots are free.
    """
    people, requests, practices, _ = population(n, seed_, mentors)
    now = NOW
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
        authority_of = {p.id: p.authority_id for p in people}
        await conn.execute(
            insert(GoodPractice),
            [
                {
                    "officer_id": g.officer_id,
                    "authority_id": authority_of[g.officer_id],
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


async def measure(url: str, verify: bool) -> dict[str, float]:
    """Time `propose` and read this process's peak RSS; then greedy (and MILP) untimed."""
    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    try:
        async with UnitOfWork(sessionmaker) as uow:
            started, cpu = time.perf_counter(), time.process_time()
            proposed = await propose(uow, 1, NOW)
            await uow.commit()
            whole, cpu = time.perf_counter() - started, time.process_time() - cpu
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        async with UnitOfWork(sessionmaker) as uow:
            started = time.perf_counter()
            data = await round_input(uow, 1, NOW)
            load = time.perf_counter() - started
    finally:
        await engine.dispose()
    args = (data.people, data.requests, data.practices, data.excluded)
    greedy = solve_greedy(*args)
    figures = {
        "requests": len(data.requests),
        "load_s": load,
        "propose_s": whole,
        "propose_cpu_s": cpu,
        "load_average": os.getloadavg()[0],
        "peak_rss_mb": peak,
        "pairs": len(proposed.pairs),
        "unmatched": len(proposed.round.unmatched or []),
        "score": round(sum(p.score for p in proposed.pairs), 4),
        "greedy_pairs": len(greedy.pairs),
        "greedy_score": round(total(greedy), 4),
    }
    if verify:
        figures["milp_score"] = round(milp_optimum(*args), 4)
    return figures


def bench_round(
    url: str, n: int, seed_: int, first_round: bool, mentors: float, verify: bool
) -> dict[str, float]:
    """Seed a round here, measure `propose` in a fresh process; its figures."""
    asyncio.run(seed(url, n, seed_, first_round, mentors))
    command = [sys.executable, __file__, "--measure", url] + (["--verify"] if verify else [])
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return {"n": n, **json.loads(out.strip().splitlines()[-1])}


def line(figures: dict[str, float], first_round: bool) -> str:
    label = "first round " if first_round else "busy mentors"
    optimum = figures.get("milp_score")
    check = "-" if optimum is None else f"{optimum:.4f}"
    return (
        f"{figures['n']:>6} officers, {label}, {figures['requests']:>5} requests: "
        f"propose (load + solve + store) {figures['propose_s']:6.2f} s "
        f"(CPU {figures['propose_cpu_s']:.2f} s, load average {figures['load_average']:.1f}), "
        f"peak RSS "
        f"{figures['peak_rss_mb']:5.0f} MB (load alone {figures['load_s']:5.2f} s); "
        f"{figures['pairs']} pairs, {figures['unmatched']} unmatched, score "
        f"{figures['score']:.4f}; greedy {figures['greedy_pairs']} pairs, "
        f"{figures['greedy_score']:.4f}; MILP optimum {check}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="500,2000,5000")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mentors", type=float, default=0.5, help="share of mentors")
    parser.add_argument("--first-round-only", action="store_true")
    parser.add_argument("--verify-max", type=int, default=2000, help="MILP check up to this n")
    parser.add_argument(
        "--url", default=None, help="an empty PostgreSQL database (default: SQLite)"
    )
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: the child process
    parser.add_argument("--verify", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(asyncio.run(measure(args.measure, args.verify))))
        return
    for n in [int(x) for x in args.sizes.split(",")]:
        for first_round in (True,) if args.first_round_only else (False, True):
            url = args.url or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench.db"
            asyncio.run(upgrade(url))
            figures = bench_round(
                url, n, args.seed, first_round, args.mentors, n <= args.verify_max
            )
            print(line(figures, first_round), flush=True)


if __name__ == "__main__":
    main()
