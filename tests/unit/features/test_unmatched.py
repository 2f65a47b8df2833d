"""Learners a round leaves without a peer: the reason names a coordinator's reject when that is
what stands in the way, and once the round is reviewed each of them is told why, once."""

from __future__ import annotations

from datetime import timedelta

from bot.app import Runtime
from handlers.core.clock import FrozenClock
from handlers.pairing.flow import approve, propose, reject, round_json
from handlers.pairing.solver import Person
from handlers.pairing.unmatched import explain
from storage.uow import UnitOfWork
from tests.support.fakes import FakeMessenger
from tests.support.peers import programme, talk
from tests.unit.features.test_matching import cohort


def person(pid: int, authority: int, *, wants: str = "", offers: str = "", free: int = 1) -> Person:
    return Person(
        id=pid, name=f"P{pid}", authority_id=authority, authority_name=f"A{authority}",
        country="BE", population=None, languages=frozenset({"en"}), sectors=frozenset(),
        wants=frozenset(wants.split()), offers=frozenset(offers.split()), capacity=free,
        active_pairs=0,
    )  # fmt: skip


def test_explain_names_the_rule_that_leaves_nobody() -> None:
    learner = person(1, 1, wants="epc")
    mentor, busy = person(2, 2, offers="epc"), person(3, 3, offers="epc", free=0)
    assert explain(learner, "epc", [learner], set(), set()) == "offers"
    assert explain(learner, "epc", [learner, person(4, 1, offers="epc")], set(), set()) == (
        "authority"
    )
    assert explain(learner, "epc", [learner, mentor], {(1, 2)}, set()) == "excluded"
    assert explain(learner, "epc", [learner, mentor], {(1, 2)}, {(1, 2)}) == "rejected"
    assert explain(learner, "epc", [learner, mentor, busy], {(1, 2)}, {(1, 2)}) == "rejected"
    assert explain(learner, "epc", [learner, busy], set(), set()) == "capacity"
    assert explain(learner, "epc", [learner, mentor], set(), set()) == "taken"


async def test_after_a_reject_the_learner_hears_why_and_what_comes_next(
    runtime: Runtime, clock: FrozenClock, messenger: FakeMessenger
) -> None:
    people = await cohort(runtime)
    home = await programme(runtime)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        first = await propose(uow, home.id, clock.now())
        await uow.commit()
        marie_pieter = next(p for p in first.pairs if p.learner_id == people["marie"].id)
        others = [p.id for p in first.pairs if p.id != marie_pieter.id]
        await reject(uow, [marie_pieter.id], clock.now())
        await approve(uow, others, clock.now())
        await uow.commit()
        shown = await round_json(uow, first.round)
    statuses = {p["learner"]["name"]: p["status"] for p in shown["pairs"]}
    assert statuses["Marie Dubois"] == "rejected"  # a coordinator's reject, not "declined"

    async with UnitOfWork(runtime.sessionmaker) as uow:
        second = await propose(uow, home.id, clock.now())
        await uow.commit()
        data = await round_json(uow, second.round)
    [why] = data["unmatched"]
    assert why["name"] == "Marie Dubois" and why["topic"] is None  # from her wants
    assert why["reason"] == (
        "the only available mentor (Pieter Janssens) was rejected for this learner by a coordinator"
    )
    assert "capacity" not in why["reason"]

    await runtime.tick()  # a round with nothing to review: the coordinators may still rerun
    assert "no peer for you" not in messenger.transcript("marie")
    clock.set(clock.now() + timedelta(hours=2))
    await runtime.tick()
    await runtime.tick()
    told = messenger.transcript("marie")
    assert told.count("this matching round found no peer for you on Energy performance") == 1
    assert "the coordinators did not confirm the only available mentor for you" in told
    assert "Your request stays open and the next round will look again" in told
    assert "no peer for you" not in messenger.transcript("ivana")  # she has her pair
    # A proposal the coordinators rejected never reached Marie: /pairs does not show it.
    assert "no pairs yet" in await talk(runtime, messenger, "marie").say("/pairs")
