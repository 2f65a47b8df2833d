"""After the session: the mentor records attendance with buttons, members keep notes with the
group and read them (`/notes`), a member asks for a study visit that coordinators approve or
decline with a reason, and a group that falls silent is escalated to coordinators once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.app import Runtime
from handlers.core.clock import FrozenClock
from handlers.groups import service, sessions
from storage.models import Officer, StudyVisit
from tests.support.fakes import FakeMessenger, Talk
from tests.support.peers import coordinator, officer
from tests.unit.features.test_group_sessions import introduced_group

SESSION_AT = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)  # Thursday


async def four(runtime: Runtime) -> list[Officer]:
    return [
        await officer(runtime, "Pieter Janssens", authority="Ghent", country="BE"),
        await officer(runtime, "Marie Dubois", authority="Lyon", country="FR"),
        await officer(runtime, "Ivana Horvat", authority="Zagreb", country="HR"),
        await officer(runtime, "Ola Nowak", authority="Gdansk", country="PL"),
    ]


async def held_session(runtime: Runtime, clock: FrozenClock, group_id: int) -> int:
    async with runtime.core.uow() as uow:
        made = await sessions.propose_session(
            uow, runtime.content.current, runtime.core.secret, group_id, [SESSION_AT], clock.now()
        )
        await sessions.schedule_session(
            uow, runtime.content.current, runtime.core.secret, made["session"], clock.now()
        )
        await uow.commit()
        return int(made["session"])


async def test_the_mentor_records_attendance_with_buttons_once_the_session_is_over(
    runtime: Runtime, messenger: FakeMessenger, clock: FrozenClock
) -> None:
    people = await four(runtime)
    group_id = await introduced_group(runtime, people)
    session_id = await held_session(runtime, clock, group_id)
    clock.set(SESSION_AT + timedelta(minutes=59))
    await runtime.tick()
    assert "Who attended" not in messenger.transcript("pieter")  # not over yet
    clock.set(SESSION_AT + timedelta(hours=1))
    await runtime.tick()
    await runtime.tick()
    ask = messenger.to("pieter")[-1].reply
    assert ask.text.startswith("Who attended the session of your Energy performance")
    assert [c.label for c in ask.choices] == [
        "Pieter Janssens", "Marie Dubois", "Ivana Horvat", "Ola Nowak", "Done"
    ]  # fmt: skip
    assert "Who attended" not in messenger.transcript("marie")  # learners are not asked

    # a learner cannot record attendance: the mentor's button is signed for the mentor's chat
    forged = Talk(runtime.core, messenger, user_id="marie")
    outcome = await forged.handle(choice=messenger.to("pieter")[-1].reply.choices[1].id)
    assert outcome != "error"
    assert "is not for you" in messenger.transcript("marie")

    pieter = Talk(runtime.core, messenger, user_id="pieter")
    for name in ("Pieter Janssens", "Marie Dubois", "Ola Nowak", "Ola Nowak", "Ivana"):
        await pieter.press(name)
    assert [c.selected for c in pieter.last().choices][:4] == [True, True, True, False]
    assert "3 of 4 members were there" in await pieter.press("Done")
    async with runtime.core.uow() as uow:
        marks = await uow.group_life.attendance(session_id)
        session = await uow.groups.get_session(session_id)
        assert session is not None and session.status == "held"
    assert marks == {
        people[0].id: True,
        people[1].id: True,
        people[2].id: True,
        people[3].id: False,
    }
    await runtime.tick()
    asked = [s for s in messenger.to("pieter") if "Who attended" in s.reply.text]
    assert len([s for s in asked if not s.reply.edit]) == 1  # asked once; the rest are edits


async def test_notes_are_kept_with_the_group_and_read_by_its_members_only(
    runtime: Runtime, messenger: FakeMessenger, clock: FrozenClock
) -> None:
    people = await four(runtime)
    await officer(runtime, "Kadri Tamm", authority="Tallinn", country="EE")
    group_id = await introduced_group(runtime, people)
    pieter = Talk(runtime.core, messenger, user_id="pieter")
    marie = Talk(runtime.core, messenger, user_id="marie")
    assert "has no notes yet" in await marie.say("/notes")
    assert "between 3 and 4000" in await pieter.say("/notes ok")
    said = await pieter.say(
        "/notes Summary: Ghent's EPC used a 2017 baseline; next: tender drafts."
    )
    assert f"Kept with group #{group_id}" in said
    clock.advance(hours=2)
    await marie.say("/notes Lyon will share its draft tender by Friday.")
    listed = await marie.say("/notes")
    assert listed.startswith("Notes of your Energy performance contracting (EPC) group:")
    assert listed.index("2017 baseline") < listed.index("draft tender")
    assert "Tue 24 Nov 2026, 11:00 (Europe/Brussels), Pieter Janssens:\nSummary" in listed
    kadri = Talk(runtime.core, messenger, user_id="kadri")
    assert "not in a running peer-learning group" in await kadri.say("/notes")
    assert "cannot do that" in await kadri.say(f"/notes #{group_id}")  # not a member
    assert "cannot do that" in await kadri.say(f"/notes #{group_id} let me in")
    async with runtime.core.uow() as uow:
        shown = await service.show(uow, group_id, clock.now())
    assert shown is not None and shown["state"] == "active"


async def test_a_study_visit_request_goes_to_coordinators_and_the_group_hears_the_decision(
    runtime: Runtime, messenger: FakeMessenger, clock: FrozenClock
) -> None:
    await coordinator(runtime)
    people = await four(runtime)
    group_id = await introduced_group(runtime, people)
    marie = Talk(runtime.core, messenger, user_id="marie")
    assert "four short questions" in await marie.say("/visit")
    assert "2 to 300" in await marie.say("x" * 301)  # who: too long, asked again
    await marie.say("Marie Dubois and Paul Martin (Lyon)")
    await marie.say("Ghent")
    await marie.say("12-14 March 2027")
    summary = await marie.say("See the street-lighting EPC on site and meet the ESCO.")
    assert "Where: Ghent\nWhen: 12-14 March 2027" in summary
    assert "Sent to the coordinators" in await marie.press("Send")
    await runtime.tick()
    request = messenger.to("anna")[-1].reply
    assert f"Study visit request from group #{group_id}" in request.text
    assert "sent by Marie Dubois (Lyon)" in request.text
    assert [c.label for c in request.choices] == ["Approve", "Decline"]

    # a member cannot decide with the coordinator's button
    await Talk(runtime.core, messenger, user_id="ivana").handle(choice=request.choices[0].id)
    assert "is not for you" in messenger.transcript("ivana")

    anna = Talk(runtime.core, messenger, user_id="anna")
    assert "Why are you declining the visit to Ghent?" in await anna.press("Decline")
    assert "Declined" in await anna.say("The travel budget of this cycle is spent; try in May.")
    await runtime.tick()
    for user in ("pieter", "marie", "ivana", "ola"):
        assert "declined the study visit to Ghent (12-14 March 2027)" in messenger.transcript(user)
        assert "travel budget of this cycle is spent" in messenger.transcript(user)
    assert "already been declined" in await anna.press("Approve")
    async with runtime.core.uow() as uow:
        [visit] = await uow.group_life.visits(group_id)
    assert isinstance(visit, StudyVisit) and (visit.status, visit.place) == ("declined", "Ghent")

    # a second request, approved
    await marie.say("/visit")
    for answer in ("Marie Dubois", "Ghent", "May 2027", "The ESCO contract in practice."):
        await marie.say(answer)
    await marie.press("Send")
    await runtime.tick()
    assert "Approved" in await anna.press("Approve")
    await runtime.tick()
    assert "approved the study visit to Ghent (May 2027)" in messenger.transcript("ola")


async def test_a_silent_group_is_escalated_once_and_shown_stalled(
    runtime: Runtime, messenger: FakeMessenger, clock: FrozenClock
) -> None:
    await coordinator(runtime)
    people = await four(runtime)
    group_id = await introduced_group(runtime, people)  # introduced Tue 24 Nov, 10:00

    async def state() -> str:
        from handlers.groups.figures import cycle_figures

        async with runtime.core.uow() as uow:
            shown = await service.show(uow, group_id, clock.now())
            assert shown is not None
            group = await uow.groups.get(group_id)
            assert group is not None
            cycle = await service.find_cycle(uow, group.cycle_id)
            figures = await cycle_figures(uow, cycle, clock.now())
        # the cycle's report counts the same state as the group's page
        assert figures["health"] == {shown["state"]: 1}
        assert figures["groups"][0]["health"] == shown["state"]
        return str(shown["state"])

    assert await state() == "active"
    clock.advance(days=13)
    await runtime.tick()
    assert await state() == "active"
    clock.advance(days=1)  # two weeks without a sign of life; the first check-in is asked
    await runtime.tick()
    assert await state() == "quiet"
    clock.advance(days=4)  # nobody answers it
    await runtime.tick()
    assert await state() == "quiet"
    assert "has gone silent" not in messenger.transcript("anna")
    clock.advance(days=10)  # four weeks without a sign of life: stalled
    await runtime.tick()
    await runtime.tick()
    assert await state() == "stalled"
    note = messenger.transcript("anna")
    assert f"Group #{group_id} (Energy performance contracting (EPC)) has gone silent" in note
    assert "Pieter Janssens (Ghent)" in note
    for _ in range(3):  # not repeated
        clock.advance(days=1)
        await runtime.tick()
    assert messenger.transcript("anna").count("has gone silent") == 1

    # someone answers: active again, the escalation mark is cleared
    await Talk(runtime.core, messenger, user_id="marie").press("Going well")
    await runtime.tick()
    assert await state() == "active"
    async with runtime.core.uow() as uow:
        group = await uow.groups.get(group_id)
        assert group is not None and group.escalated_at is None


def test_health_reads_check_ins_and_signs_of_life() -> None:
    from handlers.groups.health import diagnose
    from storage.models import GroupCheckIn, PeerGroup

    start = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    group = PeerGroup(id=1, status="active", introduced_at=start)

    def asked(period: int, days: int, answer: str | None = None) -> GroupCheckIn:
        sent = start + timedelta(days=days)
        return GroupCheckIn(
            period=period, sent_at=sent, answer=answer, answered_at=sent if answer else None
        )

    now = start + timedelta(days=30)
    assert diagnose(group, [asked(1, 14), asked(2, 28, "good")], now)["state"] == "active"
    found = diagnose(group, [asked(1, 14), asked(2, 26)], now)
    assert (found["state"], found["why"], found["unanswered"]) == ("stalled", "unanswered", 2)
    assert diagnose(group, [asked(1, 14, "good"), asked(2, 20)], now) == {
        "state": "quiet", "why": "unanswered", "idle_days": 16, "unanswered": 1,
    }  # fmt: skip
    stuck = diagnose(group, [asked(1, 28, "stuck"), asked(1, 28, "good")], now)
    assert (stuck["state"], stuck["why"]) == ("stalled", "stuck")
    group.last_activity_at = now - timedelta(days=1)
    assert diagnose(group, [], now)["state"] == "active"
    group.status = "closed"
    assert diagnose(group, [], now)["state"] == "closed"


async def test_every_running_group_is_checked_page_by_page(
    runtime: Runtime,
    messenger: FakeMessenger,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # five silent groups, two to a page: the health job and the check-ins reach all five
    from handlers.groups import checkins, health

    monkeypatch.setattr(health, "BATCH", 2)
    monkeypatch.setattr(checkins, "BATCH", 2)
    await coordinator(runtime)
    ids = []
    for n in range(5):
        pair = [
            await officer(runtime, f"Mentor{n} M", authority=f"Town {n}", country="BE"),
            await officer(runtime, f"Learner{n} L", authority=f"City {n}", country="FR"),
        ]
        ids.append(await introduced_group(runtime, pair))
    clock.advance(days=14)
    await runtime.tick()
    async with runtime.core.uow() as uow:
        for g in ids:
            assert [c.period for c in await uow.groups.checkins(g)] == [1, 1]
    clock.advance(days=15)  # four weeks silent: every group stalled
    await runtime.tick()
    await runtime.tick()
    note = messenger.transcript("anna")
    assert all(f"Group #{g} (Energy performance contracting (EPC)) has gone silent" in note
               for g in ids)  # fmt: skip
    async with runtime.core.uow() as uow:
        for g in ids:
            found = await uow.groups.get(g)
            assert found is not None and found.escalated_at is not None
