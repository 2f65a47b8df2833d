"""Group formation at the programme's scale: time, hard constraints, objective vs optimum/greedy.

    python -m benchmarks.groups_bench [--seed 7] [--big 2000] [--limit 60] [--gap 0.01]
                                      [--sweep 1-8] [--sweep-exact]

A synthetic programme like PROSPECT's (29 countries, 18 schemes, about one mentor authority in
six, officers speaking their own language and often English) is generated from a seed. It prints,
for 180 authorities / 600 officers: the seconds `solve` takes to form groups within `--gap` of
the optimum (its proven bound and gap), whether every hard constraint holds, its objective
against the exact optimum (the same solve with gap 0) and against greedy, and the `spread`
heuristic alone (what `solve` starts from). On
small instances the exact optimum is also found by brute force over every way of grouping, to
check the MILP against it. Then the time for `--big` authorities (over `MILP_COLUMNS`: spread).
CPU seconds print beside wall seconds: on a shared machine the wall time mostly measures the load.
Last, `--sweep` seeds of the 180-authority programme, one line each (`--sweep ""`: none); with
`--sweep-exact` each line also gives the exact optimum (the solve with gap 0: seconds a seed).
"""

from __future__ import annotations

import argparse
import os
import random
import time

from handlers.groups.solver import (
    Problem,
    Sizes,
    Solution,
    Unit,
    exhaustive,
    greedy,
    solve,
    spread,
    violations,
)

COUNTRIES = [
    ("FR", "fr", 1), ("DE", "de", 1), ("IT", "it", 1), ("ES", "es", 1), ("PT", "pt", 0),
    ("BE", "fr", 1), ("NL", "nl", 1), ("PL", "pl", 1), ("GR", "el", 2), ("HR", "hr", 1),
    ("RO", "ro", 2), ("BG", "bg", 2), ("CZ", "cs", 1), ("SK", "sk", 1), ("SI", "sl", 1),
    ("AT", "de", 1), ("HU", "hu", 1), ("SE", "sv", 1), ("FI", "fi", 2), ("DK", "da", 1),
    ("IE", "en", 0), ("LT", "lt", 2), ("LV", "lv", 2), ("EE", "et", 2), ("CY", "el", 2),
    ("MT", "en", 1), ("LU", "fr", 1), ("NO", "no", 1), ("UA", "uk", 2),
]  # fmt: skip
SCHEMES = [f"scheme_{n:02d}" for n in range(18)]


def programme(authorities: int, seed: int) -> tuple[Problem, int]:
    """A random programme; returns the problem and how many officers it stands for."""
    rng = random.Random(seed)
    units = []
    officers = 0
    popular = SCHEMES[:6]
    for a in range(authorities):
        country, own, hour = rng.choice(COUNTRIES)
        langs = {own}
        if rng.random() < 0.8:
            langs.add("en")
        if rng.random() < 0.15:
            langs.add(rng.choice(["fr", "de", "es", "it"]))
        officers += rng.choice([2, 3, 3, 4, 4, 4])  # 600 officers for 180 authorities
        mentor = rng.random() < 0.17
        pool = popular * 2 + SCHEMES
        wants = tuple(dict.fromkeys(rng.sample(pool, 3)))[: rng.choice([1, 2, 3])]
        offers = frozenset(rng.sample(SCHEMES, rng.choice([1, 2]))) if mentor else frozenset()
        units.append(
            Unit(
                id=a + 1,
                name=f"Authority {a + 1}",
                country=country,
                languages=frozenset(langs),
                wants=() if mentor and rng.random() < 0.5 else wants,
                offers=offers,
                capacity=rng.choice([1, 2]) if mentor else 0,
                utc_hour=hour,
                size=rng.choice(["small", "medium", "large"]),
                practices=frozenset(o for o in sorted(offers) if rng.random() < 0.5),
            )
        )
    return Problem(units=units, sizes=Sizes()), officers


def tiny(seed: int) -> Problem:
    rng = random.Random(seed)
    units = []
    for a in range(9):
        country, own, hour = rng.choice(COUNTRIES[:8])
        mentor = a < 2
        units.append(
            Unit(
                id=a + 1,
                name=f"T{a + 1}",
                country=country,
                languages=frozenset({own, "en"} if rng.random() < 0.7 else {own}),
                wants=() if mentor else tuple(rng.sample(["a", "b"], rng.choice([1, 2]))),
                offers=frozenset(rng.sample(["a", "b"], 1)) if mentor else frozenset(),
                capacity=1 if mentor else 0,
                utc_hour=hour,
                size=rng.choice(["small", "large"]),
            )
        )
    return Problem(units=units, sizes=Sizes(1, 1, 2, 4))


def _gap(found: Solution) -> str:
    return "n/a (no bound)" if found.gap is None else f"{100 * found.gap:.3f} %"


def _seeds(text: str) -> list[int]:
    """'1-8' or '1,3,4' (or a mix) as a list of seeds."""
    seeds: list[int] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        first, _, last = part.partition("-")
        seeds += range(int(first), int(last or first) + 1)
    return seeds


