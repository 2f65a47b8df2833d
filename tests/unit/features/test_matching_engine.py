"""Stories about the matching engine: who gets which mentor, and why (or why not)."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

import handlers.pairing.solver as engine
from handlers.pairing.reasons import Reason
from handlers.pairing.solver import (
    Person,
    Practice,
    Request,
    RoundResult,
    Weights,
    candidate_edges,
    solve_greedy,
    solve_round,
)

_authorities: dict[str, int] = {}


def officer(
    id_: int,
    city: str,
    *,
    country: str = "BE",
    langs: str = "en",
    sectors: str = "",
    wants: str = "",
    offers: str = "",
    capacity: int = 2,
    active: int = 0,
    population: int | None = 100_000,
    waiting: int = 0,
) -> Person:
    """An officer of `city`; codes are given as space-separated strings."""
    return Person(
        id=id_,
        name=f"Officer {id_}",
        authority_id=_authorities.setdefault(city, len(_authorities) + 1),
        authority_name=city,
        country=country,
        population=population,
        languages=frozenset(langs.split()),
        sectors=frozenset(sectors.split()),
        wants=frozenset(wants.split()),
        offers=frozenset(offers.split()),
        capacity=capacity,
        active_pairs=active,
        waiting_days=waiting,
    )


def pairs_of(result: RoundResult) -> set[tuple[int, int, str]]:
    return {(p.learner_id, p.mentor_id, p.topic) for p in result.pairs}


def reason_for(result: RoundResult, learner_id: int) -> str:
    (found,) = [u.reason for u in result.unmatched if u.learner_id == learner_id]
    return found


def total(result: RoundResult) -> float:
    return sum(p.score for p in result.pairs)


# --- hard constraints ------------------------------------------------------------------------


def test_a_learner_and_a_mentor_must_share_a_language() -> None:
    riga = officer(1, "Riga", country="LV", langs="lv", wants="epc")
    ghent = officer(2, "Ghent", langs="nl en", offers="epc")
    result = solve_round([riga, ghent], [Request(1, "epc")])
    assert result.pairs == []
    assert reason_for(result, 1) == "no mentor for epc shares a language (lv)"

    tartu = officer(3, "Tartu", country="EE", langs="et lv", offers="epc")
    result = solve_round([riga, ghent, tartu], [Request(1, "epc")])
    assert pairs_of(result) == {(1, 3, "epc")}


def test_no_mentor_from_the_learners_own_authority() -> None:
    learner = officer(1, "Lyon", country="FR", langs="fr", wants="epc")
    colleague = officer(2, "Lyon", country="FR", langs="fr", offers="epc")
    result = solve_round([learner, colleague], [Request(1, "epc")])
    assert reason_for(result, 1) == "the only mentors for epc work at Lyon"

    nantes = officer(3, "Nantes", country="FR", langs="fr", offers="epc")
    result = solve_round([learner, colleague, nantes], [Request(1, "epc")])
    assert pairs_of(result) == {(1, 3, "epc")}


def test_nobody_mentors_themselves() -> None:
    both = officer(1, "Porto", country="PT", wants="epc", offers="epc")
    result = solve_round([both], [Request(1, "epc")])
    assert result.pairs == []


def test_active_pairs_use_up_capacity_and_the_longest_waiting_learner_goes_first() -> None:
    mentor = officer(1, "Turin", country="IT", offers="epc", capacity=2, active=1)
    patient = officer(2, "Graz", country="AT", wants="epc", waiting=80)
    newcomer = officer(3, "Linz", country="AT", wants="epc", waiting=0)
    result = solve_round([mentor, patient, newcomer], [Request(2, "epc"), Request(3, "epc")])
    assert pairs_of(result) == {(2, 1, "epc")}
    assert (
        reason_for(result, 3)
        == "the only available mentor for epc went to other learners this round"
    )

    full = officer(1, "Turin", country="IT", offers="epc", capacity=2, active=2)
    result = solve_round([full, patient], [Request(2, "epc")])
    assert reason_for(result, 2) == "all mentors for epc are at capacity"


def test_a_closed_or_declined_pair_is_not_proposed_again() -> None:
    learner = officer(1, "Bruges", wants="epc")
    declined = officer(2, "Bologna", country="IT", offers="epc", sectors="public_lighting")
    other = officer(3, "Parma", country="IT", offers="epc")
    people = [learner, declined, other]
    result = solve_round(people, [Request(1, "epc")], excluded={(1, 2)})
    assert pairs_of(result) == {(1, 3, "epc")}

    result = solve_round(people, [Request(1, "epc")], excluded={(1, 2), (1, 3)})
    assert reason_for(result, 1) == (
        "every mentor for epc was already paired with or declined by this learner"
    )


def test_the_mentor_must_offer_the_requested_instrument() -> None:
    learner = officer(1, "Split", country="HR", wants="green_bond epc")
    mentor = officer(2, "Kiel", country="DE", offers="epc")
    result = solve_round([learner, mentor], [Request(1, "green_bond")])
    assert reason_for(result, 1) == "no mentor offers green_bond"

    # topic None: any wanted instrument will do, and the pair says which one
    result = solve_round([learner, mentor], [Request(1, None)])
    assert pairs_of(result) == {(1, 2, "epc")}


def test_unknown_learners_and_empty_wishes_are_explained() -> None:
    nobody = officer(1, "Pula", country="HR")
    result = solve_round([nobody], [Request(1, None), Request(99, "epc")])
    assert [(u.learner_id, u.reason) for u in result.unmatched] == [
        (1, "no wanted instrument in the profile"),
        (99, "officer 99 is not in this round"),
    ]


# --- several topics --------------------------------------------------------------------------


def test_a_learner_with_two_topics_gets_two_different_mentors() -> None:
    learner = officer(1, "Vilnius", country="LT", wants="epc revolving_fund")
    # Aarhus is the best mentor for both topics, Odense can only help with the fund.
    aarhus = officer(2, "Aarhus", country="DK", offers="epc revolving_fund", capacity=2)
    odense = officer(3, "Odense", country="DK", offers="revolving_fund", capacity=2)
    requests = [Request(1, "epc"), Request(1, "revolving_fund")]
    result = solve_round([learner, aarhus, odense], requests)
    assert pairs_of(result) == {(1, 2, "epc"), (1, 3, "revolving_fund")}

    greedy = solve_greedy([learner, aarhus, odense], requests)
    assert len({p.mentor_id for p in greedy.pairs}) == len(greedy.pairs) == 2

    alone = solve_round([learner, aarhus], requests)
    assert len(alone.pairs) == 1
    assert "already mentors them on" in alone.unmatched[0].reason


def test_any_topic_request_does_not_repeat_an_explicit_one() -> None:
    learner = officer(1, "Cork", country="IE", wants="epc crowdfunding")
    mentor = officer(2, "Lille", country="FR", langs="fr en", offers="epc crowdfunding")
    other = officer(3, "Metz", country="FR", langs="fr en", offers="epc crowdfunding")
    result = solve_round([learner, mentor, other], [Request(1, "epc"), Request(1, None)])
    assert sorted(p.topic for p in result.pairs) == ["crowdfunding", "epc"]
    assert len({p.mentor_id for p in result.pairs}) == 2

    only_epc = officer(4, "Sligo", country="IE", wants="epc")
    result = solve_round([only_epc, mentor], [Request(4, "epc"), Request(4, None)])
    assert reason_for(result, 4) == "every wanted instrument already has its own request"


# --- optimality ------------------------------------------------------------------------------


def test_the_whole_round_beats_greedy_when_the_best_pair_blocks_another() -> None:
    # Anna fits Milan best but could also learn from Espoo; Bernard only speaks French and only
    # Milan speaks French. Greedy gives Milan to Anna and leaves Bernard alone.
    anna = officer(1, "Antwerp", langs="en", wants="epc", sectors="public_lighting")
    bernard = officer(2, "Namur", langs="fr", wants="epc")
    milan = officer(
        3, "Milan", country="IT", langs="en fr", offers="epc", capacity=1, sectors="public_lighting"
    )
    espoo = officer(4, "Espoo", country="FI", langs="en", offers="epc", capacity=1)
    people, requests = [anna, bernard, milan, espoo], [Request(1, "epc"), Request(2, "epc")]

    greedy = solve_greedy(people, requests)
    assert pairs_of(greedy) == {(1, 3, "epc")}
    best = solve_round(people, requests)
    assert pairs_of(best) == {(1, 4, "epc"), (2, 3, "epc")}
    assert total(best) > total(greedy)


def random_round(seed: int, n_learners: int, n_mentors: int) -> tuple[list[Person], list[Request]]:
    rng = random.Random(seed)
    codes = ["epc", "revolving_fund", "green_bond", "grant", "esco"]
    people: list[Person] = []
    requests: list[Request] = []
    for i in range(1, n_learners + n_mentors + 1):
        learner = i <= n_learners
        chosen = frozenset(rng.sample(codes, rng.randint(1, 3)))
        people.append(
            officer(
                i,
                f"City {rng.randint(1, (n_learners + n_mentors) // 2)}",
                country=rng.choice(["BE", "FR", "IT", "LV"]),
                langs=" ".join(rng.sample(["en", "fr", "it", "lv"], rng.randint(1, 2))),
                sectors=" ".join(rng.sample(["public_lighting", "mobility"], rng.randint(0, 2))),
                wants=" ".join(chosen) if learner else "",
                offers="" if learner else " ".join(chosen),
                capacity=rng.randint(1, 3),
                population=rng.choice([None, 5_000, 80_000, 900_000]),
                waiting=rng.randint(0, 100),
            )
        )
        if learner:
            for topic in rng.sample(sorted(chosen), min(2, len(chosen))):
                requests.append(Request(i, topic if rng.random() < 0.8 else None))
    return people, requests


def milp_total(people: list[Person], requests: list[Request]) -> float:
    """The optimum by an independent 0/1 program over the same scored edges."""
    edges = candidate_edges(people, requests)
    k = len(edges.edge_score)
    n_mentors = len(edges.mentor_ids)
    idx = np.arange(k)
    _, pair = np.unique(
        edges.learner_ids[edges.edge_row] * (n_mentors + 1) + edges.edge_mentor,
        return_inverse=True,
    )
    res = milp(
        c=-edges.edge_score,
        constraints=[
            LinearConstraint(coo_matrix((np.ones(k), (edges.edge_row, idx))), 0, 1),
            LinearConstraint(coo_matrix((np.ones(k), (edges.edge_mentor, idx))), 0, edges.free),
            LinearConstraint(coo_matrix((np.ones(k), (pair, idx))), 0, 1),
        ],
        integrality=np.ones(k),
        bounds=Bounds(0, 1),
    )
    return float(-res.fun)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_round_is_optimal_and_respects_every_rule(seed: int) -> None:
    people, requests = random_round(seed, 40, 25)
    result = solve_round(people, requests)
    assert total(result) == pytest.approx(milp_total(people, requests), abs=1e-6)
    assert total(result) >= total(solve_greedy(people, requests)) - 1e-9
    by_id = {p.id: p for p in people}
    load = Counter(p.mentor_id for p in result.pairs)
    assert max(Counter((p.learner_id, p.mentor_id) for p in result.pairs).values()) == 1
    for pair in result.pairs:
        learner, mentor = by_id[pair.learner_id], by_id[pair.mentor_id]
        assert learner.languages & mentor.languages
        assert learner.authority_id != mentor.authority_id
        assert pair.topic in mentor.offers
        assert load[mentor.id] <= mentor.capacity
    assert len(result.pairs) + len(result.unmatched) == len(set(requests))


def dense_greedy_pairs(people: list[Person], requests: list[Request]) -> set[tuple[int, int]]:
    """Reference greedy over every scored edge at once: best score, then row, then mentor."""
    edges = candidate_edges(people, requests)
    order = np.lexsort((edges.edge_mentor, edges.edge_row, -edges.edge_score))
    left = edges.free.copy()
    rows: set[int] = set()
    twice: set[tuple[int, int]] = set()
    found: set[tuple[int, int]] = set()
    for k in order.tolist():
        r, m = int(edges.edge_row[k]), int(edges.edge_mentor[k])
        learner = int(edges.learner_ids[r])
        if r in rows or left[m] <= 0 or (learner, m) in twice:
            continue
        rows.add(r)
        left[m] -= 1
        twice.add((learner, m))
        found.add((learner, int(edges.mentor_ids[m])))
    return found


@pytest.mark.parametrize("seed", [5, 6, 7])
@pytest.mark.parametrize(
    ("per_mentor", "near", "drop"), [(0, 0.0, 1e9), (1, 3_000.0, 10_000.0), (2, 50.0, 0.0)]
)
def test_short_lists_priced_by_the_lp_duals_keep_the_exact_optimum(
    seed: int, per_mentor: int, near: float, drop: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    people, requests = random_round(seed, 60, 30)
    default = solve_round(people, requests)
    greedy = solve_greedy(people, requests)
    # One edge per request at first (and one kept aside), one more per pricing pass, tiny
    # scoring blocks: the pricing must find every edge the optimum needs, greedy must deepen
    # its short lists. With or without the mentors' own best rows, the nearly improving
    # edges brought in with an improving one and the edges far from improving dropped from the
    # LP after a solve (every one, with drop 0): the same optimum.
    monkeypatch.setattr(engine, "MENTOR_SHORTLIST", per_mentor)
    monkeypatch.setattr(engine, "NEAR", near)
    monkeypatch.setattr(engine, "DROP", drop)
    monkeypatch.setattr(engine, "SHORTLIST", 1)
    monkeypatch.setattr(engine, "RESERVE", 1)
    monkeypatch.setattr(engine, "PRICING_BATCH", 1)
    monkeypatch.setattr(engine, "GREEDY_SHORTLIST", 1)
    monkeypatch.setattr(engine, "EDGE_BLOCK_CELLS", 7)
    short = solve_round(people, requests)
    assert total(short) == pytest.approx(milp_total(people, requests), abs=1e-6)
    assert total(short) == pytest.approx(total(default), abs=1e-6)
    assert solve_greedy(people, requests) == greedy
    assert {(p.learner_id, p.mentor_id) for p in greedy.pairs} == dense_greedy_pairs(
        people, requests
    )


def test_a_request_gets_its_second_choice_when_its_first_is_needed_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Anna's shortlist holds only Milan, Bernard's too; Milan has one slot. The LP's prices
    # show that Espoo, left out of Anna's list, frees Milan for Bernard.
    monkeypatch.setattr(engine, "SHORTLIST", 1)
    monkeypatch.setattr(engine, "RESERVE", 0)
    monkeypatch.setattr(engine, "MENTOR_SHORTLIST", 0)
    anna = officer(1, "Antwerp", langs="en", wants="epc", sectors="public_lighting")
    bernard = officer(2, "Namur", langs="fr", wants="epc")
    milan = officer(
        3, "Milan", country="IT", langs="en fr", offers="epc", capacity=1, sectors="public_lighting"
    )
    espoo = officer(4, "Espoo", country="FI", langs="en", offers="epc", capacity=1)
    best = solve_round([anna, bernard, milan, espoo], [Request(1, "epc"), Request(2, "epc")])
    assert pairs_of(best) == {(1, 4, "epc"), (2, 3, "epc")}


# --- explanations ----------------------------------------------------------------------------


def test_reasons_name_the_good_practice_the_sector_and_the_exchange() -> None:
    learner = officer(
        1, "Bari", country="IT", langs="it en fr", sectors="public_lighting", wants="epc"
    )
    ghent = officer(
        2, "Ghent", langs="nl en fr", sectors="public_lighting public_buildings", offers="epc"
    )
    lights = Practice(
        id=1,
        officer_id=2,
        authority_name="Ghent",
        title="EPC for 40,000 street lights",
        sector="public_lighting",
        instruments=frozenset({"epc"}),
        year=2019,
        summary="",
    )
    (pair,) = solve_round([learner, ghent], [Request(1, "epc")], [lights]).pairs
    assert pair.reasons[0] == Reason(
        "practice", {"authority": "Ghent", "title": "EPC for 40,000 street lights", "year": 2019}
    )
    assert Reason("sectors", {"sectors": ["public_lighting"]}) in pair.reasons
    assert Reason("cross_border", {"learner": "IT", "mentor": "BE"}) in pair.reasons
    assert pair.reasons[-1] == Reason("languages", {"languages": ["en", "fr"]})
    assert 2 <= len(pair.reasons) <= 4


def test_a_good_practice_in_the_learners_sector_tips_the_choice() -> None:
    learner = officer(1, "Gdansk", country="PL", sectors="mobility", wants="green_bond")
    plain = officer(2, "Malmo", country="SE", offers="green_bond")
    proven = officer(3, "Uppsala", country="SE", offers="green_bond")
    bus = Practice(
        4,
        3,
        "Uppsala",
        "Green bond for electric buses",
        "mobility",
        frozenset({"green_bond"}),
        None,
        "",
    )
    result = solve_round([learner, plain, proven], [Request(1, "green_bond")], [bus])
    (pair,) = result.pairs
    assert pair.mentor_id == 3
    assert pair.reasons[0] == Reason(
        "practice", {"authority": "Uppsala", "title": "Green bond for electric buses", "year": None}
    )
    alone = solve_round([learner, plain], [Request(1, "green_bond")])
    assert pair.score == pytest.approx(alone.pairs[0].score + 1.5)


# --- determinism and edge cases --------------------------------------------------------------


def test_same_input_same_output_and_ties_go_to_the_lower_id() -> None:
    learner = officer(1, "Tallinn", country="EE", wants="epc")
    twins = [officer(i, f"Town {i}", country="FI", offers="epc", capacity=1) for i in (7, 5, 6)]
    first = solve_round([learner, *twins], [Request(1, "epc")])
    assert pairs_of(first) == {(1, 5, "epc")}

    people, requests = random_round(4, 30, 20)
    once = solve_round(people, requests)
    shuffled_people, shuffled_requests = people[:], requests[:]
    random.Random(0).shuffle(shuffled_people)
    random.Random(1).shuffle(shuffled_requests)
    assert solve_round(shuffled_people, shuffled_requests) == once
    assert solve_greedy(shuffled_people, shuffled_requests) == solve_greedy(people, requests)


def test_empty_rounds() -> None:
    assert solve_round([], []) == RoundResult([], [])
    assert solve_greedy([], []) == RoundResult([], [])
    mentor = officer(1, "Ulm", country="DE", offers="epc")
    assert solve_round([mentor], []) == RoundResult([], [])
    learner = officer(2, "Ghent", wants="epc")
    result = solve_round([learner], [Request(2, "epc")])
    assert result.pairs == []
    assert reason_for(result, 2) == "no mentor offers epc"


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="duplicate officer id"):
        solve_round([officer(1, "A"), officer(1, "B")], [])
    with pytest.raises(ValueError, match="topic > 0"):
        Weights(topic=0)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_blocks_by_topic_score_every_feasible_pair_and_no_other(seed: int) -> None:
    # the scorer only looks at the mentors who offer a block's topics: the edges it finds must
    # be exactly the pairs the hard rules allow, checked here one pair at a time
    people, requests = random_round(seed, 40, 25)
    excluded = {(1, 41), (2, 45), (3, 50)}
    edges = candidate_edges(people, requests, excluded=excluded)
    by_id = {p.id: p for p in people}
    found = {
        (edges.rows[r], int(edges.mentor_ids[m]))
        for r, m in zip(edges.edge_row.tolist(), edges.edge_mentor.tolist(), strict=True)
    }
    explicit = {(r.learner_id, r.topic) for r in requests if r.topic}
    expected = set()
    for learner_id, topic in edges.rows:
        learner = by_id[learner_id]
        # "any of my wants": the wants without an explicit request of their own
        wanted = {topic} if topic else {w for w in learner.wants if (learner_id, w) not in explicit}
        for mentor in people:
            if (
                mentor.offers & wanted
                and mentor.languages & learner.languages
                and mentor.authority_id != learner.authority_id
                and mentor.id != learner.id
                and (learner_id, mentor.id) not in excluded
                and mentor.capacity > mentor.active_pairs
            ):
                expected.add(((learner_id, topic), mentor.id))
    assert found == expected
    assert len(set(edges.rows)) == len(edges.rows)
