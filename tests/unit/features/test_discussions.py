"""Officers discuss a topic together, whichever platform each uses."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from bot.app import Runtime
from handlers.core.clock import FrozenClock
from handlers.core.context import Ctx
from handlers.core.events import Incoming
from storage.models import Discussion, DiscussionMessage, FaqQuery, Role
from storage.uow import UnitOfWork
from tests.support.fakes import FakeMessenger, Talk
from tests.support.outreach import FORUM, SLACK_CHANNEL, ForumMessenger, person, platforms, talk


@dataclass
class People:
    slack: FakeMessenger
    telegram: ForumMessenger
    anna: Talk
    giulia: Talk
    pieter: Talk


@pytest.fixture
async def people(runtime: Runtime) -> People:
    slack, telegram = platforms(runtime)
    await person(runtime, "Anna Coordinator", user_id="UANNA", role=Role.COORDINATOR, country="FR")
    await person(runtime, "Giulia Rossi", user_id="UGIULIA", country="IT", authority="Milano")
    await person(runtime, "Pieter Janssens", platform="telegram", user_id="1001", authority="Gent")
    return People(
        slack,
        telegram,
        talk(runtime, slack, "UANNA", "Anna"),
        talk(runtime, slack, "UGIULIA", "Giulia"),
        talk(runtime, telegram, "1001", "Pieter"),
    )


def in_thread(runtime: Runtime, messenger: FakeMessenger, user: str, chat: str) -> Talk:
    """The same person writing in a group or channel (not in a private chat)."""
    return Talk(
        runtime.core,
        messenger,
        user_id=user,
        name=user,
        chat_id=chat,
        chat_kind="group",
        platform=messenger.platform,
    )


async def open_one(runtime: Runtime, people: People, topic: str = "Green bonds for schools") -> str:
    """Giulia opens a discussion from Slack; returns the Slack thread id (the root message)."""
    reply = await people.giulia.say(f"/discuss {topic}")
    assert "is open" in reply
    root = people.slack.to(SLACK_CHANNEL)[-1]
    assert topic in root.reply.text and "Giulia Rossi (Milano)" in root.reply.text
    await runtime.tick()
    return root.message_id


async def test_replies_cross_between_slack_and_telegram_once_in_the_right_thread(
    runtime: Runtime, people: People
) -> None:
    root = await open_one(runtime, people)
    [topic_id] = people.telegram.topics
    assert people.telegram.topics[topic_id] == "Green bonds for schools"
    opening = people.telegram.to(FORUM)
    assert len(opening) == 1 and opening[0].reply.thread_id == topic_id

    pieter = in_thread(runtime, people.telegram, "1001", FORUM)
    await pieter.handle(
        text="Gent issued one in 2023, 25 M EUR.", thread_id=topic_id, message_id="501"
    )
    await runtime.tick()
    relayed = [s for s in people.slack.to(SLACK_CHANNEL) if s.reply.thread_id == root]
    assert [s.reply.text for s in relayed] == [
        "Pieter Janssens (Gent): Gent issued one in 2023, 25 M EUR."
    ]

    giulia = in_thread(runtime, people.slack, "UGIULIA", SLACK_CHANNEL)
    await giulia.handle(
        text="Who placed the bonds?", thread_id=root, message_id="1700000000.000200"
    )
    await runtime.tick()
    back = people.telegram.to(FORUM)[1:]
    assert [(s.reply.text, s.reply.thread_id) for s in back] == [
        ("Giulia Rossi (Milano): Who placed the bonds?", topic_id)
    ]

    # the bot's own relay, were an adapter to hand it back, is not relayed again
    echo = back[0].message_id
    await in_thread(runtime, people.telegram, "1001", FORUM).handle(
        text=back[0].reply.text, thread_id=topic_id, message_id=echo
    )
    for _ in range(3):
        await runtime.tick()
    assert len([s for s in people.slack.to(SLACK_CHANNEL) if s.reply.thread_id == root]) == 1
    assert len(people.telegram.to(FORUM)) == 2
    async with UnitOfWork(runtime.sessionmaker) as uow:
        discussion = (await uow.session.execute(select(Discussion))).scalar_one()
        stored = (await uow.session.execute(select(DiscussionMessage))).scalars().all()
    assert discussion.reply_count == 2
    assert [m.text for m in stored] == [
        "Gent issued one in 2023, 25 M EUR.",
        "Who placed the bonds?",
    ]


async def test_messages_outside_discussions_are_left_alone(
    runtime: Runtime, people: People
) -> None:
    await open_one(runtime, people)
    chatter = in_thread(runtime, people.slack, "UGIULIA", SLACK_CHANNEL)
    await chatter.handle(text="Lunch?", thread_id="999.1", message_id="999.2")
    await chatter.handle(text="Anyone here?")
    await runtime.tick()
    assert len(people.telegram.to(FORUM)) == 1  # only the opening message


async def test_messages_of_people_without_consent_are_relayed_not_stored(
    runtime: Runtime, people: People
) -> None:
    root = await open_one(runtime, people)
    await person(runtime, "Jan Novak", user_id="UJAN", consent=False, authority="Brno")
    jan = in_thread(runtime, people.slack, "UJAN", SLACK_CHANNEL)
    await jan.handle(text="We used ELENA.", thread_id=root, message_id="1.1")
    guest = in_thread(runtime, people.slack, "UGUEST", SLACK_CHANNEL)
    await guest.handle(text="Interesting!", thread_id=root, message_id="1.2")
    await runtime.tick()
    texts = [s.reply.text for s in people.telegram.to(FORUM)[1:]]
    assert texts == ["Jan Novak (Brno): We used ELENA.", "UGUEST: Interesting!"]
    async with UnitOfWork(runtime.sessionmaker) as uow:
        assert (await uow.session.execute(select(DiscussionMessage))).first() is None


async def test_list_follow_and_a_daily_digest_instead_of_pings(
    runtime: Runtime, people: People, clock: FrozenClock
) -> None:
    first = await open_one(runtime, people, "Green bonds for schools")
    clock.advance(minutes=5)
    await people.pieter.say("/discuss LED street lighting with an ESCO")
    await runtime.tick()
    clock.advance(minutes=5)
    giulia = in_thread(runtime, people.slack, "UGIULIA", SLACK_CHANNEL)
    await giulia.handle(text="Our bond was 3x oversubscribed.", thread_id=first, message_id="2.1")
    listing = await people.pieter.say("/discussions")
    assert listing.index("#1 Green bonds for schools: 1 replies") < listing.index("#2 LED")
    shown = await people.pieter.press("#1 Green bonds")
    assert "Giulia Rossi (Milano): Our bond was 3x oversubscribed." in shown
    assert "once a day" in await people.pieter.press("Follow")
    clock.advance(minutes=30)
    await giulia.handle(text="Ask me about the rating.", thread_id=first, message_id="2.2")
    await giulia.handle(text="And the prospectus.", thread_id=first, message_id="2.3")
    await runtime.tick()
    assert "New in the discussions" not in people.telegram.transcript("1001")
    clock.advance(days=1, minutes=1)
    await runtime.tick()
    await runtime.tick()
    digest = people.telegram.transcript("1001")
    assert digest.count("New in the discussions you follow") == 1
    assert "#1 Green bonds for schools: 2 new replies" in digest
    last = people.telegram.to("1001")[-1].reply.text
    assert "Ask me about the rating." in last and "3x oversubscribed" not in last
    clock.advance(hours=2)
    await runtime.tick()
    assert people.telegram.transcript("1001").count("New in the discussions") == 1
    # Giulia follows her own discussion (she opened it) but gets no digest of her own words
    assert "New in the discussions" not in people.slack.transcript("UGIULIA")


async def test_coordinators_pin_and_close_and_others_cannot(
    runtime: Runtime, people: People
) -> None:
    root = await open_one(runtime, people)
    await people.pieter.say("/discussions 1")
    assert "Close" not in [c.label for c in people.pieter.last().choices]
    await people.anna.say("/discussions 1")
    assert "pinned" in await people.anna.press("Pin")
    await people.anna.say("/discussions 1")
    assert "is closed" in await people.anna.press("Close")
    await runtime.tick()
    assert "closed this discussion" in people.telegram.transcript(FORUM)
    giulia = in_thread(runtime, people.slack, "UGIULIA", SLACK_CHANNEL)
    await giulia.handle(text="Still there?", thread_id=root, message_id="3.1")
    await runtime.tick()
    assert "Still there?" not in people.telegram.transcript(FORUM)
    assert "no open discussions" in await people.pieter.say("/discussions")
    await people.anna.say("/discussions 1")
    forged = await people.pieter.handle(choice=people.anna.choice("Reopen").id)
    assert forged == "expired"  # a button signed for another chat is refused


async def test_search_and_an_faq_draft_from_a_good_reply(runtime: Runtime, people: People) -> None:
    root = await open_one(runtime, people)
    pieter = in_thread(runtime, people.telegram, "1001", FORUM)
    [topic_id] = people.telegram.topics
    await pieter.handle(
        text="Rating agencies wanted two years of audited accounts before the green bond.",
        thread_id=topic_id,
        message_id="77",
    )
    found = await people.giulia.say("/discussions audited accounts")
    assert "#1 Green bonds for schools: Pieter Janssens (Gent): Rating agencies" in found
    assert "No stored message" in await people.giulia.say("/discussions tramway")
    await people.anna.say("/discussions 1")
    picked = await people.anna.press("FAQ draft")
    assert "Rating agencies" in picked
    await people.anna.press("1")
    stored = await people.anna.say("What do rating agencies ask before a first green bond?")
    assert "peerbot faq promote" in stored
    async with UnitOfWork(runtime.sessionmaker) as uow:
        query = (await uow.session.execute(select(FaqQuery))).scalar_one()
    assert query.answer_text and query.answer_text.startswith("Rating agencies")
    assert query.text == "What do rating agencies ask before a first green bond?"
    assert root


async def test_pair_spaces_get_the_first_look(
    runtime: Runtime, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = await open_one(runtime, people)
    taken: list[str] = []

    async def relay_pair_message(event: Incoming, ctx: Ctx) -> bool:
        taken.append(event.text)
        return event.text.startswith("pair:")

    fake = types.ModuleType("handlers.pairing.intros")
    fake.relay_pair_message = relay_pair_message  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "handlers.pairing.intros", fake)
    giulia = in_thread(runtime, people.slack, "UGIULIA", SLACK_CHANNEL)
    await giulia.handle(text="pair: see you Tuesday", thread_id=root, message_id="4.1")
    await giulia.handle(text="For everyone", thread_id=root, message_id="4.2")
    await runtime.tick()
    assert taken == ["pair: see you Tuesday", "For everyone"]
    assert [s.reply.text for s in people.telegram.to(FORUM)[1:]] == [
        "Giulia Rossi (Milano): For everyone"
    ]


async def test_a_topic_is_needed(people: People) -> None:
    assert "What should the discussion be about" in await people.giulia.say("/discuss")


async def test_a_platform_that_cannot_open_topics_is_skipped_not_misused(
    runtime: Runtime, people: People
) -> None:
    plain = FakeMessenger(platform="telegram")  # no forum topics, no SpaceMaker
    runtime.messengers["telegram"] = plain
    root = await open_one(runtime, people)
    await runtime.tick()
    assert plain.sent == []
    giulia = in_thread(runtime, people.slack, "UGIULIA", SLACK_CHANNEL)
    await giulia.handle(text="Anyone on Telegram?", thread_id=root, message_id="5.1")
    await runtime.tick()
    assert plain.sent == []
    async with UnitOfWork(runtime.sessionmaker) as uow:
        discussion = (await uow.session.execute(select(Discussion))).scalar_one()
    assert "SpaceMaker" in discussion.threads["telegram"]["error"]
