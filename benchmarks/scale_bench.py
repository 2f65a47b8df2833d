"""Scale figures of the roster: CSV import rows/s, export rows/s, and CLI start time.

Run: `python benchmarks/scale_bench.py [--sizes 1000,5000,20000] [--pg URL] [--skip-cli]`.
Generates a realistic roster (24 countries with their cities and languages, country names as
well as codes, 13 instruments, 35 % mentors, Telegram/Slack/none) and imports it with
`handlers.officers.roster.import_csv` into a fresh temporary SQLite database and, with --pg,
into the given PostgreSQL database, which is EMPTIED first. For each size it times a first import
(inserts), a re-import of the same file (updates) and a streamed export. Then it times
`peerbot programmes list` and `peerbot officers list --json` as fresh processes (median of 5)
on an empty database and on the largest roster (SQLite, and PostgreSQL with --pg). Prints
figures, asserts nothing; the last table gives the log-log slope of time against n (1.0 =
linear).

With --match it runs the matching section instead (`match_section`): `match propose` on a
first round at each size, with peak memory, score, greedy and (up to --verify-max) the MILP
optimum, on SQLite and, with --pg, PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from handlers.core.taxonomy import Taxonomy  # noqa: E402
from handlers.officers.roster import COLUMNS, import_csv, stream_csv  # noqa: E402
from storage.db import make_engine, make_sessionmaker  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Base, Programme  # noqa: E402
from storage.uow import UnitOfWork  # noqa: E402

# country code, name as a roster might write it, time zone, languages, cities
COUNTRIES = [
    ("FR", "France", "Europe/Paris", ["fr"], ["Lyon", "Grenoble", "Besançon", "Nantes"]),
    ("DE", "Germany", "Europe/Berlin", ["de"], ["Freiburg", "Köln", "Heidelberg", "Kassel"]),
    ("IT", "Italia", "Europe/Rome", ["it"], ["Milano", "Bologna", "Torino", "Bari"]),
    ("ES", "Spain", "Europe/Madrid", ["es", "ca"], ["Valencia", "Barcelona", "Sevilla"]),
    ("PL", "Polska", "Europe/Warsaw", ["pl"], ["Gdańsk", "Kraków", "Wrocław"]),
    ("CZ", "Czech Republic", "Europe/Prague", ["cs"], ["Brno", "Plzeň", "Ostrava"]),
    ("NL", "Holland", "Europe/Amsterdam", ["nl"], ["Utrecht", "Groningen", "Eindhoven"]),
    ("BE", "BE", "Europe/Brussels", ["nl", "fr"], ["Gent", "Liège", "Leuven"]),
    ("GB", "UK", "Europe/London", ["en"], ["Leeds", "Bristol", "Glasgow"]),
    ("IE", "Ireland", "Europe/Dublin", ["en", "ga"], ["Cork", "Galway"]),
    ("PT", "Portugal", "Europe/Lisbon", ["pt"], ["Porto", "Lisboa", "Braga"]),
    ("GR", "Greece", "Europe/Athens", ["el"], ["Thessaloniki", "Patras"]),
    ("RO", "RO", "Europe/Bucharest", ["ro"], ["Cluj-Napoca", "Iași", "Timișoara"]),
    ("HU", "Hungary", "Europe/Budapest", ["hu"], ["Pécs", "Szeged"]),
    ("SE", "Sweden", "Europe/Stockholm", ["sv"], ["Uppsala", "Malmö", "Umeå"]),
    ("FI", "FI", "Europe/Helsinki", ["fi", "sv"], ["Tampere", "Turku"]),
    ("DK", "Denmark", "Europe/Copenhagen", ["da"], ["Aarhus", "Odense"]),
    ("AT", "Austria", "Europe/Vienna", ["de"], ["Graz", "Linz"]),
    ("SI", "Slovenia", "Europe/Ljubljana", ["sl"], ["Ljubljana", "Maribor"]),
    ("HR", "HR", "Europe/Zagreb", ["hr"], ["Zagreb", "Split"]),
    ("LV", "Latvia", "Europe/Riga", ["lv", "ru"], ["Riga", "Liepāja"]),
    ("LT", "Lithuania", "Europe/Vilnius", ["lt"], ["Vilnius", "Kaunas"]),
    ("EE", "EE", "Europe/Tallinn", ["et", "ru"], ["Tartu", "Tallinn"]),
    ("BG", "Bulgaria", "Europe/Sofia", ["bg"], ["Sofia", "Plovdiv"]),
]
FIRST = ["Marie", "Jan", "Giulia", "Pieter", "Ana", "Jürgen", "Zoë", "Łukasz", "Ioana", "Eva"]
LAST = ["Dubois", "Novák", "Rossi", "Janssens", "García", "Müller", "Nagy", "Kowalska", "Ozola"]
KINDS = ["City of", "Municipality of", "Energy Agency of", "Region of"]
TITLES = ["Energy manager", "Climate officer", "Head of finance", "Project officer", ""]
SECTORS = ["public_buildings", "private_buildings", "mobility", "public_lighting", "cross_sector"]
INSTRUMENTS = [
    "epc",
    "esco",
    "revolving_fund",
    "green_bond",
    "crowdfunding",
    "energy_cooperative",
    "soft_loan",
    "on_bill",
    "ppp",
    "grant",
    "eu_funds",
    "elena",
    "aggregation",
]


def roster(n: int, seed: int = 17) -> str:
    """A CSV of n officers as a coordinator would assemble it."""
    rnd = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for i in range(n):
        code, country, zone, langs, cities = rnd.choice(COUNTRIES)
        mentor = rnd.random() < 0.35
        platform = rnd.choice(["telegram", "slack", ""])
        user_id = {"telegram": str(100000 + i), "slack": f"U{i:08d}", "": ""}[platform]
        writer.writerow(
            [
                f"{rnd.choice(FIRST)} {rnd.choice(LAST)}",
                f"officer{i}@{rnd.choice(cities).lower().replace(' ', '')}.example",
                f"{rnd.choice(KINDS)} {rnd.choice(cities)}",
                country,
                "coordinator" if i % 500 == 0 else "officer",
                ";".join([*langs, "en"] if rnd.random() < 0.8 else langs),
                zone,
                ";".join(rnd.sample(SECTORS, rnd.randint(1, 2))),
                ";".join(rnd.sample(INSTRUMENTS, rnd.randint(1, 3))),
                ";".join(rnd.sample(INSTRUMENTS, rnd.randint(1, 3))) if mentor else "",
                platform,
                user_id,
                "yes" if rnd.random() < 0.97 else "no",
                rnd.choice(TITLES),
            ]
        )
    return out.getvalue()


async def fresh(url: str) -> None:
    """An empty, migrated database with one programme."""
    await upgrade(url)
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    async with UnitOfWork(make_sessionmaker(engine)) as uow:
        await uow.programmes.add(Programme(slug="bench", name="Bench", languages=["en", "fr"]))
        await uow.commit()
    await engine.dispose()


async def measure_import(url: str, n: int, taxonomy: Taxonomy) -> dict[str, float]:
    """Seconds for a first import, a re-import (updates) and a streamed export of n rows."""
    data = roster(n)
    await fresh(url)
    engine = make_engine(url)
    sessionmaker = make_sessionmaker(engine)
    figures: dict[str, float] = {}
    try:
        for label in ("insert", "update"):
            async with UnitOfWork(sessionmaker) as uow:
                home = await uow.programmes.by_slug("bench")
                assert home is not None
                start, cpu = time.perf_counter(), time.process_time()
                report = await import_csv(uow, data, taxonomy, home)
                figures[label] = time.perf_counter() - start
                figures[f"{label} cpu"] = time.process_time() - cpu
            if report.errors:
                print(f"  {len(report.errors)} rows rejected, e.g. {report.errors[0]}")
        async with UnitOfWork(sessionmaker) as uow:
            start = time.perf_counter()
            size = 0
            async for chunk in stream_csv(uow):
                size += len(chunk)
            figures["export"] = time.perf_counter() - start
    finally:
        await engine.dispose()
    return figures


def cli_seconds(url: str, *args: str, runs: int = 5) -> tuple[float, float]:
    """Median wall and CPU (user+sys) seconds of `python -m bot ARGS` as a fresh process."""
    walls, cpus = [], []
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    for _ in range(runs):
        before = os.times()
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "bot", *args], capture_output=True, env=env, cwd=ROOT
        )
        walls.append(time.perf_counter() - start)
        after = os.times()
        cpus.append(
            after.children_user - before.children_user + after.children_system
            - before.children_system
        )  # fmt: skip
        if done.returncode != 0:
            print(f"  {' '.join(args)} failed: {done.stderr.decode()[-300:]}")
    return statistics.median(walls), statistics.median(cpus)


def slope(points: list[tuple[int, float]]) -> float:
    """The least-squares slope of log(time) against log(n)."""
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(max(t, 1e-9)) for _, t in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


# --- matching: `match propose` (load + solve + store) -------------------------------------


def match_section(sizes: list[int], pg: str | None, verify_max: int) -> None:
    """`match propose` on a first round (every mentor slot free), 35 % mentors, per size.

    Seeds `benchmarks/matching_bench.py`'s population (27 countries and their languages, 13
    instruments) and measures each round in a fresh process (`propose_bench.bench_round`):
    wall time, peak RSS, total score against greedy and, up to `verify_max` officers, against
    the optimum of `scipy.optimize.milp` on the same edges.
    """
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from propose_bench import bench_round, line

    with tempfile.TemporaryDirectory() as tmp:
        engines = [("sqlite", f"sqlite+aiosqlite:///{tmp}/match-{{n}}.db")]
        if pg:
            engines.append(("postgresql", pg))
        for name, url in engines:
            print(f"\n{name}: match propose, first round (load average {os.getloadavg()[0]:.1f})")
            points: list[tuple[int, float]] = []
            for n in sizes:
                asyncio.run(upgrade(url.format(n=n)))
                figures = bench_round(url.format(n=n), n, 7, True, 0.35, n <= verify_max)
                print(line(figures, True), flush=True)
                points.append((n, figures["propose_s"]))
            if len(points) > 1:
                print(f"log-log slope of propose time against n: {slope(points):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,20000")
    parser.add_argument("--pg", help="PostgreSQL URL of a database to EMPTY and use")
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--match", action="store_true", help="the matching section instead")
    parser.add_argument("--verify-max", type=int, default=2000, help="MILP check up to this n")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.match:
        match_section(sizes, args.pg, args.verify_max)
        return
    taxonomy = Taxonomy.load(ROOT / "content" / "taxonomy.yaml")
    load = os.getloadavg()[0]
    print(f"roster scale bench; {os.cpu_count()} cores, load average {load:.1f} at start")
    with tempfile.TemporaryDirectory() as tmp:
        engines = [("sqlite", f"sqlite+aiosqlite:///{tmp}/bench-{{n}}.db")]
        if args.pg:
            engines.append(("postgresql", args.pg))
        for name, url in engines:
            print(f"\n{name}: rows/s of wall time (seconds); load {os.getloadavg()[0]:.1f}")
            print(
                f"{'n':>7} {'import':>18} {'re-import':>18} {'export':>18}   "
                "rows per CPU-second of this process: import, re-import"
            )
            growth: dict[str, list[tuple[int, float]]] = {"insert": [], "update": []}
            for n in sizes:
                f = asyncio.run(measure_import(url.format(n=n), n, taxonomy))
                cells = [
                    f"{n / f[k]:>9.0f} ({f[k]:>5.1f} s)" for k in ("insert", "update", "export")
                ]
                per_cpu = [f"{n / f[f'{k} cpu']:>8.0f}" for k in ("insert", "update")]
                print(f"{n:>7} " + " ".join(cells) + "   " + " ".join(per_cpu))
                for k in growth:
                    growth[k].append((n, f[k]))
            if len(sizes) > 1:
                print(
                    "log-log slope of time against n: "
                    + ", ".join(f"{k} {slope(v):.2f}" for k, v in growth.items())
                )
        if args.skip_cli:
            return
        print(f"\nCLI start to finish, median of 5 (load average {os.getloadavg()[0]:.1f})")
        empty = f"sqlite+aiosqlite:///{tmp}/empty.db"
        asyncio.run(fresh(empty))
        largest = engines[0][1].format(n=sizes[-1])
        targets = [("empty db", empty), (f"{sizes[-1]} officers", largest)]
        if args.pg:  # the import section left the largest roster there
            targets.append((f"{sizes[-1]}, PostgreSQL", args.pg))
        for label, url in targets:
            for command in (("programmes", "list"), ("officers", "list", "--json")):
                wall, cpu = cli_seconds(url, *command)
                print(
                    f"  {' '.join(command):<24} {label:<18} {wall:5.2f} s wall, {cpu:5.2f} s CPU"
                    f" (load {os.getloadavg()[0]:.1f})"
                )


if __name__ == "__main__":
    main()
