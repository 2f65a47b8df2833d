"""Group formation: every hard constraint holds, the optimum is found and beats greedy."""

from __future__ import annotations

import random

import pytest

import handlers.groups.solver as groups_solver
from handlers.groups.solver import (
    NO_LANGUAGE,
    NO_LEARNERS,
    NO_MENTOR,
    TOO_FEW,
    Problem,
    Sizes,
    Unit,
    evaluate,
    exhaustive,
    greedy,
    solve,
    spread,
    violations,
)

COUNTRIES = ["FR", "DE", "IT", "ES", "PL", "BE", "NL", "HR", "GR", "PT"]


def learner(n: int, country: str, *wants: str, langs: tuple[str, ...] = ("en",)) -> Unit:
    return Unit(n, f"City {n}", country, frozenset(langs), wants=tuple(wants), capacity=0)


def mentor(n: int, country: str, *offers: str, langs: tuple[str, ...] = ("en",)) -> Unit:
    return Unit(n, f"Mentor {n}", country, frozenset(langs), offers=frozenset(offers), capacity=1)


def test_the_optimum_places_everyone_where_greedy_fills_the_popular_scheme_first() -> None:
    # seven learner authorities want EPC first and green bonds second; one mentor each
    units = [mentor(1, "FR", "epc"), mentor(2, "DE", "green_bond")]
    units += [learner(10 + i, COUNTRIES[i], "epc", "green_bond") for i in range(7)]
    problem = Problem(units, Sizes(1, 1, 3, 6))

    base = greedy(problem)
    best = solve(problem)

    assert [len(g.learners) for g in base.groups] == [6]  # EPC takes six, one is left alone
    assert sorted(len(g.learners) for g in best.groups) == [3, 4]
    assert best.unplaced == {} and not violations(problem, best.groups)
    assert best.objective > base.objective
    assert best.optimal and best.objective == pytest.approx(evaluate(problem, best.groups))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_milp_finds_the_exact_optimum_of_small_programmes(seed: int) -> None:
    rng = random.Random(seed)
    units = [mentor(1, "FR", "a", langs=("fr", "en")), mentor(2, "IT", "b", langs=("it",))]
    for n in range(3, 10):
        langs = ("en", "it") if rng.random() < 0.5 else ("en",)
        wants = rng.sample(["a", "b"], rng.choice([1, 2]))
        units.append(learner(n, rng.choice(COUNTRIES[:5]), *wants, langs=langs))
    problem = Problem(units, Sizes(1, 1, 2, 4))

    assert solve(problem).objective == pytest.approx(exhaustive(problem))


def test_every_hard_constraint_holds_on_a_mixed_programme() -> None:
    rng = random.Random(7)
    units = []
    for n in range(1, 61):
        langs = {rng.choice(["fr", "de", "it", "es", "pl"])} | (
            {"en"} if rng.random() < 0.7 else set()
        )
        country = rng.choice(COUNTRIES)
        if n % 6 == 0:
            offers = frozenset(rng.sample(["epc", "esco", "green_bond", "grant"], 2))
            units.append(Unit(n, f"M{n}", country, frozenset(langs), offers=offers, capacity=2))
        else:
            wants = tuple(rng.sample(["epc", "esco", "green_bond", "grant", "ppp"], 2))
            units.append(Unit(n, f"L{n}", country, frozenset(langs), wants=wants, capacity=0))
    apart = frozenset({frozenset((6, 1)), frozenset((2, 3))})
    problem = Problem(units, Sizes(1, 2, 3, 6), apart=apart)

    best = solve(problem, time_limit=20)

    assert best.groups and violations(problem, best.groups) == []
    assert violations(problem, greedy(problem).groups) == []
    placed = {a for g in best.groups for a in g.members}
    assert placed.isdisjoint(best.unplaced) and placed | set(best.unplaced) == {u.id for u in units}


