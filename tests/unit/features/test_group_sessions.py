"""A group in three time zones votes on session times and is reminded a day and an hour before;
its members are checked in on at the programme's cadence."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.app import Runtime
from handlers.core.clock import FrozenClock
from handlers.groups import service, sessions
from storage.models import Officer
from storage.uow import UnitOfWork
from tests.support.fakes import FakeMessenger, Talk
from tests.support.outreach import seated_group
from tests.support.peers import coordinator, officer, programme

SLOTS = [datetime(2026, 12, 1, 9, 0, tzinfo=UTC), datetime(2026, 12, 2, 14, 0, tzinfo=UTC)]


async def introduced_group(runtime: Runtime, people: list[Officer]) -> int:
    await programme(runtime)
    return await seated_group(
        runtime,
        people,
        status="introduced",
        introduced_at=datetime(2026, 11, 24, 10, 0, tzinfo=UTC),
    )


async def test_a_session_vote_across_three_time_zones_with_reminders_at_the_right_times(
    runtime: Runtime, messenger: FakeMessenger, clock: FrozenClock
) -> None:
    joao = await officer(
        runtime, "João Silva", authority="Porto", country="PT", timezone="Europe/Lisbon"
    )
    marie = await officer(
        runtime, "Marie Dubois", authority="Lyon", country="FR", timezone="Europe/Paris"
    )
    eleni = await officer(
        runtime, "Eleni Pappa", authority="Patras", country="GR", timezone="Europe/Athens"
    )
    group_id = await introduced_group(runtime, [joao, marie, eleni])

    async with UnitOfWork(runtime.sessionmaker) as uow:
        proposed = await sessions.propose_session(
            uow, runtime.content.current, runtime.core.secret, group_id, SLOTS, clock.now()
        )
        await uow.commit()
    await runtime.tick()

    # each member sees the same two slots in their own time zone
    assert "Tue 1 Dec 2026, 09:00 (Europe/Lisbon)" in str(messenger.to("joão")[-1].reply)
    paris = [c.label for c in messenger.to("marie")[-1].reply.choices]
    assert paris == ["Tue 1 Dec 2026, 10:00 (Europe/Paris)", "Wed 2 Dec 2026, 15:00 (Europe/Paris)"]
    athens = [c.label for c in messenger.to("eleni")[-1].reply.choices]
    assert athens == [
        "Tue 1 Dec 2026, 11:00 (Europe/Athens)",
        "Wed 2 Dec 2026, 16:00 (Europe/Athens)",
    ]

    for user, label in (("marie", "Wed 2 Dec"), ("eleni", "Wed 2 Dec"), ("joão", "Tue 1 Dec")):
        await Talk(runtime.core, messenger, user_id=user).press(label)
    await Talk(runtime.core, messenger, user_id="joão").press("Wed 2 Dec")
    assert [c.selected for c in messenger.to("joão")[-1].reply.choices] == [True, True]

    async with UnitOfWork(runtime.sessionmaker) as uow:
        done = await sessions.schedule_session(
            uow, runtime.content.current, runtime.core.secret, proposed["session"], clock.now()
        )
        await uow.commit()
    assert done == {"session": proposed["session"], "starts_at": SLOTS[1].isoformat(), "votes": 3}
    await runtime.tick()
    assert (
        "The next session of your Energy performance contracting (EPC) group: Wed 2 Dec 2026, 14:00 (Europe/Lisbon)"
        in (messenger.transcript("joão"))
    )

    before = len(messenger.sent)
    clock.set(datetime(2026, 12, 1, 13, 59, tzinfo=UTC))
    await runtime.tick()
    assert len(messenger.sent) == before  # not due yet
    clock.set(datetime(2026, 12, 1, 14, 0, tzinfo=UTC))
    await runtime.tick()
    await runtime.tick()
    day = [s.reply.text for s in messenger.sent[before:]]
    assert sorted(day) == sorted(
        [
            "Reminder: your Energy performance contracting (EPC) group meets tomorrow, "
            f"Wed 2 Dec 2026, {when}."
            for when in ("14:00 (Europe/Lisbon)", "15:00 (Europe/Paris)", "16:00 (Europe/Athens)")
        ]
    )
    clock.set(datetime(2026, 12, 2, 13, 0, tzinfo=UTC))
    await runtime.tick()
    await runtime.tick()
    hour = [s.reply.text for s in messenger.sent[before + 3 :]]
    assert len(hour) == 3 and all("meets in an hour" in text for text in hour)
    assert "Wed 2 Dec 2026, 16:00 (Europe/Athens)" in messenger.transcript("eleni")

    async with UnitOfWork(runtime.sessionmaker) as uow:  # the vote is over
        late = await uow.groups.get_session(proposed["session"])
        assert late is not None and late.status == "scheduled"


async def test_group_check_ins_are_asked_once_per_period_and_a_stuck_group_is_flagged(
    runtime: Runtime, messenger: FakeMessenger, clock: FrozenClock
) -> None:
    await coordinator(runtime)
    marie = await officer(runtime, "Marie Dubois", authority="Lyon", country="FR")
    ivana = await officer(runtime, "Ivana Horvat", authority="Zagreb", country="HR")
    group_id = await introduced_group(runtime, [marie, ivana])

    clock.advance(days=13)
    await runtime.tick()
    assert not messenger.to("marie")  # the programme checks in every 14 days

    clock.advance(days=1)
    await runtime.tick()
    await runtime.tick()
    assert messenger.transcript("marie") == (
        "How is your Energy performance contracting (EPC) group going?"
    )
    assert [c.label for c in messenger.to("ivana")[-1].reply.choices] == [
        "Going well",
        "Slowly",
        "We are stuck",
    ]
    async with UnitOfWork(runtime.sessionmaker) as uow:
        shown = await service.show(uow, group_id)
        assert shown is not None and shown["health"] == "silent"

    await Talk(runtime.core, messenger, user_id="marie").press("Going well")
    said = await Talk(runtime.core, messenger, user_id="ivana").press("We are stuck")
    assert "I have let the coordinators know" in said
    await runtime.tick()
    stuck = f"Group #{group_id} (Energy performance contracting (EPC)): Ivana Horvat says the"
    assert f"{stuck} group is stuck." in messenger.transcript("anna")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        shown = await service.show(uow, group_id)
        assert shown is not None and shown["health"] == "stuck"
