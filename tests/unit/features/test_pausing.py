"""Taking a break: `/pause until DATE` and the automatic return, `/resume`, and officers who leave
three check-ins unanswered being paused and told how to come back."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.app import Runtime
from handlers.core.clock import FrozenClock
from storage.models import Officer, OfficerStatus
from storage.uow import UnitOfWork
from tests.support.fakes import FakeMessenger
from tests.support.peers import officer, talk
from tests.unit.features.test_checkins import active_pair, asked, brussels_pair


def at(day: int, hour: int, month: int = 12, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


async def status_of(runtime: Runtime, officer_id: int) -> Officer:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        found = await uow.officers.get(officer_id)
        assert found is not None
        return found


async def test_pause_until_a_date_skips_check_ins_and_comes_back_by_itself(
    runtime: Runtime, clock: FrozenClock, messenger: FakeMessenger
) -> None:
    marie = await officer(runtime, "Marie Dubois", authority="Lyon", country="FR")
    pieter = await officer(runtime, "Pieter Janssens", authority="Ghent", country="BE")
    await active_pair(runtime, marie, pieter, at(8, 10))
    me = talk(runtime, messenger, "marie")
    assert "I could not read 'until next week'" in await me.say("/pause until next week")
    assert "I could not read 'until 2026-11-01'" in await me.say("/pause until 2026-11-01")  # past
    shown = await me.say("/pause until 2026-12-14")
    assert "paused until Monday 14 December 2026" in shown
    paused = await status_of(runtime, marie.id)
    assert (paused.status, paused.paused_reason) == (OfficerStatus.PAUSED, "own")

    clock.set(at(8, 10))  # the check-in goes to Pieter only
    await runtime.tick()
    assert asked(messenger, "marie") == [] and len(asked(messenger, "pieter")) == 1

    clock.set(at(13, 22))  # 23:00 on the 13th in Brussels: not yet
    await runtime.tick()
    assert (await status_of(runtime, marie.id)).status == OfficerStatus.PAUSED
    clock.set(at(13, 23))  # midnight in Brussels: back, and told so once
    await runtime.tick()
    await runtime.tick()
    back = await status_of(runtime, marie.id)
    assert (back.status, back.paused_reason, back.paused_until) == (
        OfficerStatus.ACTIVE,
        None,
        None,
    )
    assert messenger.transcript("marie").count("Welcome back, Marie Dubois!") == 1


async def test_pause_and_resume_by_hand(runtime: Runtime, messenger: FakeMessenger) -> None:
    await officer(runtime, "Marie Dubois", authority="Lyon", country="FR")
    me = talk(runtime, messenger, "marie")
    assert "You are not paused" in await me.say("/resume")
    assert "Write /resume whenever you want to come back" in await me.say("/pause")
    assert "Welcome back" in await me.say("/resume")


async def test_an_officer_paused_by_the_coordinators_cannot_resume_alone(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    marie = await officer(runtime, "Marie Dubois", authority="Lyon", country="FR")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        row = await uow.officers.get(marie.id)
        assert row is not None
        row.status = OfficerStatus.PAUSED  # as a `consent=no` import leaves them
        await uow.commit()
    me = talk(runtime, messenger, "marie")
    assert "paused by the programme's coordinators" in await me.say("/resume")
    assert "paused by the programme's coordinators" in await me.say("/pause")
    assert (await status_of(runtime, marie.id)).status == OfficerStatus.PAUSED


async def test_three_unanswered_check_ins_pause_the_officer_who_is_told_how_to_come_back(
    runtime: Runtime, clock: FrozenClock, messenger: FakeMessenger
) -> None:
    pair = await brussels_pair(runtime, at(8, 10))  # every 14 days from Tuesday 8 December
    for moment in (at(8, 10), at(11, 10), at(22, 10), at(25, 10), at(5, 10, 1, 2027)):
        clock.set(moment)
        await runtime.tick()
    assert len(asked(messenger, "marie")) == 3  # three check-ins, nobody answered
    clock.set(at(8, 10, 1, 2027))  # the third one's reminder is due: a pause instead
    await runtime.tick()
    for user_id, officer_id in (("marie", pair.learner_id), ("pieter", pair.mentor_id)):
        text = messenger.transcript(user_id)
        assert "the last 3 check-ins went unanswered, so I have paused" in text
        assert "Write /resume whenever you want to come back" in text
        assert text.count("A gentle reminder") == 2  # the first two check-ins' reminders only
        assert officer_id is not None
        paused = await status_of(runtime, officer_id)
        assert (paused.status, paused.paused_reason) == (OfficerStatus.PAUSED, "silent")
    clock.set(at(19, 10, 1, 2027))  # the next check-in asks nobody while both are paused
    await runtime.tick()
    assert sum("how is your pair" in line for line in asked(messenger, "marie")) == 3
    assert "Welcome back" in await talk(runtime, messenger, "marie").say("/resume")


async def test_a_silent_officer_is_paused_even_when_the_partner_answers(
    runtime: Runtime, clock: FrozenClock, messenger: FakeMessenger
) -> None:
    pair = await brussels_pair(runtime, at(8, 10))
    marie = talk(runtime, messenger, "marie")
    for moment in (at(8, 10), at(22, 10), at(5, 10, 1, 2027)):
        clock.set(moment)
        await runtime.tick()
        await marie.press("Meeting planned")  # Marie answers; Pieter never does
    clock.set(at(19, 10, 1, 2027))  # the fourth check-in: Pieter is paused instead of asked
    await runtime.tick()
    pieter_text = messenger.transcript("pieter")
    assert pieter_text.count("how is your pair") == 3
    assert "the last 3 check-ins went unanswered, so I have paused" in pieter_text
    assert pair.mentor_id is not None and pair.learner_id is not None
    assert (await status_of(runtime, pair.mentor_id)).status == OfficerStatus.PAUSED
    assert (await status_of(runtime, pair.learner_id)).status == OfficerStatus.ACTIVE
    assert messenger.transcript("marie").count("how is your pair") == 4
