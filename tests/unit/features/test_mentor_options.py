"""The mentor choices of one request (`solver.mentor_options`, behind the console's swap and
reassign) are the round's own edges: every mentor the round could have given, with the same
score and reasons, best first, and nobody a hard rule leaves out."""

from __future__ import annotations

import pytest

from handlers.pairing.solver import Request, candidate_edges, mentor_options, solve_round
from tests.unit.features.test_matching_engine import officer, random_round


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_choices_are_the_rounds_edges_with_its_scores(seed: int) -> None:
    people, requests = random_round(seed, 30, 20)
    explicit = [r for r in requests if r.topic is not None]
    edges = candidate_edges(people, explicit)
    result = solve_round(people, explicit)
    assert explicit and result.pairs
    for row, (learner, topic) in enumerate(edges.rows):
        wanted = {
            int(edges.mentor_ids[m]): round(float(s), 4)
            for r, m, s in zip(edges.edge_row, edges.edge_mentor, edges.edge_score, strict=True)
            if r == row
        }
        found = mentor_options(people, Request(learner, topic))
        assert {p.mentor_id: p.score for p in found} == wanted
        assert [p.score for p in found] == sorted((p.score for p in found), reverse=True)
    for pair in result.pairs:  # what the round proposed is among the choices, word for word
        same = [
            p
            for p in mentor_options(people, Request(pair.learner_id, pair.topic))
            if p.mentor_id == pair.mentor_id
        ]
        assert same and same[0].score == pair.score and same[0].reasons == pair.reasons


def test_hard_rules_leave_mentors_out() -> None:
    learner = officer(1, "Ghent", langs="nl en", wants="esco")
    people = [
        learner,
        officer(2, "Sevilla", langs="es en", offers="esco"),  # a choice
        officer(3, "Ghent", langs="nl", offers="esco"),  # same authority
        officer(4, "Tartu", langs="et", offers="esco"),  # no shared language
        officer(5, "Lyon", langs="en", offers="epc"),  # another instrument
        officer(6, "Porto", langs="en", offers="esco", capacity=1, active=1),  # full
        officer(7, "Riga", langs="en", offers="esco"),  # excluded: paired before
    ]
    found = mentor_options(people, Request(1, "esco"), excluded={(1, 7)})
    assert [p.mentor_id for p in found] == [2]
    assert found[0].topic == "esco" and found[0].reasons
