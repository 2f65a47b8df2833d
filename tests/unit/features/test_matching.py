"""Matching: officers ask for peers, a coordinator proposes a round, reviews and approves it."""

from __future__ import annotations

from sqlalchemy import select, update

from bot.app import Runtime
from handlers.core.choices import sign
from handlers.pairing.flow import approve, propose, reject, round_json
from storage.models import MatchRequest, Officer, OfficerStatus, Pair, PairStatus
from storage.uow import UnitOfWork
from tests.support.fakes import FakeMessenger
from tests.support.peers import coordinator, make_pair, officer, practice, programme, talk


async def cohort(runtime: Runtime) -> dict[str, Officer]:
    """Two learners, three mentors, one coordinator (the demo cohort, in short)."""
    people = {
        "anna": await coordinator(runtime),
        "marie": await officer(
            runtime, "Marie Dubois", authority="Lyon", country="FR", languages=("fr", "en"),
            sectors=("public_lighting",), wants=("epc",), population=520_000,
        ),
        "ivana": await officer(
            runtime, "Ivana Horvat", authority="Zagreb", country="HR", languages=("hr", "de"),
            sectors=("public_buildings",), wants=("elena",), population=770_000,
        ),
        "pieter": await officer(
            runtime, "Pieter Janssens", authority="Ghent", country="BE",
            languages=("en", "nl", "fr"), sectors=("public_lighting",), offers=("epc", "esco"),
            population=265_000,
        ),
        "giulia": await officer(
            runtime, "Giulia Rossi", authority="Milano", country="IT", languages=("it", "en"),
            sectors=("public_buildings",), offers=("revolving_fund", "elena"),
        ),
        "lena": await officer(
            runtime, "Lena Weber", authority="Freiburg", country="DE", languages=("de", "en"),
            sectors=("public_buildings",), offers=("elena", "green_bond"),
        ),
    }  # fmt: skip
    await practice(
        runtime, people["pieter"], "EPC for 40,000 street lights", sector="public_lighting",
        instruments=("epc",), year=2019,
    )  # fmt: skip
    return people


async def pairs(runtime: Runtime) -> list[Pair]:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        return list(await uow.pairs.list())


