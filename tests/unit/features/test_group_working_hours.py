"""Session reminders a day and an hour before, in each member's own working hours: three time
zones (Lisbon, Paris, Athens), the fake clock, never a message at night or on a weekend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.app import Runtime
from handlers.core.clock import FrozenClock
from handlers.groups import sessions
from handlers.groups.working_hours import days_ahead, is_working_time, member_zone, reminder_time
from tests.support.fakes import FakeMessenger, Talk
from tests.support.peers import officer
from tests.unit.features.test_group_sessions import introduced_group

LISBON, PARIS, ATHENS = "Europe/Lisbon", "Europe/Paris", "Europe/Athens"
MONDAY_8_UTC = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
"""08:00 in Lisbon, 09:00 in Paris, 10:00 in Athens; a day before is a Sunday."""
WEDNESDAY_1730_UTC = datetime(2026, 12, 2, 17, 30, tzinfo=UTC)
"""17:30 in Lisbon, 18:30 in Paris, 19:30 in Athens."""


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "day", "hour"),
    [
        # a Monday session: the Sunday reminder moves to Friday 09:00 local
        (LISBON, utc(2026, 11, 27, 9, 0), None),  # 07:00 local: no hour reminder
        (PARIS, utc(2026, 11, 27, 8, 0), None),  # 08:00 local: none either
        (ATHENS, utc(2026, 11, 27, 7, 0), utc(2026, 11, 30, 7, 0)),  # 09:00 local: sent
    ],
)
def test_a_monday_session_is_announced_on_friday_morning(
    zone: str, day: datetime, hour: datetime | None
) -> None:
    assert reminder_time("day", MONDAY_8_UTC, zone) == day
    assert reminder_time("hour", MONDAY_8_UTC, zone) == hour


@pytest.mark.parametrize(
    ("zone", "day", "hour"),
    [
        (LISBON, utc(2026, 12, 1, 17, 30), utc(2026, 12, 2, 16, 30)),  # inside working hours
        (PARIS, utc(2026, 12, 1, 8, 0), utc(2026, 12, 2, 16, 30)),  # 18:30 -> Tuesday 09:00
        (ATHENS, utc(2026, 12, 1, 7, 0), None),  # 19:30 -> 09:00; the 18:30 one is dropped
    ],
)
def test_an_evening_session_is_announced_at_the_start_of_the_day_before(
    zone: str, day: datetime, hour: datetime | None
) -> None:
    assert reminder_time("day", WEDNESDAY_1730_UTC, zone) == day
    assert reminder_time("hour", WEDNESDAY_1730_UTC, zone) == hour
    sent = reminder_time("day", WEDNESDAY_1730_UTC, zone)
    assert sent is not None and is_working_time(sent, member_zone(zone))


def test_an_unknown_time_zone_counts_as_brussels() -> None:
    assert reminder_time("day", MONDAY_8_UTC, "Mars/Olympus") == utc(2026, 11, 27, 8, 0)
    assert days_ahead(utc(2026, 11, 27, 8, 0), MONDAY_8_UTC, "nowhere") == 3


async def test_reminders_reach_three_time_zones_at_their_own_working_times(
    runtime: Runtime, messenger: FakeMessenger, clock: FrozenClock
) -> None:
    joao = await officer(runtime, "João Silva", authority="Porto", country="PT", timezone=LISBON)
    marie = await officer(runtime, "Marie Dubois", authority="Lyon", country="FR", timezone=PARIS)
    eleni = await officer(runtime, "Eleni Pappa", authority="Patras", country="GR", timezone=ATHENS)
    group_id = await introduced_group(runtime, [joao, marie, eleni])
    async with runtime.core.uow() as uow:
        made = await sessions.propose_session(
            uow, runtime.content.current, runtime.core.secret, group_id, [MONDAY_8_UTC], clock.now()
        )
        await uow.commit()
    await runtime.tick()
    for user in ("joão", "marie", "eleni"):
        await Talk(runtime.core, messenger, user_id=user).press("Mon 30 Nov")
    async with runtime.core.uow() as uow:
        await sessions.schedule_session(
            uow, runtime.content.current, runtime.core.secret, made["session"], clock.now()
        )
        await uow.commit()
    await runtime.tick()

    def reminders() -> list[tuple[str, str]]:
        return [
            (s.chat_id, s.reply.text)
            for s in messenger.sent
            if s.reply.text.startswith(("Reminder", "Your Energy"))
        ]

    # every hour of the days before the session, and what went out when
    seen: dict[datetime, list[tuple[str, str]]] = {}
    moment = utc(2026, 11, 26, 18, 0)
    while moment < MONDAY_8_UTC:
        clock.set(moment)
        before = len(reminders())
        await runtime.tick()
        if len(reminders()) > before:
            seen[moment] = reminders()[before:]
        moment += timedelta(hours=1 if moment.weekday() < 5 else 6)  # a weekend: 4 looks a day
    scheme = "Energy performance contracting (EPC)"
    assert seen == {
        utc(2026, 11, 27, 7, 0): [
            ("eleni", f"Reminder: your {scheme} group meets on Mon 30 Nov 2026, 10:00 ({ATHENS}).")
        ],
        utc(2026, 11, 27, 8, 0): [
            ("marie", f"Reminder: your {scheme} group meets on Mon 30 Nov 2026, 09:00 ({PARIS}).")
        ],
        utc(2026, 11, 27, 9, 0): [
            ("joão", f"Reminder: your {scheme} group meets on Mon 30 Nov 2026, 08:00 ({LISBON}).")
        ],
        utc(2026, 11, 30, 7, 0): [
            ("eleni", f"Your {scheme} group meets in an hour: Mon 30 Nov 2026, 10:00 ({ATHENS}).")
        ],
    }


def test_a_session_scheduled_late_is_still_announced_in_working_hours() -> None:
    # scheduled on Tuesday 19:00 UTC (21:00 in Athens) for Wednesday 19:30 in Athens: Tuesday
    # 09:00 has passed, the hour reminder (18:30) would be after work: Wednesday 09:00 it is
    now = utc(2026, 12, 1, 19, 0)
    assert reminder_time("day", WEDNESDAY_1730_UTC, ATHENS, now) == utc(2026, 12, 2, 7, 0)
    assert reminder_time("hour", WEDNESDAY_1730_UTC, ATHENS, now) is None
    # scheduled on Saturday for Monday 08:00 in Lisbon: no working moment left before it
    saturday = utc(2026, 11, 28, 12, 0)
    assert reminder_time("day", MONDAY_8_UTC, LISBON, saturday) is None
    # in working hours now: at once
    tuesday = utc(2026, 12, 1, 12, 0)
    assert reminder_time("day", WEDNESDAY_1730_UTC, PARIS, tuesday) == tuesday


async def test_a_late_session_is_announced_the_same_morning_as_today(
    runtime: Runtime, messenger: FakeMessenger, clock: FrozenClock
) -> None:
    eleni = await officer(runtime, "Eleni Pappa", authority="Patras", country="GR", timezone=ATHENS)
    group_id = await introduced_group(runtime, [eleni])
    clock.set(utc(2026, 12, 1, 19, 0))
    async with runtime.core.uow() as uow:
        made = await sessions.propose_session(
            uow, runtime.content.current, runtime.core.secret, group_id, [WEDNESDAY_1730_UTC],
            clock.now(),
        )  # fmt: skip
        await sessions.schedule_session(
            uow, runtime.content.current, runtime.core.secret, made["session"], clock.now()
        )
        await uow.commit()
    await runtime.tick()
    before = len(messenger.sent)
    clock.set(utc(2026, 12, 2, 6, 59))
    await runtime.tick()
    assert len(messenger.sent) == before  # 08:59 in Athens
    clock.set(utc(2026, 12, 2, 7, 0))
    await runtime.tick()
    assert messenger.to("eleni")[-1].reply.text == (
        "Reminder: your Energy performance contracting (EPC) group meets today, "
        f"Wed 2 Dec 2026, 19:30 ({ATHENS})."
    )


async def test_the_scheduled_message_promises_only_the_reminders_that_will_go_out(
    runtime: Runtime, messenger: FakeMessenger, clock: FrozenClock
) -> None:
    # Monday 08:00 UTC: the Sunday reminder moves to Friday 09:00 local for everyone; the hour
    # reminder is dropped in Lisbon (07:00) and Paris (08:00), sent in Athens (09:00)
    joao = await officer(runtime, "João Silva", authority="Porto", country="PT", timezone=LISBON)
    marie = await officer(runtime, "Marie Dubois", authority="Lyon", country="FR", timezone=PARIS)
    eleni = await officer(runtime, "Eleni Pappa", authority="Patras", country="GR", timezone=ATHENS)
    kostas = await officer(
        runtime, "Kostas Nikolaou", authority="Larissa", country="GR", timezone=ATHENS
    )
    async with runtime.core.uow() as uow:
        for person, locale in ((marie, "fr"), (eleni, "de"), (kostas, "it")):
            found = await uow.officers.get(person.id)
            assert found is not None
            found.locale = locale
        await uow.commit()
    group_id = await introduced_group(runtime, [joao, marie, eleni, kostas])
    monday, wednesday = MONDAY_8_UTC, utc(2026, 12, 2, 12, 0)  # Wednesday noon: both as usual
    for starts in (monday, wednesday):
        async with runtime.core.uow() as uow:
            made = await sessions.propose_session(
                uow, runtime.content.current, runtime.core.secret, group_id, [starts], clock.now()
            )
            await sessions.schedule_session(
                uow, runtime.content.current, runtime.core.secret, made["session"], clock.now()
            )
            await uow.commit()
        await runtime.tick()

    def told(user: str) -> list[str]:
        scheduled = [s.reply.text for s in messenger.to(user) if not s.reply.choices]
        return [text.split("). ", 1)[-1] for text in scheduled][-2:]

    assert told("joão") == [
        "I will remind you on Friday 27 November at 09:00.",
        "I will remind you the day before and an hour before.",
    ]
    assert told("marie") == [
        "Je vous la rappellerai le vendredi 27 novembre à 09:00.",
        "Je vous la rappellerai la veille et une heure avant.",
    ]
    assert told("eleni") == [
        "Ich erinnere Sie am Freitag, 27. November um 09:00 daran und noch einmal eine "
        "Stunde vorher.",
        "Ich erinnere Sie am Vortag und eine Stunde vorher daran.",
    ]
    assert told("kostas")[0] == "Glielo ricorderò venerdì 27 novembre alle 09:00 e un'ora prima."
    assert not any("an hour before" in t or "une heure" in t for t in told("joão")[:1])
