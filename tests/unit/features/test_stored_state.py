"""Typed flow state and announcement JSON keep the shapes already in the database: rows written
before the types existed load and finish their flow, and what is written is the same JSON."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.app import Runtime
from handlers.announcements.stored import audience_of, missed_by_officer, poll_of, question_of
from handlers.core.clock import FrozenClock
from storage.models import Announcement, Conversation, Officer, Role
from storage.uow import UnitOfWork
from tests.support.fakes import Talk
from tests.support.outreach import person, platforms, talk


def test_a_poll_stored_without_kind_or_codes_reads_with_the_old_defaults() -> None:
    assert poll_of(None) is None
    assert poll_of({}) is None
    assert poll_of({"question": "Q?", "options": ["Yes", 2]}) == {
        "question": "Q?",
        "kind": "single",
        "options": ["Yes", "2"],
        "codes": [],
    }
    stored = {
        "question": "Needs?",
        "kind": "multi",
        "options": ["EPC", "Other"],
        "codes": ["epc", None],
        "translations": {"fr": "Besoins ?", "de": ""},
    }
    assert poll_of(stored) == {**stored, "translations": {"fr": "Besoins ?"}}
    assert question_of(stored) == "Needs?"
    assert question_of(None) is None


def test_a_stored_audience_reads_back_as_written() -> None:
    stored: dict[str, Any] = {
        "countries": ["BE", "FR"],
        "platforms": ["telegram"],
        "scope": [1, 2],
        "not_reached": {"7": "blocked", "9": "not_started"},
        "unreachable": 0,
    }
    assert audience_of(stored) == stored
    assert audience_of({"scope": None}) == {"scope": None}
    assert audience_of(None) == {}
    assert audience_of({"countries": "BE", "sectors": [], "colour": ["blue"]}) == {}
    assert missed_by_officer(audience_of(stored)) == {7: "blocked", 9: "not_started"}


async def _people(runtime: Runtime) -> tuple[Talk, Talk]:
    slack, telegram = platforms(runtime)
    await person(runtime, "Anna Coordinator", user_id="UANNA", role=Role.COORDINATOR, country="FR")
    await person(runtime, "Pieter Janssens", platform="telegram", user_id="1001", country="BE")
    return talk(runtime, slack, "UANNA", "Anna"), talk(runtime, telegram, "1001", "Pieter")


async def _conversation(runtime: Runtime) -> Conversation:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        (conv,) = (await uow.session.execute(select(Conversation))).scalars().all()
        return conv


async def _overwrite(runtime: Runtime, data: dict[str, Any]) -> None:
    """Put a state into the conversation row as a release before the types wrote it."""
    conv = await _conversation(runtime)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        await uow.conversations.set(conv.identity_id, conv.flow, conv.step, data)
        await uow.commit()


async def test_the_broadcast_wizard_writes_the_same_json_as_before(runtime: Runtime) -> None:
    anna, _ = await _people(runtime)
    await anna.say("/broadcast")
    await anna.say("Our 2027 work plan depends on what you need.")
    await anna.press("Add a question")
    await anna.say("Which financing advice do you need?")
    await anna.press("Several choices")
    await anna.say("EPC; Something else")
    await anna.press("In 7 days")
    conv = await _conversation(runtime)
    assert (conv.flow, conv.step) == ("broadcast", "menu")
    closes = conv.data["poll"]["closes_at"]
    assert conv.data == {
        "translations": {},
        "poll": {
            "question": "Which financing advice do you need?",
            "kind": "multi",
            "options": ["EPC", "Something else"],
            "codes": ["epc", None],
            "closes_at": closes,
        },
        "audience": {},
        "lang": "en",
        "text": "Our 2027 work plan depends on what you need.",
    }


async def test_a_broadcast_state_stored_before_the_types_is_sent(runtime: Runtime) -> None:
    anna, pieter = await _people(runtime)
    await anna.say("/broadcast")
    await anna.say("Draft")
    await anna.press("Choose recipients")
    await anna.press("Everyone")
    conv = await _conversation(runtime)
    assert conv.step == "preview"
    closes = runtime.clock.now().replace(microsecond=0).isoformat()
    await _overwrite(
        runtime,
        {
            "translations": {"fr": "Un besoin ?"},
            "poll": {
                "question": "A need?",
                "kind": "text",
                "options": [],
                "codes": [],
                "closes_at": closes.replace(str(runtime.clock.now().year), "2099"),
            },
            "audience": {"countries": ["BE"]},
            "lang": "en",
            "text": "A need?",
        },
    )
    assert "is on its way to 1 officers" in await anna.press("Send now")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        (ann,) = await uow.announcements.recent()
        assert ann.poll == {"question": "A need?", "kind": "text", "options": [], "codes": []}
        assert set(ann.audience) == {"countries", "scope"}
        assert ann.audience["countries"] == ["BE"]
    await runtime.tick()
    await pieter.press("Answer")
    assert "Thank" in await pieter.say("We need advice on EPC for schools.")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        (answer, _) = (await uow.announcements.answers(1))[0]
        assert answer.text == "We need advice on EPC for schools."


async def test_an_announcement_whose_poll_lacks_kind_and_codes_is_answered(
    runtime: Runtime, clock: FrozenClock
) -> None:
    anna, pieter = await _people(runtime)
    await anna.say("/broadcast")
    await anna.say("Quick question")
    await anna.press("Choose recipients")
    await anna.press("Everyone")
    await anna.press("Schedule")
    await anna.say("in 1 hour")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        ann = (await uow.session.execute(select(Announcement))).scalars().one()
        ann.poll = {"question": "Coming to Lyon?", "options": ["Yes", "No"]}
        ann.closes_at = runtime.clock.now().replace(year=2099)
        await uow.commit()
    clock.advance(hours=2)
    await runtime.tick()
    assert "Coming to Lyon?" in pieter.messenger.transcript("1001")
    assert "Yes" in await pieter.press("Yes")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        (answer, _) = (await uow.announcements.answers(1))[0]
        assert answer.choices == [0]


async def test_an_onboarding_state_stored_before_the_types_finishes(runtime: Runtime) -> None:
    slack, _ = platforms(runtime)
    newcomer = talk(runtime, slack, "UNEW", "Marie")
    await newcomer.say("/start")
    await newcomer.press("I agree")
    await _overwrite(
        runtime,
        {
            "consent_at": "2026-11-01T09:00:00+00:00",
            "name": "Marie Dubois",
            "authority_name": "Lyon",
            "country": "FR",
            "skip_country": False,
            "job_title": "Energy manager",
            "languages": ["fr"],
            "timezone": "Europe/Paris",
            "sectors": ["public_lighting"],
            "wants": ["epc"],
            "offers": ["revolving_fund"],
        },
    )
    async with UnitOfWork(runtime.sessionmaker) as uow:
        conv = await _conversation(runtime)
        await uow.conversations.set(conv.identity_id, "onboarding", "practice", conv.data)
        await uow.commit()
    await newcomer.say("We financed 12 school retrofits through a revolving fund since 2018.")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        (marie,) = [o for o in await uow.officers.list() if o.name == "Marie Dubois"]
        assert isinstance(marie, Officer)
        assert (marie.timezone, marie.job_title) == ("Europe/Paris", "Energy manager")
        assert (list(marie.wants), list(marie.offers)) == (["epc"], ["revolving_fund"])
        assert marie.consent_at is not None and marie.consent_at.year == 2026


async def test_a_plan_state_stored_before_the_types_is_saved(runtime: Runtime) -> None:
    slack, _ = platforms(runtime)
    await person(runtime, "Marie Dubois", user_id="UMARIE", country="FR", authority="Lyon")
    marie = talk(runtime, slack, "UMARIE", "Marie")
    await marie.say("/plan")
    await _overwrite(
        runtime,
        {
            "scheme": "epc",
            "sector": "public_lighting",
            "size_eur": 2500000,
            "next_step": "Tender for the street lighting in spring",
        },
    )
    async with UnitOfWork(runtime.sessionmaker) as uow:
        conv = await _conversation(runtime)
        await uow.conversations.set(conv.identity_id, "plan", "target_date", conv.data)
        await uow.commit()
    saved = await marie.say("skip")
    assert "Plan saved" in saved and "Tender for the street lighting" in saved
    assert "Energy performance contracting" in saved
