"""Check-ins: asked in each officer's working hours, reminded once, flagged when ignored,
answered with choices, caught up once after downtime, and sent once by two processes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from bot.app import Runtime, build
from bot.config import Settings
from handlers.core.clock import FrozenClock
from handlers.core.replies import Reply
from handlers.delivery.outbox import OutboxWorker
from handlers.pairing.checkins import working_slot
from handlers.pairing.view import pairs_json
from storage.models import CheckIn, Officer, Pair, PairStatus
from storage.uow import UnitOfWork
from tests.conftest import PG_URL
from tests.support.fakes import FakeMessenger
from tests.support.peers import coordinator, make_pair, officer, pair_row, programme, talk


def at(day: int, hour: int, minute: int = 0, month: int = 12, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


async def active_pair(
    runtime: Runtime,
    learner: Officer,
    mentor: Officer,
    next_at: datetime,
) -> Pair:
    pair = await make_pair(runtime, learner, mentor, status=PairStatus.ACTIVE)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        await uow.session.execute(
            update(Pair)
            .where(Pair.id == pair.id)
            .values(next_checkin_at=next_at, activated_at=runtime.clock.now())
        )
        await uow.commit()
    return pair


async def checkins(runtime: Runtime) -> list[CheckIn]:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        return list((await uow.session.execute(select(CheckIn).order_by(CheckIn.id))).scalars())


async def brussels_pair(runtime: Runtime, next_at: datetime) -> Pair:
    marie = await officer(runtime, "Marie Dubois", authority="Lyon", country="FR")
    pieter = await officer(runtime, "Pieter Janssens", authority="Ghent", country="BE")
    return await active_pair(runtime, marie, pieter, next_at)


def asked(messenger: FakeMessenger, chat: str) -> list[str]:
    return [t for t in messenger.transcript(chat).split("\n") if t.startswith("Hello")]


async def test_each_officer_is_asked_on_a_working_day_in_their_own_time_zone(
    runtime: Runtime, clock: FrozenClock, messenger: FakeMessenger
) -> None:
    marie = await officer(
        runtime, "Marie Silva", authority="Lisboa", country="PT", user_id="marie",
        timezone="Europe/Lisbon",
    )  # fmt: skip
    aino = await officer(
        runtime, "Aino Virtanen", authority="Helsinki", country="FI", user_id="aino",
        timezone="Europe/Helsinki",
    )  # fmt: skip
    await active_pair(runtime, marie, aino, at(4, 15, 30))  # Friday 15:30 UTC
    clock.set(at(4, 15, 30))  # Lisbon 15:30, Helsinki 17:30 (after work)
    await runtime.tick()
    assert len(asked(messenger, "marie")) == 1 and asked(messenger, "aino") == []
    clock.set(at(5, 10))  # Saturday
    await runtime.tick()
    clock.set(at(7, 6, 59))  # Monday 08:59 in Helsinki
    await runtime.tick()
    assert asked(messenger, "aino") == []
    clock.set(at(7, 7, 0))  # Monday 09:00 in Helsinki
    await runtime.tick()
    assert asked(messenger, "aino") == [
        "Hello Aino Virtanen, how is your pair with Marie Silva (Lisboa, PT) on Energy performance contracting (EPC) going?"
    ]
    assert len(asked(messenger, "marie")) == 1
    [row] = await checkins(runtime)
    assert row.period == 1 and row.sent_at == at(7, 7, 0)
    labels = [c.label for c in messenger.to("aino")[-1].reply.choices]
    assert labels == ["We met", "Meeting planned", "Stuck, need help", "End this pair"]


def test_working_slots_skip_nights_and_weekends() -> None:
    from zoneinfo import ZoneInfo

    brussels = ZoneInfo("Europe/Brussels")
    assert working_slot(at(8, 10), brussels) == at(8, 10)  # Tuesday 11:00
    assert working_slot(at(8, 16, 30), brussels) == at(9, 8)  # 17:30 -> Wednesday 09:00
    assert working_slot(at(8, 5), brussels) == at(8, 8)  # 06:00 -> 09:00 the same day
    assert working_slot(at(12, 10), brussels) == at(14, 8)  # Saturday -> Monday 09:00
    summer = working_slot(datetime(2026, 7, 4, 12, tzinfo=UTC), brussels)
    assert summer == datetime(2026, 7, 6, 7, tzinfo=UTC)  # 09:00 CEST


async def test_one_reminder_then_a_flag_and_a_note_to_the_coordinators(
    runtime: Runtime, clock: FrozenClock, messenger: FakeMessenger
) -> None:
    await coordinator(runtime)
    pair = await brussels_pair(runtime, at(8, 10))  # Tuesday 11:00 Brussels
    clock.set(at(8, 10))
    await runtime.tick()
    assert len(asked(messenger, "marie")) == 1
    clock.set(at(10, 10))
    await runtime.tick()
    assert "reminder" not in messenger.transcript("marie")
    clock.set(at(11, 10))  # three days later
    await runtime.tick()
    await runtime.tick()
    clock.set(at(11, 15))
    await runtime.tick()
    assert messenger.transcript("marie").count("A gentle reminder") == 1
    assert messenger.transcript("pieter").count("A gentle reminder") == 1
    clock.set(at(22, 10))  # the second check-in, unanswered as well
    await runtime.tick()
    clock.set(at(25, 10))
    await runtime.tick()
    assert messenger.transcript("marie").count("A gentle reminder") == 2
    assert "is flagged" not in messenger.transcript("anna")
    clock.set(at(28, 10))  # six days after the second went out
    await runtime.tick()
    await runtime.tick()
    assert messenger.transcript("anna").count(f"Pair #{pair.id} is flagged") == 1
    assert (await pair_row(runtime, pair.id)).flagged
    async with UnitOfWork(runtime.sessionmaker) as uow:
        [row] = await pairs_json(uow, clock.now())
    assert row["health"] == "stalled" and row["flagged"] and row["last_outcome"] is None

    marie = talk(runtime, messenger, "marie")
    await marie.press("Meeting planned")
    assert not (await pair_row(runtime, pair.id)).flagged
    async with UnitOfWork(runtime.sessionmaker) as uow:
        [row] = await pairs_json(uow, clock.now())
    assert (row["health"], row["last_outcome"]) == ("active", "planned")
    assert row["next_checkin"] == at(5, 10, month=1, year=2027).isoformat()


async def test_answers_are_recorded_stuck_tells_coordinators_and_end_closes(
    runtime: Runtime, clock: FrozenClock, messenger: FakeMessenger
) -> None:
    await coordinator(runtime)
    pair = await brussels_pair(runtime, at(8, 10))
    clock.set(at(8, 10))
    await runtime.tick()
    marie = talk(runtime, messenger, "marie", "Marie Dubois")
    pieter = talk(runtime, messenger, "pieter", "Pieter Janssens")
    assert "What did you learn from Pieter Janssens?" in await marie.press("We met")
    assert "noted" in await marie.say("How to write the baseline clause of an EPC tender.")
    assert "Stuck" not in messenger.transcript("anna")
    assert "coordinators have your pair's details" in await pieter.press("Stuck")
    await runtime.tick()
    note = messenger.transcript("anna")
    assert f"Pair #{pair.id} needs help: Pieter Janssens (Ghent, BE) pressed 'Stuck'" in note
    assert "Learner: Marie Dubois (Lyon, FR)" in note and "last answers: 1: stuck" in note
    [row] = await checkins(runtime)
    assert row.answer == "stuck" and row.answered_at == clock.now()
    assert row.outcome == "Marie Dubois: How to write the baseline clause of an EPC tender."
    assert {v["answer"] for v in (row.answers or {}).values()} == {"met", "stuck"}

    assert "End your pair" in await marie.press("End this pair")
    assert "is closed" in await marie.press("Yes, end it")
    await runtime.tick()
    assert "has ended your pair" in messenger.transcript("pieter")
    assert f"Pair #{pair.id} on Energy performance contracting (EPC) was ended by Marie" in (
        messenger.transcript("anna")
    )
    closed = await pair_row(runtime, pair.id)
    assert (closed.status, closed.close_reason) == (PairStatus.CLOSED, "ended_by_learner")
    clock.set(at(23, 10))
    await runtime.tick()
    assert len(await checkins(runtime)) == 1
    assert "no longer active" in await pieter.press("We met")


async def test_after_downtime_each_pair_gets_exactly_one_catch_up_check_in(
    settings: Settings, runtime: Runtime, clock: FrozenClock, messenger: FakeMessenger
) -> None:
    pair = await brussels_pair(runtime, at(8, 10))
    clock.set(at(8, 10))
    await runtime.tick()  # period 1 goes out on time
    clock.set(at(20, 9, month=1, year=2027))  # down from 8 Dec to 20 Jan: 4 due times missed
    await runtime.tick()
    await runtime.tick()
    rows = await checkins(runtime)
    assert [r.period for r in rows] == [1, 4]
    assert rows[1].due_at == at(19, 10, month=1, year=2027)
    assert messenger.transcript("marie").count("I was away for a while") == 1
    assert (await pair_row(runtime, pair.id)).next_checkin_at == at(2, 10, month=2, year=2027)
    again = await build(settings, clock=clock)  # a restart sends nothing more
    again.messengers["fake"] = messenger
    try:
        sent = len(messenger.sent)
        await again.tick()
        assert len(messenger.sent) == sent
    finally:
        await again.close()


@dataclass
class Meeting(FakeMessenger):
    """One process's messenger: every send waits until the other process's messenger has been
    given a row too. With at most 4 rows in flight per sender (below) and 24 to send, neither
    process can send the whole round before the other has claimed part of it, however the
    machine's load orders their ticks: both take part by construction, and the test checks
    that no row is sent twice. (The wait guards against a deadlock; it is not a timing.)"""

    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    partner: Meeting | None = None

    async def send(self, chat_id: str, reply: Reply) -> str | None:
        self.arrived.set()
        assert self.partner is not None
        await asyncio.wait_for(self.partner.arrived.wait(), 120)
        return await super().send(chat_id, reply)


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="two processes share a database only on PostgreSQL")
async def test_two_processes_send_each_check_in_once(
    settings: Settings, runtime: Runtime, clock: FrozenClock
) -> None:
    await programme(runtime)
    pairs = []
    for i in range(12):
        learner = await officer(
            runtime, f"Learner {i}", authority=f"Town {i}", country="FR", user_id=f"l{i}"
        )
        mentor = await officer(
            runtime, f"Mentor {i}", authority=f"City {i}", country="BE", user_id=f"m{i}"
        )
        pairs.append(await active_pair(runtime, learner, mentor, at(8, 10)))
    first, second = Meeting(), Meeting()
    first.partner, second.partner = second, first
    runtime.messengers["fake"] = first
    other = await build(settings, clock=clock)
    other.messengers["fake"] = second
    for rt in (runtime, other):
        rt.outbox = OutboxWorker(rt.sessionmaker, rt.messengers, concurrency=4)
    try:
        clock.set(at(8, 10))
        for _ in range(3):
            await asyncio.gather(runtime.tick(), other.tick(), runtime.tick(), other.tick())
        clock.set(at(11, 10))  # reminders, also from both processes at once
        for _ in range(3):
            await asyncio.gather(runtime.tick(), other.tick())
    finally:
        await other.close()
    sent = [s.reply.text for s in first.sent + second.sent]
    assert sum(t.startswith("Hello") and "how is your pair" in t for t in sent) == 24
    assert sum(t.startswith("A gentle reminder") for t in sent) == 24
    chats = [s.chat_id for s in first.sent + second.sent]
    assert all(chats.count(c) == 2 for c in set(chats))  # one check-in, one reminder each
    assert len(await checkins(runtime)) == 12
    assert first.sent and second.sent  # both processes did part of the work


async def test_officers_see_their_pairs_and_the_next_check_in_in_their_time(
    runtime: Runtime, clock: FrozenClock, messenger: FakeMessenger
) -> None:
    await brussels_pair(runtime, at(8, 10))
    marie = talk(runtime, messenger, "marie")
    shown = await marie.say("/pairs")
    assert "Energy performance contracting (EPC) with Pieter Janssens (Ghent, BE)" in shown
    assert "You are the learner · active · next check-in: Tue 8 Dec, 11:00" in shown
    assert [c.label for c in marie.last().choices] == ["Write to Pieter Janssens"]
    stranger = await officer(runtime, "Lena Weber", authority="Freiburg", country="DE")
    assert "no pairs yet" in await talk(runtime, messenger, "lena").say("/pairs")
    assert stranger.id


async def test_pairs_shows_when_the_check_in_will_really_be_sent(
    runtime: Runtime, clock: FrozenClock, messenger: FakeMessenger
) -> None:
    marie = await officer(
        runtime, "Marie Silva", authority="Lisboa", country="PT", user_id="marie",
        timezone="Europe/Lisbon",
    )  # fmt: skip
    aino = await officer(
        runtime, "Aino Virtanen", authority="Helsinki", country="FI", user_id="aino",
        timezone="Europe/Helsinki",
    )  # fmt: skip
    await active_pair(runtime, marie, aino, at(20, 23, 22))  # Sunday 20 Dec, 23:22 UTC
    # Nominally Sunday night; the job asks on Monday at 09:00 where each of them lives.
    assert "next check-in: Mon 21 Dec, 09:00" in await talk(runtime, messenger, "aino").say(
        "/pairs"
    )
    assert "next check-in: Mon 21 Dec, 09:00" in await talk(runtime, messenger, "marie").say(
        "/pairs"
    )
    clock.set(at(21, 8))  # Monday: 08:00 in Lisbon (not yet), 10:00 in Helsinki (asked)
    await runtime.tick()
    assert len(asked(messenger, "aino")) == 1 and asked(messenger, "marie") == []
    shown = await talk(runtime, messenger, "marie").say("/pairs")
    assert "next check-in: Mon 21 Dec, 09:00" in shown  # the check-in waiting for her hours
    shown = await talk(runtime, messenger, "aino").say("/pairs")
    assert "next check-in: Mon 4 Jan, 09:00" in shown  # hers went out: 14 days on, Monday


async def test_what_an_officer_wrote_is_exported_and_erased_on_request(
    runtime: Runtime, clock: FrozenClock, messenger: FakeMessenger
) -> None:
    from handlers.pairing.checkins import officer_answers

    pair = await brussels_pair(runtime, at(8, 10))
    clock.set(at(8, 10))
    await runtime.tick()
    marie, pieter = talk(runtime, messenger, "marie"), talk(runtime, messenger, "pieter")
    await marie.press("We met")
    await marie.say("The ESCO tender needs a clear baseline.")
    await pieter.press("We met")
    await pieter.say("Lyon already has good data.")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        me = await uow.officers.by_email("marie@lyon.example")
        assert me is not None
        [mine] = await officer_answers(uow, me.id)
        assert mine["learned"] == "The ESCO tender needs a clear baseline."
        assert mine["pair_id"] == pair.id and mine["answer"] == "met"
    # /export carries them, /forget erases them (and only Marie's)
    assert "The ESCO tender needs a clear baseline." in await marie.say("/export")
    await marie.say("/forget")
    assert "has been deleted" in await marie.press("Yes, delete my data")
    [row] = await checkins(runtime)
    assert row.outcome == "Pieter Janssens: Lyon already has good data."
    assert list((row.answers or {}).keys()) == [str(pair.mentor_id)]
