"""Matching bench: optimal vs greedy on seeded synthetic rounds, optimum checked by a MILP.

Run: `python benchmarks/matching_bench.py [--sizes 500,2000,5000] [--seed 7] [--verify-max 500]`.
Half the officers are learners (1-2 requests each), half mentors (a few good practices each);
27 EU countries, languages = national language(s) + English for most + sometimes a third one,
Zipf-like instrument popularity. For sizes <= --verify-max the optimum is recomputed
independently with scipy.optimize.milp (HiGHS) on the engine's scored edges, and every proposed
pair is re-checked against the hard constraints from the raw data. Asserts optimality, < 2 min.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from handlers.pairing.solver import (  # noqa: E402
    Person,
    Practice,
    Request,
    RoundResult,
    candidate_edges,
    solve_greedy,
    solve_round,
)

# country: (population in millions, national languages with their shares)
COUNTRIES: dict[str, tuple[float, list[tuple[str, float]]]] = {
    "AT": (9.1, [("de", 1.0)]),
    "BE": (11.8, [("nl", 0.6), ("fr", 0.4)]),
    "BG": (6.4, [("bg", 1.0)]),
    "HR": (3.9, [("hr", 1.0)]),
    "CY": (0.9, [("el", 1.0)]),
    "CZ": (10.9, [("cs", 1.0)]),
    "DK": (5.9, [("da", 1.0)]),
    "EE": (1.4, [("et", 1.0)]),
    "FI": (5.6, [("fi", 0.9), ("sv", 0.1)]),
    "FR": (68.2, [("fr", 1.0)]),
    "DE": (84.4, [("de", 1.0)]),
    "GR": (10.4, [("el", 1.0)]),
    "HU": (9.6, [("hu", 1.0)]),
    "IE": (5.3, [("en", 1.0)]),
    "IT": (59.0, [("it", 1.0)]),
    "LV": (1.9, [("lv", 1.0)]),
    "LT": (2.9, [("lt", 1.0)]),
    "LU": (0.7, [("fr", 0.5), ("de", 0.3), ("lb", 0.2)]),
    "MT": (0.5, [("mt", 0.5), ("en", 0.5)]),
    "NL": (17.9, [("nl", 1.0)]),
    "PL": (36.8, [("pl", 1.0)]),
    "PT": (10.5, [("pt", 1.0)]),
    "RO": (19.1, [("ro", 1.0)]),
    "SK": (5.4, [("sk", 1.0)]),
    "SI": (2.1, [("sl", 1.0)]),
    "ES": (48.6, [("es", 0.85), ("ca", 0.15)]),
    "SE": (10.5, [("sv", 1.0)]),
}
INSTRUMENTS = [  # by popularity
    "epc",
    "eu_funds",
    "grant",
    "revolving_fund",
    "soft_loan",
    "esco",
    "green_bond",
    "energy_cooperative",
    "ppp",
    "elena",
    "crowdfunding",
    "aggregation",
    "on_bill",
]
SECTORS = ["public_buildings", "public_lighting", "private_buildings", "mobility", "cross_sector"]
EXTRA_LANGUAGES = ["fr", "de", "es", "it"]


def zipf_sample(rng: random.Random, items: list[str], k: int, s: float = 1.0) -> frozenset[str]:
    """k distinct items, item of rank r drawn with weight 1 / r**s."""
    weights = [1.0 / (r + 1) ** s for r in range(len(items))]
    chosen: set[str] = set()
    while len(chosen) < min(k, len(items)):
        chosen.add(rng.choices(items, weights)[0])
    return frozenset(chosen)


def population(
    n: int, seed: int, mentor_share: float = 0.5
) -> tuple[list[Person], list[Request], list[Practice], set[tuple[int, int]]]:
    """n officers (`mentor_share` of them mentors, spread evenly) in authorities of 1-3."""
    rng = random.Random(seed)
    codes = list(COUNTRIES)
    country_w = [math.sqrt(COUNTRIES[c][0]) for c in codes]
    people: list[Person] = []
    authority = 0
    left = 0
    country, size, auth_name = "FR", 0, ""
    for pid in range(1, n + 1):
        if left == 0:
            authority += 1
            left = rng.choice([1, 1, 2, 3])
            country = rng.choices(codes, country_w)[0]
            size = int(10 ** (3.7 + 2.8 * rng.random() ** 1.5))
            auth_name = f"City {authority} ({country})"
        left -= 1
        langs, shares = zip(*COUNTRIES[country][1], strict=True)
        languages = {rng.choices(langs, shares)[0]}
        if rng.random() < 0.7:
            languages.add("en")
        if rng.random() < 0.25:
            languages.add(rng.choice(EXTRA_LANGUAGES))
        if mentor_share == 0.5:
            learner = pid % 2 == 1
        else:
            learner = math.floor(pid * mentor_share) == math.floor((pid - 1) * mentor_share)
        common: dict[str, Any] = {
            "id": pid,
            "name": f"Officer {pid}",
            "authority_id": authority,
            "authority_name": auth_name,
            "country": country,
            "population": size if rng.random() > 0.05 else None,
            "languages": frozenset(languages),
            "sectors": zipf_sample(rng, SECTORS, rng.choice([1, 1, 2, 3]), 0.7),
        }
        if learner:
            wants = zipf_sample(rng, INSTRUMENTS, rng.choice([1, 2, 2, 3]))
            people.append(
                Person(
                    **common,
                    wants=wants,
                    offers=frozenset(),
                    waiting_days=rng.randint(0, 120),
                )
            )
        else:
            cap = rng.choice([1, 2, 2, 3])
            people.append(
                Person(
                    **common,
                    wants=frozenset(),
                    offers=zipf_sample(rng, INSTRUMENTS, rng.choice([1, 2, 3, 4])),
                    capacity=cap,
                    active_pairs=rng.choice([0, 0, 0, 1, cap]),
                )
            )
    requests: list[Request] = []
    practices: list[Practice] = []
    excluded: set[tuple[int, int]] = set()
    mentors = [p for p in people if p.offers]
    for p in people:
        if p.wants:
            wanted = sorted(p.wants)
            k = 2 if len(wanted) >= 2 and rng.random() < 0.5 else 1
            for topic in rng.sample(wanted, k):
                requests.append(Request(p.id, None if rng.random() < 0.15 else topic))
            if rng.random() < 0.05:
                for m in rng.sample(mentors, 2):
                    excluded.add((p.id, m.id))
        else:
            for _ in range(rng.choice([0, 1, 1, 2, 3])):
                k = min(len(p.offers), rng.choice([1, 2]))
                inst = frozenset(rng.sample(sorted(p.offers), k))
                sector = rng.choice(sorted(p.sectors))
                practices.append(
                    Practice(
                        id=len(practices) + 1,
                        officer_id=p.id,
                        authority_name=p.authority_name,
                        title=f"{', '.join(sorted(inst))} for {sector.replace('_', ' ')}",
                        sector=sector,
                        instruments=inst,
                        year=rng.randint(2012, 2025),
                        summary="",
                    )
                )
    return people, requests, practices, excluded


def total(result: RoundResult) -> float:
    return sum(p.score for p in result.pairs)


def check_hard_constraints(
    result: RoundResult,
    people: list[Person],
    requests: list[Request],
    excluded: set[tuple[int, int]],
) -> None:
    """Every pair respects the hard constraints, recomputed from the raw data."""
    by_id = {p.id: p for p in people}
    asked = {(r.learner_id, r.topic) for r in requests}
    load = Counter(p.mentor_id for p in result.pairs)
    twice = Counter((p.learner_id, p.mentor_id) for p in result.pairs)
    for pair in result.pairs:
        learner, mentor = by_id[pair.learner_id], by_id[pair.mentor_id]
        assert learner.languages & mentor.languages, pair
        assert learner.authority_id != mentor.authority_id, pair
        assert learner.id != mentor.id, pair
        assert (learner.id, mentor.id) not in excluded, pair
        assert pair.topic in mentor.offers, pair
        assert (learner.id, pair.topic) in asked or (
            (learner.id, None) in asked and pair.topic in learner.wants
        ), pair
        assert load[mentor.id] <= mentor.capacity - mentor.active_pairs, pair
        assert twice[(learner.id, mentor.id)] == 1, pair


def milp_optimum(
    people: list[Person],
    requests: list[Request],
    practices: list[Practice],
    excluded: set[tuple[int, int]],
) -> float:
    """Independent optimum: 0/1 program over the scored edges (HiGHS branch and bound)."""
    edges = candidate_edges(people, requests, practices, excluded)
    k = len(edges.edge_score)
    if not k:
        return 0.0
    idx = np.arange(k)
    n_rows, n_mentors = len(edges.rows), len(edges.mentor_ids)
    one_per_row = coo_matrix((np.ones(k), (edges.edge_row, idx)), shape=(n_rows, k))
    per_mentor = coo_matrix((np.ones(k), (edges.edge_mentor, idx)), shape=(n_mentors, k))
    pair_key = edges.learner_ids[edges.edge_row] * (n_mentors + 1) + edges.edge_mentor
    _, pair_of_edge = np.unique(pair_key, return_inverse=True)
    once = coo_matrix((np.ones(k), (pair_of_edge, idx)), shape=(int(pair_of_edge.max()) + 1, k))
    res = milp(
        c=-edges.edge_score,
        constraints=[
            LinearConstraint(one_per_row, 0, 1),
            LinearConstraint(per_mentor, 0, edges.free),
            LinearConstraint(once, 0, 1),
        ],
        integrality=np.ones(k),
        bounds=Bounds(0, 1),
    )
    assert res.success, res.message
    return float(-res.fun)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="500,2000,5000")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--verify-max", type=int, default=500, help="MILP check up to this size")
    args = parser.parse_args()
    header = (
        f"{'n':>6} {'requests':>8} {'pairs':>6} {'opt s':>7} {'opt score':>11} "
        f"{'greedy s':>8} {'gr pairs':>8} {'greedy score':>12} {'gain':>6} {'milp score':>11}"
    )
    print(header)
    print("-" * len(header))
    for n in (int(s) for s in args.sizes.split(",") if s.strip()):
        people, requests, practices, excluded = population(n, args.seed)
        t0 = time.perf_counter()
        best = solve_round(people, requests, practices, excluded)
        t_opt = time.perf_counter() - t0
        t0 = time.perf_counter()
        greedy = solve_greedy(people, requests, practices, excluded)
        t_greedy = time.perf_counter() - t0
        check_hard_constraints(best, people, requests, excluded)
        check_hard_constraints(greedy, people, requests, excluded)
        check = "-"
        if n <= args.verify_max:
            exact = milp_optimum(people, requests, practices, excluded)
            assert abs(exact - total(best)) <= 1e-6, (exact, total(best))
            check = f"{exact:.4f}"
        assert total(best) >= total(greedy) - 1e-6
        gain = 100.0 * (total(best) / total(greedy) - 1.0) if greedy.pairs else 0.0
        n_req = len(best.pairs) + len(best.unmatched)
        print(
            f"{n:>6} {n_req:>8} {len(best.pairs):>6} {t_opt:>7.2f} {total(best):>11.4f} "
            f"{t_greedy:>8.2f} {len(greedy.pairs):>8} {total(greedy):>12.4f} {gain:>5.2f}% "
            f"{check:>11}"
        )


if __name__ == "__main__":
    main()