def test_one_learner_authority_per_country_unless_the_cycle_allows_more() -> None:
    units = [mentor(1, "FR", "epc")] + [learner(n, "IT", "epc") for n in range(2, 6)]
    strict = solve(Problem(units, Sizes(1, 1, 3, 6)))
    assert strict.groups == []
    assert strict.unplaced == {1: NO_LEARNERS, 2: TOO_FEW, 3: TOO_FEW, 4: TOO_FEW, 5: TOO_FEW}

    relaxed = solve(Problem(units, Sizes(1, 1, 3, 6), learners_per_country=0))
    assert [len(g.learners) for g in relaxed.groups] == [4]


def test_a_common_language_is_required_and_a_mismatch_is_the_reason_given() -> None:
    units = [mentor(1, "FR", "epc", langs=("fr",))]
    units += [learner(n, COUNTRIES[n], "epc", langs=("fr", "en")) for n in range(2, 5)]
    units += [learner(9, "PL", "epc", langs=("pl", "en")), learner(10, "PT", "grant")]
    best = solve(Problem(units, Sizes(1, 1, 3, 6)))

    [group] = best.groups
    assert group.language == "fr" and 9 not in group.members
    assert best.unplaced == {9: NO_LANGUAGE, 10: NO_MENTOR}


def test_authorities_of_a_failed_group_are_not_grouped_again() -> None:
    units = [mentor(1, "FR", "epc")] + [learner(n, COUNTRIES[n], "epc") for n in range(2, 6)]
    problem = Problem(units, Sizes(1, 1, 3, 6), apart=frozenset({frozenset((1, 2))}))

    [group] = solve(problem).groups

    assert 2 not in group.members and len(group.learners) == 3


def test_mentor_capacity_limits_the_groups_a_mentor_leads() -> None:
    units = [Unit(1, "Lyon", "FR", frozenset({"en"}), offers=frozenset({"epc"}), capacity=2)]
    units += [learner(n, COUNTRIES[n % 10], "epc") for n in range(2, 12)]
    two = solve(Problem(units, Sizes(1, 1, 3, 3), learners_per_country=0))
    assert len(two.groups) == 2 and all(g.mentors == (1,) for g in two.groups)

    units[0] = Unit(1, "Lyon", "FR", frozenset({"en"}), offers=frozenset({"epc"}), capacity=1)
    one = solve(Problem(units, Sizes(1, 1, 3, 3), learners_per_country=0))
    assert len(one.groups) == 1


def random_programme(seed: int, size: int, sizes: Sizes = Sizes(1, 2, 2, 4)) -> Problem:
    """Mentors with capacity 1-2 (some also learn), learners in few countries and languages,
    a failed pair or two: every rule of the model is exercised."""
    rng = random.Random(seed)
    units = []
    for n in range(1, size + 1):
        langs = frozenset(rng.sample(["en", "fr", "it"], rng.choice([1, 2])))
        country = rng.choice(COUNTRIES[:4])
        wants = tuple(rng.sample(["a", "b", "c"], rng.choice([0, 1, 2])))
        if n <= 3:
            offers = frozenset(rng.sample(["a", "b", "c"], rng.choice([1, 2])))
            capacity = rng.choice([1, 2])
        else:
            offers, capacity = frozenset(), 0
            wants = wants or ("a",)
        units.append(
            Unit(
                n,
                f"U{n}",
                country,
                langs,
                wants=wants,
                offers=offers,
                capacity=capacity,
                utc_hour=rng.choice([0, 1, 2]),
                size=rng.choice(["small", "large"]),
                practices=frozenset(o for o in offers if rng.random() < 0.5),
            )
        )
    apart = frozenset({frozenset(rng.sample(range(1, size + 1), 2)) for _ in range(2)})
    return Problem(units, sizes, apart=apart)


@pytest.mark.parametrize("seed", range(8))
def test_the_strengthened_model_still_finds_the_brute_force_optimum(seed: int) -> None:
    # the rows that tighten the LP (written against the group's opening, a language needs
    # enough learners who speak it) must cut no integer solution off: same optimum
    problem = random_programme(seed, 8)
    best = solve(problem, time_limit=20, gap=0.0)

    assert best.objective == pytest.approx(exhaustive(problem))
    assert best.bound is not None and best.bound >= best.objective - 1e-6
    assert violations(problem, best.groups) == []


