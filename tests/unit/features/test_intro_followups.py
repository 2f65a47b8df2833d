"""Unanswered introductions: one reminder after 9 days (in working hours, only to the side that
has not accepted), then the coordinators are told once, 3 days later."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.app import Runtime
from handlers.core.clock import FrozenClock
from handlers.report.figures import build_report
from storage.models import Outbox
from storage.uow import UnitOfWork
from tests.support.fakes import FakeMessenger
from tests.support.peers import coordinator, make_pair, officer, pair_row, talk


def at(day: int, hour: int, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


async def keys(runtime: Runtime, prefix: str) -> list[str]:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        stmt = select(Outbox.idempotency_key).where(Outbox.idempotency_key.like(f"{prefix}%"))
        return sorted((await uow.session.execute(stmt)).scalars())


async def test_an_unanswered_introduction_is_reminded_once_then_escalated(
    runtime: Runtime, clock: FrozenClock, messenger: FakeMessenger
) -> None:
    await coordinator(runtime)
    marie = await officer(runtime, "Marie Dubois", authority="Lyon", country="FR")
    pieter = await officer(runtime, "Pieter Janssens", authority="Ghent", country="BE")
    pair = await make_pair(runtime, marie, pieter)
    await runtime.tick()  # introduced Tuesday 24 November, 10:00 UTC
    assert "Accept" in [c.label for c in messenger.to("marie")[-1].reply.choices]
    await talk(runtime, messenger, "marie").press("Accept")

    clock.set(at(3, 8))  # 8 days and 22 hours later: not yet
    await runtime.tick()
    assert await keys(runtime, f"pair:{pair.id}:intro_reminder") == []

    clock.set(at(3, 20))  # 9 days and more, but 21:00 in Brussels: waits for working hours
    await runtime.tick()
    assert await keys(runtime, f"pair:{pair.id}:intro_reminder") == []
    assert (await pair_row(runtime, pair.id)).intro_reminded_at is None

    clock.set(at(4, 8))  # Friday 09:00 in Brussels
    await runtime.tick()
    await runtime.tick()
    assert await keys(runtime, f"pair:{pair.id}:intro_reminder") == [
        f"pair:{pair.id}:intro_reminder:{pieter.id}"  # Marie accepted: only Pieter is reminded
    ]
    reminder = messenger.to("pieter")[-1].reply
    assert reminder.text.startswith("A gentle reminder, Pieter Janssens: 9 days ago")
    assert [c.label for c in reminder.choices] == ["Accept", "Decline"]
    assert (await pair_row(runtime, pair.id)).intro_reminded_at == at(4, 8)
    assert "waiting" not in messenger.transcript("anna")

    clock.set(at(7, 7))
    await runtime.tick()
    assert await keys(runtime, f"pair:{pair.id}:intro_unanswered") == []
    clock.set(at(7, 8))  # 3 days after the reminder: the coordinators hear of it, once
    await runtime.tick()
    await runtime.tick()
    note = messenger.transcript("anna")
    assert f"Pair #{pair.id} on Energy performance contracting (EPC)" in note
    assert "still waiting, even after a reminder, for Pieter Janssens (Ghent, BE)" in note
    assert len(await keys(runtime, f"pair:{pair.id}:intro_unanswered")) == 1
    assert len(await keys(runtime, f"pair:{pair.id}:intro_reminder")) == 1

    # The dashboard says what it is: introduced, waiting for one officer; never "active".
    async with UnitOfWork(runtime.sessionmaker) as uow:
        programme_id = (await pair_row(runtime, pair.id)).programme_id
        assert programme_id is not None
        report = await build_report(uow, {programme_id}, clock.now())
    assert report.pairs_now["introduced"] == 1 and report.pairs_now["active"] == 0
    assert report.introductions_waiting == {"one": 1, "both": 0}

    # Accepting after the reminder still works and makes the pair active.
    assert "is active" in await talk(runtime, messenger, "pieter").press("Accept")
    assert (await pair_row(runtime, pair.id)).status.value == "active"


async def test_a_pair_accepted_in_time_is_never_reminded(
    runtime: Runtime, clock: FrozenClock, messenger: FakeMessenger
) -> None:
    await coordinator(runtime)
    marie = await officer(runtime, "Marie Dubois", authority="Lyon", country="FR")
    pieter = await officer(runtime, "Pieter Janssens", authority="Ghent", country="BE")
    pair = await make_pair(runtime, marie, pieter)
    await runtime.tick()
    await talk(runtime, messenger, "marie").press("Accept")
    await talk(runtime, messenger, "pieter").press("Accept")
    for day in (4, 8, 15):
        clock.set(at(day, 9))
        await runtime.tick()
    assert await keys(runtime, f"pair:{pair.id}:intro_reminder") == []
    assert await keys(runtime, f"pair:{pair.id}:intro_unanswered") == []