def sweep(seeds: list[int], limit: float, gap: float, exact: bool) -> None:
    """One line per seed: the figures the issue sets (time, hard rules, gap, vs greedy)."""
    print(f"180 authorities, seeds {seeds}: solve (gap {gap}) per seed")
    worst = 0.0
    for seed in seeds:
        problem, officers = programme(180, seed)
        started, cpu = time.perf_counter(), time.process_time()
        found = solve(problem, time_limit=limit, gap=gap)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        worst = max(worst, cpu)
        base = greedy(problem)
        line = (
            f"  seed {seed:2d} (~{officers} officers): {wall:5.2f} s wall ({cpu:.2f} s CPU), "
            f"objective {found.objective:.1f}, bound {found.bound or 0:.1f}, "
            f"proven gap {_gap(found)}, +{100 * (found.objective / base.objective - 1):.1f} % "
            f"over greedy, broken: {len(violations(problem, found.groups))}"
        )
        if exact:
            optimum = solve(problem, time_limit=limit, gap=0.0)
            line += f", {100 * (1 - found.objective / optimum.objective):.3f} % below the optimum"
        print(line, f"[load {os.getloadavg()[0]:.1f}]", flush=True)
    print(f"  slowest: {worst:.2f} s CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--big", type=int, default=2000)
    parser.add_argument("--limit", type=float, default=60.0, help="MILP time limit, seconds")
    parser.add_argument("--gap", type=float, default=0.01, help="relative gap solve stops at")
    parser.add_argument("--sweep", default="1-8", help="seeds, one line each: '1-8', '1,4'")
    parser.add_argument("--sweep-exact", action="store_true", help="and each seed's optimum")
    args = parser.parse_args()
    print(f"load average at the start: {os.getloadavg()[0]:.1f} (2 cores)")

    checked = []
    for seed in range(5):
        problem = tiny(seed)
        optimum = exhaustive(problem)
        found = solve(problem, time_limit=10)
        checked.append((found.objective, optimum, greedy(problem).objective))
    print("tiny instances (9 authorities): MILP / brute-force optimum / greedy")
    for got, optimum, baseline in checked:
        print(f"  {got:8.2f} / {optimum:8.2f} / {baseline:8.2f}")

    problem, officers = programme(180, args.seed)
    started, cpu = time.perf_counter(), time.process_time()
    found = solve(problem, time_limit=args.limit, gap=args.gap)
    milp_s, milp_cpu = time.perf_counter() - started, time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    exact = solve(problem, time_limit=args.limit, gap=0.0)
    exact_s, exact_cpu = time.perf_counter() - started, time.process_time() - cpu
    base = greedy(problem)
    placed = len({a for g in found.groups for a in g.members})
    print(f"180 authorities / ~{officers} officers / {len(SCHEMES)} schemes (seed {args.seed})")
    print(
        f"  solve (gap {args.gap}): {milp_s:6.2f} s wall ({milp_cpu:.2f} s CPU), "
        f"{len(found.groups)} groups, {placed} authorities placed,"
    )
    print(
        f"          objective {found.objective:.2f}, proven bound {found.bound or 0:.2f}, "
        f"proven gap {_gap(found)}, hard constraints broken: "
        f"{len(violations(problem, found.groups))}"
    )
    print(
        f"  exact (gap 0): {exact_s:6.2f} s wall ({exact_cpu:.2f} s CPU), optimum "
        f"{exact.objective:.2f} (bound {exact.bound or 0:.2f}, proven optimal: {exact.optimal})"
    )
    if exact.objective:
        print(f"  solve is {100 * (1 - found.objective / exact.objective):.3f} % below the optimum")
    g_placed = len({a for g in base.groups for a in g.members})
    print(
        f"  greedy: {base.seconds:6.2f} s, {len(base.groups)} groups, {g_placed} placed, "
        f"objective {base.objective:.2f}, broken: {len(violations(problem, base.groups))}"
    )
    if base.objective:
        print(f"  solve better than greedy by {100 * (found.objective / base.objective - 1):.1f} %")
    started, cpu = time.perf_counter(), time.process_time()
    fast = spread(problem)
    fast_s, fast_cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"  spread: {fast_s:6.2f} s wall ({fast_cpu:.2f} s CPU), {len(fast.groups)} groups, "
        f"objective {fast.objective:.2f} "
        f"({100 * (1 - fast.objective / exact.objective):.2f} % below the optimum), "
        f"better than greedy by {100 * (fast.objective / base.objective - 1):.1f} %, "
        f"broken: {len(violations(problem, fast.groups))}"
    )

    big, big_officers = programme(args.big, args.seed)
    started, cpu = time.perf_counter(), time.process_time()
    large = solve(big, time_limit=args.limit)
    seconds, big_cpu = time.perf_counter() - started, time.process_time() - cpu
    base = greedy(big)
    print(f"{args.big} authorities / ~{big_officers} officers:")
    print(
        f"  solve:  {seconds:6.2f} s wall ({big_cpu:.2f} s CPU, {large.method}), "
        f"{len(large.groups)} groups, "
        f"objective {large.objective:.2f}, gap {_gap(large)}, "
        f"broken: {len(violations(big, large.groups))}"
    )
    print(f"  greedy: {base.seconds:6.2f} s, objective {base.objective:.2f}")
    if base.objective:
        print(f"  better than greedy by {100 * (large.objective / base.objective - 1):.1f} %")
    print(f"  load average: {os.getloadavg()[0]:.1f} (2 cores)")
    sweep(_seeds(args.sweep), args.limit, args.gap, args.sweep_exact)
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (2 cores)")


if __name__ == "__main__":
    main()
