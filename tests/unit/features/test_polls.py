"""Coordinators ask officers a question or survey their needs; officers answer in chat."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.app import Runtime
from handlers.announcements.polls import detect_instruments, results_json
from handlers.core.clock import FrozenClock
from storage.models import Officer, Role
from storage.uow import UnitOfWork
from tests.support.fakes import FakeMessenger, Talk
from tests.support.outreach import ForumMessenger, person, platforms, talk


@dataclass
class People:
    slack: FakeMessenger
    telegram: ForumMessenger
    anna: Talk
    pieter: Talk
    marie: Talk
    giulia: Talk


@pytest.fixture
async def people(runtime: Runtime) -> People:
    slack, telegram = platforms(runtime)
    await person(runtime, "Anna Coordinator", user_id="UANNA", role=Role.COORDINATOR, country="FR")
    await person(runtime, "Pieter Janssens", platform="telegram", user_id="1001", country="BE")
    await person(
        runtime,
        "Marie Dubois",
        platform="telegram",
        user_id="1002",
        country="FR",
        sectors=["public_lighting"],
    )
    await person(runtime, "Giulia Rossi", user_id="UGIULIA", country="IT", sectors=["mobility"])
    return People(
        slack,
        telegram,
        talk(runtime, slack, "UANNA", "Anna"),
        talk(runtime, telegram, "1001", "Pieter"),
        talk(runtime, telegram, "1002", "Marie"),
        talk(runtime, slack, "UGIULIA", "Giulia"),
    )


async def ask(
    anna: Talk,
    kind: str,
    options: str | None = None,
    closes: str = "In 7 days",
    send: bool = True,
) -> None:
    """Compose a question to everyone; `send`: send it now (else it waits at the preview)."""
    await anna.say("/broadcast")
    await anna.say("Our 2027 work plan depends on what you need.")
    await anna.press("Add a question")
    await anna.say("Which financing advice do you need in 2027?")
    await anna.press(kind)
    if options is not None:
        await anna.say(options)
    await anna.press(closes)
    await anna.press("Choose recipients")
    await anna.press("Everyone")
    if send:
        await anna.press("Send now")


async def officer(runtime: Runtime, name: str) -> Officer:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        found = [o for o in await uow.officers.list() if o.name == name]
        return found[0]


async def results(runtime: Runtime, ann_id: int = 1) -> dict[str, object]:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        ann = await uow.announcements.get(ann_id)
        assert ann is not None
        return await results_json(uow, ann, runtime.clock.now(), runtime.content.current.taxonomy)


async def test_officers_answer_a_single_choice_question_and_may_change_their_mind(
    runtime: Runtime, people: People
) -> None:
    await ask(people.anna, "One choice", "Energy performance contracting; Green bonds; Grants")
    await runtime.tick()
    received = people.pieter.last()
    assert "Which financing advice do you need in 2027?" in received.text
    assert "Answers until Tuesday 1 December 2026 at 11:00." in received.text
    assert [c.label for c in received.choices] == [
        "Energy performance contracting",
        "Green bonds",
        "Grants",
    ]
    assert "Your answer: Green bonds" in await people.pieter.press("Green bonds")
    await people.marie.press("Energy performance contracting")
    await people.marie.press("Grants")
    tallies = (await results(runtime))["tallies"]
    assert tallies == {
        "all": {"Green bonds": 1, "Grants": 1},
        "by_country": {"BE": {"Green bonds": 1}, "FR": {"Grants": 1}},
        "by_sector": {"public_buildings": {"Green bonds": 1}, "public_lighting": {"Grants": 1}},
    }
    assert (await officer(runtime, "Pieter Janssens")).wants == ["green_bond"]
    shown = await people.anna.say("/broadcast results 1")
    assert "2 answers from 4 recipients" in shown and "By country: BE: Green bonds 1" in shown


async def test_several_choices_are_ticked_in_place(runtime: Runtime, people: People) -> None:
    await ask(people.anna, "Several choices", "EPC\nRevolving fund\nCrowdfunding")
    await runtime.tick()
    await people.giulia.press("EPC")
    edited = people.slack.sent[-1]
    assert edited.edited and [c.selected for c in edited.reply.choices[:3]] == [True, False, False]
    await people.giulia.press("Crowdfunding")
    assert "Your answers: EPC, Crowdfunding" in await people.giulia.press("Done")
    assert (await results(runtime))["tallies"]["all"] == {"EPC": 1, "Crowdfunding": 1}  # type: ignore[index]
    assert (await officer(runtime, "Giulia Rossi")).wants == ["epc", "crowdfunding"]


async def test_a_needs_survey_feeds_the_officers_wants(runtime: Runtime, people: People) -> None:
    await ask(people.anna, "In writing")
    await runtime.tick()
    assert "Write your answer" in await people.marie.press("Answer")
    thanks = await people.marie.say(
        "We plan to retrofit 40 schools and need financing advice on EPC and green bonds."
    )
    assert "Energy performance contracting (EPC), Green bonds" in thanks
    marie = await officer(runtime, "Marie Dubois")
    assert marie.wants == ["epc", "green_bond"]
    found = await results(runtime)
    assert found["answered"] == 1 and found["needs"] == {"epc": 1, "green_bond": 1}
    assert found["tallies"]["by_country"] == {"FR": {"answered": 1}}  # type: ignore[index]
    assert "retrofit 40 schools" in found["answers"][0]["text"]  # type: ignore[index]


async def test_one_reminder_to_those_who_did_not_answer_then_results_at_closing(
    runtime: Runtime, people: People, clock: FrozenClock
) -> None:
    await ask(people.anna, "One choice", "Yes; No", closes="In 3 days")
    await runtime.tick()
    await runtime.tick()
    await people.pieter.press("Yes")
    clock.advance(days=1)
    await runtime.tick()
    assert "Reminder" not in people.telegram.transcript("1002")
    clock.advance(days=1, hours=1)  # within the last day
    await runtime.tick()
    await runtime.tick()
    assert people.telegram.transcript("1002").count("Reminder") == 1
    assert "Reminder" not in people.telegram.transcript("1001")
    assert people.slack.transcript("UGIULIA").count("Reminder") == 1
    clock.advance(days=1)
    await runtime.tick()
    await runtime.tick()
    anna = people.slack.transcript("UANNA")
    assert "Results of #1" in anna and "1 answers from 4 recipients" in anna
    late = await people.marie.press("No")
    assert "closed" in late
    assert people.telegram.transcript("1002").count("Reminder") == 1


def test_instruments_named_in_free_text(runtime: Runtime) -> None:
    taxonomy = runtime.content.current.taxonomy
    found = detect_instruments(
        "We need an ESCO, maybe a revolving fund, EU funds or ELENA; not a bond", taxonomy
    )
    assert found == ["esco", "revolving_fund", "eu_funds", "elena"]
    assert detect_instruments("Nous cherchons un contrat de performance énergétique", taxonomy) == [
        "epc"
    ]
    assert detect_instruments("We renovate schools", taxonomy) == []


async def test_a_question_closing_before_its_scheduled_sending_is_refused_and_nothing_queued(
    runtime: Runtime, people: People
) -> None:
    """The chat, the console and the command line share one rule (`service.create`): a
    question must close after its announcement is sent."""
    anna = people.anna
    await ask(anna, "In writing", closes="In 3 days", send=False)
    await anna.press("Schedule")
    reply = await anna.say("in 5 days")
    assert "would close before the announcement is sent" in reply
    async with UnitOfWork(runtime.sessionmaker) as uow:
        assert list(await uow.announcements.recent()) == []