@pytest.mark.parametrize("sizes", [Sizes(1, 2, 3, 6), Sizes(1, 1, 2, 3)])
@pytest.mark.parametrize("seed", range(12))
def test_the_spread_heuristic_keeps_every_hard_constraint_and_explains_the_rest(
    seed: int, sizes: Sizes
) -> None:
    # small groups fill up: learners get moved on to seat others (relocate) on some seeds
    problem = random_programme(seed, 40, sizes)
    found = spread(problem)

    assert violations(problem, found.groups) == []
    placed = {a for g in found.groups for a in g.members}
    assert placed.isdisjoint(found.unplaced)
    assert placed | set(found.unplaced) == {u.id for u in problem.units}
    assert found.objective == pytest.approx(evaluate(problem, found.groups))
    assert found.objective <= solve(problem, time_limit=20).bound + 1e-6  # type: ignore[operator]


def test_spread_opens_small_groups_where_greedy_fills_one_to_the_brim() -> None:
    # the scenario greedy gets wrong (see the first test): spread places everyone, as the MILP
    units = [mentor(1, "FR", "epc"), mentor(2, "DE", "green_bond")]
    units += [learner(10 + i, COUNTRIES[i], "epc", "green_bond") for i in range(7)]
    problem = Problem(units, Sizes(1, 1, 3, 6))

    found = spread(problem)

    assert found.unplaced == {} and violations(problem, found.groups) == []
    assert found.objective > greedy(problem).objective


def test_too_big_for_the_milp_returns_the_heuristic_groups_without_a_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    problem = random_programme(3, 40, Sizes(1, 2, 3, 6))
    monkeypatch.setattr(groups_solver, "MILP_COLUMNS", 0)

    found = solve(problem)

    assert found.method in ("spread", "greedy") and found.bound is None and found.gap is None
    assert found.objective == max(spread(problem).objective, greedy(problem).objective)
    assert violations(problem, found.groups) == []


@pytest.mark.parametrize("seed", range(4))
def test_the_heuristic_groups_are_a_valid_start_for_the_milp_worth_their_objective(
    seed: int,
) -> None:
    # HiGHS is started from spread's groups: their columns must satisfy every row of the
    # model and cost exactly minus their objective, or the start would be dropped (or lie)
    import numpy as np

    problem = random_programme(seed, 40, Sizes(1, 2, 3, 6))
    built = groups_solver._build(problem)
    found = spread(problem)
    x = groups_solver._vector(problem, built, found.groups)

    assert x is not None
    m = built.model
    assert groups_solver._cost(m, x) == pytest.approx(-found.objective)
    rows = np.zeros(len(m.lo))
    np.add.at(rows, m.rows, np.array(m.vals) * x[m.cols])
    assert np.all(rows >= np.array(m.lo) - 1e-9) and np.all(rows <= np.array(m.hi) + 1e-9)


def test_solve_stops_within_the_gap_asked_with_a_proven_bound() -> None:
    # big enough for the LP relaxation and the restricted MILP (over EXACT_COLUMNS)
    from benchmarks.groups_bench import programme

    problem, _ = programme(120, 3)
    assert len(groups_solver._build(problem).model.c) > groups_solver.EXACT_COLUMNS
    exact = solve(problem, time_limit=60, gap=0.0)
    found = solve(problem, time_limit=60, gap=0.01)

    assert exact.optimal and found.bound is not None and found.gap is not None
    assert found.gap <= 0.01 + 1e-9 and found.bound >= exact.objective - 1e-6
    assert found.objective >= 0.99 * exact.objective
    assert found.objective >= spread(problem).objective
    assert violations(problem, found.groups) == []


def test_without_highs_own_binding_scipy_milp_still_forms_the_groups(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a scipy release without its private HiGHS binding: the public milp, with no start
    from handlers.groups import highs

    problem = random_programme(2, 40, Sizes(1, 2, 3, 6))
    expected = solve(problem, time_limit=20, gap=0.0)
    monkeypatch.setattr(highs, "available", lambda: False)

    found = solve(problem, time_limit=20, gap=0.0)

    assert found.method == "milp" and found.optimal and found.bound is not None
    assert found.objective == pytest.approx(expected.objective)
    assert violations(problem, found.groups) == []
