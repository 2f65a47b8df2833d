"""A coordinator announces something to officers on Slack and Telegram, through the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import Runtime
from handlers.announcements import flow as broadcast
from handlers.announcements import service
from handlers.announcements.audience import Audience, parse_audience
from handlers.audit.service import Coordinator, NotAllowed
from handlers.core.clock import FrozenClock
from handlers.core.ports import Undeliverable
from handlers.core.replies import Reply
from storage.models import Announcement, Outbox, Role
from storage.uow import UnitOfWork
from tests.support.fakes import FakeMessenger, Talk
from tests.support.outreach import ForumMessenger, person, platforms, programme, talk


@dataclass
class People:
    slack: FakeMessenger
    telegram: ForumMessenger
    anna: Talk


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
        languages=["fr", "en"],
        locale="fr",
        sectors=["public_lighting"],
    )
    await person(runtime, "Giulia Rossi", user_id="UGIULIA", country="IT", sectors=["mobility"])
    return People(slack, telegram, talk(runtime, slack, "UANNA", "Anna"))


async def compose(anna: Talk, text: str, audience: str | None = None) -> str:
    await anna.say("/broadcast")
    await anna.say(text)
    await anna.press("Choose recipients")
    if audience is None:
        return await anna.press("Everyone")
    return await anna.say(audience)


async def announcements(runtime: Runtime) -> list[Announcement]:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        return list(await uow.announcements.recent())


async def status(runtime: Runtime, ann_id: int) -> dict[str, object]:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        ann = await uow.announcements.get(ann_id)
        assert ann is not None
        return await broadcast.status_json(uow, ann)


async def test_a_coordinator_reaches_every_officer_on_both_platforms_once(
    runtime: Runtime, people: People
) -> None:
    anna, slack, telegram = people.anna, people.slack, people.telegram
    preview = await compose(anna, "Webinar on EPC for schools, 3 December at 10:00 CET.")
    assert "4 officers will receive this (slack 2, telegram 2)" in preview
    assert "Webinar on EPC" in preview
    queued = await anna.press("Send now")
    assert "Announcement #1 is on its way to 4 officers" in queued
    await runtime.tick()
    await runtime.tick()
    # the frame is in each officer's language (Marie's is French), the text as written
    for chat, head in (("1001", "📣 Programme announcement"), ("1002", "📣 Annonce du programme")):
        assert [s.reply.text for s in telegram.to(chat)] == [
            f"{head}\n\nWebinar on EPC for schools, 3 December at 10:00 CET."
        ]
    assert len(slack.to("UGIULIA")) == 1
    report = await status(runtime, 1)
    assert report["total"] == 4 and report["sent"] == 4 and report["pending"] == 0
    assert report["started_at"] and report["finished_at"]
    summary = slack.transcript("UANNA")
    assert "Announcement #1 is delivered" in summary and "4 of 4 sent" in summary
    for _ in range(3):
        await runtime.tick()
    assert len(telegram.to("1001")) == 1


async def test_an_officer_who_is_not_a_coordinator_is_refused(
    runtime: Runtime, people: People
) -> None:
    pieter = talk(runtime, people.telegram, "1001", "Pieter")
    reply = await pieter.say("/broadcast Free beer for everyone")
    assert "only programme coordinators" in reply
    await pieter.say("Free beer for everyone")
    await runtime.tick()
    assert await announcements(runtime) == []
    async with UnitOfWork(runtime.sessionmaker) as uow:
        assert (await uow.session.execute(select(func.count()).select_from(Outbox))).scalar() == 0


async def test_a_filtered_audience_gets_it_in_their_language(
    runtime: Runtime, people: People
) -> None:
    anna, telegram = people.anna, people.telegram
    await anna.say("/broadcast")
    await anna.say("The ELENA call closes on 15 January.")
    await anna.press("Add a translation")
    await anna.press("French")
    await anna.say("L'appel ELENA ferme le 15 janvier.")
    await anna.press("Choose recipients")
    preview = await anna.say("country=France,BE platform=telegram")
    assert "2 officers will receive this (telegram 2)" in preview
    assert "country=FR,BE platform=telegram" in preview
    await anna.press("Send now")
    await runtime.tick()
    assert "L'appel ELENA" in telegram.transcript("1002")
    assert "The ELENA call" in telegram.transcript("1001")
    assert people.slack.to("UGIULIA") == []


async def test_a_wrong_filter_is_explained_and_can_be_corrected(
    runtime: Runtime, people: People
) -> None:
    anna = people.anna
    reply = await compose(anna, "Hello", "country=Atlantis sector=lighting colour=blue")
    assert "country=Atlantis" in reply and "colour=" in reply
    preview = await anna.say("sector=lighting")
    assert "1 officers will receive this" in preview or "1 officer" in preview


async def test_a_scheduled_announcement_waits_for_its_time_and_can_be_cancelled(
    runtime: Runtime, people: People, clock: FrozenClock
) -> None:
    anna, telegram = people.anna, people.telegram
    await compose(anna, "Site visit in Lyon next week.")
    await anna.press("Schedule")
    scheduled = await anna.say("tomorrow 9:00")
    assert "is scheduled for" in scheduled
    await runtime.tick()
    assert telegram.to("1001") == []
    clock.advance(days=1)
    await runtime.tick()
    assert "Site visit" in telegram.transcript("1001")
    await compose(anna, "Second one")
    await anna.press("Schedule")
    await anna.say("in 3 hours")
    assert "cancelled" in await anna.say("/broadcast cancel 2")
    clock.advance(hours=4)
    await runtime.tick()
    assert "Second one" not in telegram.transcript("1001")


async def test_blocked_officers_are_undeliverable_and_reported(
    runtime: Runtime, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    telegram = people.telegram
    original = telegram.send

    async def send(chat_id: str, reply: Reply) -> str | None:
        if chat_id == "1001":
            raise Undeliverable("Forbidden: bot was blocked by the user")
        return await original(chat_id, reply)

    monkeypatch.setattr(telegram, "send", send)
    await compose(people.anna, "Newsletter")
    await people.anna.press("Send now")
    await runtime.tick()
    await runtime.tick()
    report = await status(runtime, 1)
    assert report == {**report, "total": 4, "sent": 3, "undeliverable": 1, "pending": 0}
    assert "1 undeliverable" in people.slack.transcript("UANNA")
    # The report names who was not reached and why; the next preview counts them as blocked.
    assert report["not_reached"] == [
        {"name": "Pieter Janssens", "email": "1001@example.eu", "why": "blocked"}
    ]
    assert "Not reached (1):\n• Pieter Janssens (blocked the bot)" in people.slack.transcript(
        "UANNA"
    )
    preview = await compose(people.anna, "Second newsletter")
    assert "3 officers will receive this (slack 2, telegram 1)" in preview
    assert "1 officer(s) blocked the bot and will be sent nothing:\n• Pieter Janssens" in preview


async def test_telegram_officers_who_never_pressed_start_are_listed_and_sent_nothing(
    runtime: Runtime, people: People
) -> None:
    await person(
        runtime, "Jana Novakova", platform="telegram", user_id="1003", country="CZ",
        authority="Brno", started=False,
    )  # fmt: skip
    preview = await compose(people.anna, "Kick-off on Monday")
    assert "4 officers will receive this (slack 2, telegram 2)" in preview
    assert "1 officer(s) on Telegram have not pressed Start yet" in preview
    assert "https://t.me/" in preview and "• Jana Novakova (Brno, CZ) <1003@example.eu>" in preview
    await people.anna.press("Send now")
    await runtime.tick()
    await runtime.tick()
    assert people.telegram.to("1003") == []  # nothing is tried: Telegram would refuse it
    report = await status(runtime, 1)
    assert (report["total"], report["sent"], report["not_started"]) == (4, 4, 1)
    assert report["not_reached"] == [
        {"name": "Jana Novakova", "email": "1003@example.eu", "why": "not_started"}
    ]
    assert "• Jana Novakova (never pressed Start)" in people.slack.transcript("UANNA")


async def test_expansion_resumes_after_a_crash_without_duplicates(
    runtime: Runtime, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(broadcast, "CHUNK", 1)
    for i in range(6):
        await person(runtime, f"Officer {i}", platform="telegram", user_id=str(2000 + i))
    async with UnitOfWork(runtime.sessionmaker) as uow:
        ann = await broadcast.store(
            uow,
            text="Survey soon",
            audience=Audience(),
            scope=None,
            programme_id=None,
            author_id=None,
            now=runtime.clock.now(),
        )
        await uow.commit()
    calls = 0
    real = broadcast.select_chunk

    async def crash_after_three(*args: Any, **kw: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise RuntimeError("killed")
        return await real(*args, **kw)

    monkeypatch.setattr(broadcast, "select_chunk", crash_after_three)
    await runtime.tick()  # the job fails after three chunks; the outbox sends those
    monkeypatch.setattr(broadcast, "select_chunk", real)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        stored = await uow.announcements.get(ann.id)
        assert stored is not None and stored.expanded_through and stored.expanded_at is None
        stored.expanded_through = 1  # even going back re-queues nobody
        await uow.commit()
    await runtime.tick()
    await runtime.tick()
    report = await status(runtime, ann.id)
    assert report["total"] == 10 and report["sent"] == 10 and report["finished_at"]
    telegram = people.telegram
    assert all(len(telegram.to(str(2000 + i))) == 1 for i in range(6))


def test_audience_filters_are_read_leniently(runtime: Runtime) -> None:
    taxonomy = runtime.content.current.taxonomy
    audience, problems = parse_audience(
        "country=Belgium, fr sector=street lighting lang=French platform=Telegram pair=none",
        taxonomy,
    )
    assert problems == []
    assert audience == Audience(
        countries=("BE", "FR"),
        sectors=("public_lighting",),
        languages=("fr",),
        platforms=("telegram",),
        pairs=("none",),
    )
    assert parse_audience("everyone", taxonomy) == (Audience(), [])
    assert parse_audience("just the mayors", taxonomy)[1] == ["just the mayors"]


def test_times_written_by_people(clock: FrozenClock) -> None:
    now = clock.now()  # Tuesday 2026-11-24 10:00 UTC
    when = broadcast.parse_when
    assert when("2026-12-01 09:00", "Europe/Paris", now).isoformat() == "2026-12-01T09:00:00+01:00"  # type: ignore[union-attr]
    assert when("tomorrow 9:00", "UTC", now).isoformat() == "2026-11-25T09:00:00+00:00"  # type: ignore[union-attr]
    assert when("in 2 hours", "UTC", now) == now.replace(hour=12)
    assert when("8:00", "UTC", now).day == 25  # type: ignore[union-attr]
    assert when("01/12/2026 09:00", "UTC", now).month == 12  # type: ignore[union-attr]
    assert when("2020-01-01", "UTC", now) is None
    assert when("whenever", "UTC", now) is None


async def test_an_announcement_outside_the_programmes_one_coordinates_is_refused_by_the_service(
    runtime: Runtime, people: People
) -> None:
    """Chat, console and command line create through `service.create`, which checks the
    coordinator against every programme the announcement would reach."""
    home = await programme(runtime)
    content = runtime.content.current
    elsewhere = Coordinator(officer_id=1, programme_ids=frozenset({home.id + 1}))
    async with UnitOfWork(runtime.sessionmaker) as uow:
        for by in (
            service.in_console(elsewhere, home.id, content),
            service.in_chat(Coordinator(officer_id=1), home.id, content),
            service.Sender(home.id, [home.id, home.id + 1], elsewhere, content),
        ):
            with pytest.raises(NotAllowed):
                await service.create(uow, by, text="Hello", audience="", now=runtime.clock.now())
    assert await announcements(runtime) == []


async def test_an_announcement_too_long_is_refused_whole_not_cut(
    runtime: Runtime, people: People
) -> None:
    """Over the limit the service refuses (the coordinator chooses what to leave out); at the
    limit it keeps every character."""
    home = await programme(runtime)
    content = runtime.content.current
    by = service.in_console(
        Coordinator(officer_id=1, programme_ids=frozenset({home.id})), home.id, content
    )
    async with UnitOfWork(runtime.sessionmaker) as uow:
        with pytest.raises(ValueError, match="too_long"):
            await service.create(
                uow, by, text="x" * (broadcast.MAX_TEXT + 1), audience="", now=runtime.clock.now()
            )
        kept = await service.create(
            uow, by, text="y" * broadcast.MAX_TEXT, audience="", now=runtime.clock.now()
        )
        await uow.commit()
    assert len(kept.text) == broadcast.MAX_TEXT
    assert [a.id for a in await announcements(runtime)] == [kept.id]