async def test_a_coordinator_proposes_reviews_and_approves_a_round_in_chat(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    await cohort(runtime)
    anna = talk(runtime, messenger, "anna")
    assert "Peer matching" in await anna.say("/match")
    shown = await anna.press("Propose a round")
    assert "2 pair(s) proposed, 0 request(s) without a peer" in shown
    assert "Marie Dubois (Lyon) learns Energy performance contracting (EPC) from Pieter" in shown
    assert "Ghent ran 'EPC for 40,000 street lights' (2019)" in shown
    assert "Ivana Horvat (Zagreb) learns ELENA technical assistance from Lena Weber" in shown
    assert "Common language: German" in shown  # Ivana shares German with Lena, not with Giulia
    [marie_pair, ivana_pair] = await pairs(runtime)
    assert (marie_pair.status, ivana_pair.status) == (PairStatus.PROPOSED, PairStatus.PROPOSED)

    assert "Approved 1" in await anna.press(f"Approve #{marie_pair.id}")
    assert "no longer waiting" in await anna.press(f"Approve #{marie_pair.id}")
    assert "Approved 1: #2" in await anna.press("Approve all")
    assert [p.status for p in await pairs(runtime)] == [PairStatus.APPROVED] * 2


async def test_officers_ask_for_a_peer_on_a_topic(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    people = await cohort(runtime)
    marie = talk(runtime, messenger, "marie")
    assert "looking for a peer on Green bonds" in await marie.say("/match green bonds")
    assert "already waiting" in await marie.say("/match green bond")
    assert "do not know the financing model" in await marie.say("/match magic money")
    assert "Which financing model" in marie.last().text
    assert "Revolving fund" in await marie.press("Revolving fund")
    stranger = talk(runtime, messenger, "nobody")
    assert "join the programme first" in await stranger.say("/match epc")

    async with UnitOfWork(runtime.sessionmaker) as uow:
        proposed = await propose(uow, None, runtime.clock.now())
        await uow.commit()
        data = await round_json(uow, proposed.round)
    topics = sorted((p["learner"]["name"], p["topic"]) for p in data["pairs"])
    # Marie asked explicitly for green bonds and revolving funds: one mentor each (her wants
    # without a request of their own are not asked for again).
    assert topics == [
        ("Ivana Horvat", "elena"),
        ("Marie Dubois", "green_bond"),
        ("Marie Dubois", "revolving_fund"),
    ]
    async with UnitOfWork(runtime.sessionmaker) as uow:
        done = await approve(uow, [p["id"] for p in data["pairs"]], runtime.clock.now())
        await uow.commit()
        requests = (await uow.session.execute(select(MatchRequest))).scalars().all()
    assert len(done.done) == 3
    assert {r.status for r in requests if r.officer_id == people["marie"].id} == {"matched"}


async def test_hard_constraints_hold(runtime: Runtime, messenger: FakeMessenger) -> None:
    people = await cohort(runtime)
    # a colleague of Pieter's in Ghent, a learner without consent, and one who paused
    await officer(
        runtime, "Jan Peeters", authority="Ghent", country="BE", languages=("nl", "en"),
        wants=("esco",),
    )  # fmt: skip
    paused = await officer(runtime, "Paula Paused", authority="Porto", country="PT", wants=("epc",))
    async with UnitOfWork(runtime.sessionmaker) as uow:
        await uow.session.execute(
            update(Officer).where(Officer.id == paused.id).values(status=OfficerStatus.PAUSED)
        )
        await uow.commit()
    # Marie and Pieter were paired before and it was declined: never again
    await make_pair(runtime, people["marie"], people["pieter"], status=PairStatus.DECLINED)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        proposed = await propose(uow, None, runtime.clock.now())
        await uow.commit()
        data = await round_json(uow, proposed.round)
    names = {(p["learner"]["name"], p["mentor"]["name"]) for p in data["pairs"]}
    assert ("Marie Dubois", "Pieter Janssens") not in names
    assert not any(learner == "Paula Paused" for learner, _ in names)
    unmatched = {u["name"]: u["reason"] for u in data["unmatched"]}
    assert "only mentors" in unmatched["Jan Peeters"] and "Ghent" in unmatched["Jan Peeters"]
    assert "already paired with or declined" in unmatched["Marie Dubois"]
    assert data["unmatched"][0].keys() >= {"email", "reason"}


async def test_mentor_capacity_and_a_new_round_replaces_unreviewed_proposals(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    home = await programme(runtime)
    mentor = await officer(
        runtime, "Pieter Janssens", authority="Ghent", country="BE", offers=("epc",), capacity=1
    )
    learners = [
        await officer(runtime, f"Learner {i}", authority=f"City {i}", country="FR", wants=("epc",))
        for i in range(3)
    ]
    async with UnitOfWork(runtime.sessionmaker) as uow:
        first = await propose(uow, home.id, runtime.clock.now())
        await uow.commit()
    assert len(first.pairs) == 1 and len(first.round.unmatched) == 2
    assert "at capacity" not in first.round.unmatched[0]["reason"]
    async with UnitOfWork(runtime.sessionmaker) as uow:
        second = await propose(uow, home.id, runtime.clock.now())
        await uow.commit()
    assert [p.status for p in await pairs(runtime)] == [PairStatus.PROPOSED]
    async with UnitOfWork(runtime.sessionmaker) as uow:
        await approve(uow, [second.pairs[0].id], runtime.clock.now())
        await uow.commit()
        third = await propose(uow, home.id, runtime.clock.now())
        await uow.commit()
    assert third.pairs == []
    assert all("at capacity" in u["reason"] for u in third.round.unmatched)
    assert {u["officer_id"] for u in third.round.unmatched} < {o.id for o in learners}
    assert mentor.mentor_capacity == 1


async def test_a_rejected_proposal_is_not_proposed_again(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    await cohort(runtime)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        first = await propose(uow, None, runtime.clock.now())
        await uow.commit()
        marie_pieter = next(p for p in first.pairs if p.topic == "epc")
        refused = await reject(uow, [marie_pieter.id, 999], runtime.clock.now())
        await uow.commit()
        again = await propose(uow, None, runtime.clock.now())
        await uow.commit()
    assert refused.refused == [999]
    assert not any(p.topic == "epc" for p in again.pairs)


async def test_officers_cannot_review_rounds(runtime: Runtime, messenger: FakeMessenger) -> None:
    await cohort(runtime)
    marie = talk(runtime, messenger, "marie")
    assert "Which financing model" in await marie.say("/match")
    assert "Propose" not in marie.last().text
    wire = sign(runtime.core.secret, "marie", "mtc:propose")  # a choice she was never given
    assert await marie.handle(choice=wire) == "handled"
    assert "only programme coordinators" in marie.last().text
    async with UnitOfWork(runtime.sessionmaker) as uow:
        rows = (await uow.session.execute(select(Pair))).scalars().all()
    assert rows == []
