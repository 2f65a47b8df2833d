"""Introductions: approved pairs meet in a shared space or in private, accept or decline, and a
pair split between Slack and Telegram talks across the bridge."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from bot.app import Runtime, build
from bot.config import Settings
from handlers.core.clock import FrozenClock
from storage.models import MatchRequest, Officer, OfficerStatus, Outbox, PairSpace, PairStatus
from storage.uow import UnitOfWork
from tests.support.fakes import FakeMessenger
from tests.support.peers import (
    FORUM,
    coordinator,
    make_pair,
    officer,
    pair_row,
    practice,
    programme,
    slack_like,
    talk,
    telegram_like,
    texts,
)


async def lyon_and_ghent(
    runtime: Runtime, learner_on: str = "fake", mentor_on: str = "fake"
) -> tuple[Officer, Officer]:
    await programme(runtime)
    marie = await officer(
        runtime, "Marie Dubois", authority="Lyon", country="FR", platform=learner_on,
        languages=("fr", "en"), wants=("epc",),
    )  # fmt: skip
    pieter = await officer(
        runtime, "Pieter Janssens", authority="Ghent", country="BE", platform=mentor_on,
        languages=("en", "nl"), offers=("epc",),
    )  # fmt: skip
    await practice(
        runtime, pieter, "EPC for 40,000 street lights", sector="public_lighting",
        instruments=("epc",), year=2019, summary="LED street lights paid by the savings.",
    )  # fmt: skip
    return marie, pieter


async def outbox_rows(runtime: Runtime) -> int:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        return int(
            (await uow.session.execute(select(func.count()).select_from(Outbox))).scalar_one()
        )


async def test_a_slack_pair_gets_a_private_channel_and_both_accept(runtime: Runtime) -> None:
    slack = slack_like(runtime)
    marie, pieter = await lyon_and_ghent(runtime, "slack", "slack")
    pair = await make_pair(runtime, marie, pieter)
    await runtime.tick()
    [space] = slack.spaces
    assert space["title"] == "peer-lyon-ghent" and sorted(space["members"]) == ["marie", "pieter"]
    [welcome] = texts(slack, space["chat"])
    assert "Marie Dubois (Lyon, FR) meets Pieter Janssens (Ghent, BE)" in welcome
    assert "Ghent ran 'EPC for 40,000 street lights' (2019)" in welcome
    assert "How did you set the baseline" in welcome  # an EPC icebreaker
    assert "Their good practice: EPC for 40,000 street lights (2019)" in welcome
    [to_marie] = slack.to("marie")
    assert "you have a peer! Pieter Janssens (Ghent, BE)" in to_marie.reply.text
    assert "shared space" in to_marie.reply.text
    labels = [c.label for c in to_marie.reply.choices]
    assert labels[:2] == ["Accept", "Decline"] and any(x.startswith("FAQ:") for x in labels)
    assert (await pair_row(runtime, pair.id)).status == PairStatus.INTRODUCED

    rows = await outbox_rows(runtime)
    await runtime.tick()
    assert len(slack.spaces) == 1 and await outbox_rows(runtime) == rows  # nothing twice

    marie_talk = talk(runtime, slack, "marie", "Marie Dubois")
    pieter_talk = talk(runtime, slack, "pieter", "Pieter Janssens")
    assert "As soon as Pieter Janssens accepts" in await marie_talk.press("Accept")
    assert "is active" in await pieter_talk.press("Accept")
    await runtime.tick()
    assert "Your pair with Pieter Janssens is active" in slack.transcript("marie")
    active = await pair_row(runtime, pair.id)
    assert active.status == PairStatus.ACTIVE
    assert active.next_checkin_at == runtime.clock.now() + timedelta(days=14)
    assert active.threads == {"slack": {"chat_id": space["chat"], "thread_id": None}}


async def test_a_declined_introduction_frees_the_slot_and_tells_the_coordinators(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    await coordinator(runtime)
    marie, pieter = await lyon_and_ghent(runtime)
    pair = await make_pair(runtime, marie, pieter)
    await runtime.tick()
    pieter_talk = talk(runtime, messenger, "pieter")
    assert "Decline the pair with Marie Dubois?" in await pieter_talk.press("Decline")
    assert "stays" in await pieter_talk.press("No, keep it")
    assert "is cancelled" in await pieter_talk.press("Yes, decline")  # changed their mind
    await runtime.tick()
    assert "cannot mentor you on Energy performance contracting" in messenger.transcript("marie")
    note = messenger.transcript("anna")
    assert f"Pair #{pair.id} on Energy performance contracting (EPC) was declined by Pieter" in note
    assert "(the mentor)" in note
    declined = await pair_row(runtime, pair.id)
    assert (declined.status, declined.close_reason) == (PairStatus.DECLINED, "declined_by_mentor")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        [request] = (await uow.session.execute(select(MatchRequest))).scalars().all()
    assert (request.officer_id, request.topic, request.status) == (marie.id, "epc", "open")
    marie_talk = talk(runtime, messenger, "marie")
    assert "has ended" in await marie_talk.press("Accept")


async def test_without_spaces_officers_are_introduced_with_each_others_contact(
    runtime: Runtime,
) -> None:
    telegram = telegram_like(runtime, forum=False)
    marie, pieter = await lyon_and_ghent(runtime, "telegram", "telegram")
    await make_pair(runtime, marie, pieter)
    await runtime.tick()
    assert telegram.spaces == []
    intro = telegram.transcript("marie")
    assert "Contact Pieter Janssens: pieter@ghent.example, Telegram tg://user?id=pieter" in intro
    marie_talk = talk(runtime, telegram, "marie", "Marie Dubois")
    assert "now goes to Pieter Janssens" in await marie_talk.press("Write to Pieter")
    assert "Passed on" in await marie_talk.say("Bonjour Pieter, can we talk on Thursday?")
    await runtime.tick()
    assert "Marie Dubois (Lyon): Bonjour Pieter, can we talk on Thursday?" in texts(
        telegram, "pieter"
    )
    await marie_talk.say("/cancel")
    answer = await marie_talk.say("what is ELENA?")  # free text is a question again
    assert "European Investment Bank" in answer or "ELENA" in answer
    assert telegram.transcript("pieter").count("Bonjour Pieter") == 1


async def test_a_slack_telegram_pair_talks_across_the_bridge_both_ways(runtime: Runtime) -> None:
    slack = slack_like(runtime)
    telegram = telegram_like(runtime, forum=True)
    marie, pieter = await lyon_and_ghent(runtime, "slack", "telegram")
    pair = await make_pair(runtime, marie, pieter)
    await runtime.tick()
    [channel] = slack.spaces
    [topic] = telegram.spaces
    assert channel["members"] == ["marie"] and topic["members"] == ["pieter"]
    assert (
        topic["chat"] == FORUM
        and topic["title"] == "Lyon ↔ Ghent: Energy performance contracting (EPC)"
    )
    assert "Pieter Janssens uses Telegram" in texts(slack, channel["chat"])[0]
    [topic_intro] = [s for s in telegram.sent if s.chat_id == FORUM]
    assert topic_intro.reply.thread_id == topic["thread"]
    assert "Marie Dubois uses Slack" in topic_intro.reply.text
    # a bot cannot add Pieter to the group: his private introduction links the topic
    private = "\n".join(s.reply.text for s in telegram.sent if s.chat_id == "pieter")
    assert f"https://t.me/c/777/{topic['thread']}" in private and "invitation" in private
    assert "you have been added" not in private

    marie_there = talk(
        runtime, slack, "marie", "Marie Dubois", chat_id=channel["chat"], chat_kind="channel"
    )
    pieter_there = talk(runtime, telegram, "pieter", "Pieter", chat_id=FORUM, chat_kind="group")
    await marie_there.handle(text="How did you measure the savings?", message_id="1700.01")
    await runtime.tick()
    relayed = [s for s in telegram.sent if s.chat_id == FORUM][-1]
    assert relayed.reply.text == "Marie Dubois (Lyon): How did you measure the savings?"
    assert relayed.reply.thread_id == topic["thread"]
    await pieter_there.handle(
        text="With a baseline from 2017 bills.", thread_id=topic["thread"], message_id="88"
    )
    await runtime.tick()
    assert (
        texts(slack, channel["chat"])[-1]
        == "Pieter Janssens (Ghent): With a baseline from 2017 bills."
    )

    # the bot's own relay coming back as an event is not relayed again
    before = len(slack.sent)
    await pieter_there.handle(
        text=relayed.reply.text, thread_id=topic["thread"], message_id=relayed.message_id
    )
    await runtime.tick()
    assert len(slack.sent) == before
    # an attachment crosses as a link
    await marie_there.handle(
        text="", message_id="1700.02", hints={"attachments": "https://files.example/tender.pdf"}
    )
    await runtime.tick()
    assert (
        "https://files.example/tender.pdf"
        in [s for s in telegram.sent if s.chat_id == FORUM][-1].reply.text
    )
    assert (await pair_row(runtime, pair.id)).threads.keys() == {"slack", "telegram"}


async def test_a_slack_channel_bridges_to_a_telegram_private_chat(runtime: Runtime) -> None:
    slack = slack_like(runtime)
    telegram = telegram_like(runtime, forum=False)
    marie, pieter = await lyon_and_ghent(runtime, "slack", "telegram")
    await make_pair(runtime, marie, pieter)
    await runtime.tick()
    [channel] = slack.spaces
    assert telegram.spaces == []
    assert "press 'Write to Marie Dubois'" in telegram.transcript("pieter")
    marie_there = talk(
        runtime, slack, "marie", "Marie Dubois", chat_id=channel["chat"], chat_kind="channel"
    )
    await marie_there.handle(text="Hello from Lyon!", message_id="1.1")
    await runtime.tick()
    assert telegram.to("pieter")[-1].reply.text == "Marie Dubois (Lyon): Hello from Lyon!"
    pieter_dm = talk(runtime, telegram, "pieter", "Pieter")
    await pieter_dm.press("Reply")
    await pieter_dm.say("Hello from Ghent!")
    await runtime.tick()
    assert texts(slack, channel["chat"])[-1] == "Pieter Janssens (Ghent): Hello from Ghent!"


async def test_a_failed_space_falls_back_to_private_introductions(runtime: Runtime) -> None:
    slack = slack_like(runtime)
    slack.fail = True
    marie, pieter = await lyon_and_ghent(runtime, "slack", "slack")
    pair = await make_pair(runtime, marie, pieter)
    await runtime.tick()
    assert "Contact Pieter Janssens" in slack.transcript("marie")
    assert (await pair_row(runtime, pair.id)).status == PairStatus.INTRODUCED
    async with UnitOfWork(runtime.sessionmaker) as uow:
        assert (await uow.session.execute(select(PairSpace))).scalars().all() == []


async def test_an_officer_who_left_before_the_introduction_closes_the_pair(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    await coordinator(runtime)
    marie, pieter = await lyon_and_ghent(runtime)
    pair = await make_pair(runtime, marie, pieter)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        gone = await uow.officers.get(pieter.id)
        assert gone is not None
        gone.status = OfficerStatus.LEFT
        await uow.commit()
    await runtime.tick()
    assert (await pair_row(runtime, pair.id)).status == PairStatus.CLOSED
    assert f"Pair #{pair.id} could not be introduced" in messenger.transcript("anna")
    assert messenger.to("marie") == []


async def test_concurrent_jobs_and_a_restart_introduce_once(
    settings: Settings, clock: FrozenClock, runtime: Runtime
) -> None:
    slack = slack_like(runtime)
    marie, pieter = await lyon_and_ghent(runtime, "slack", "slack")
    await make_pair(runtime, marie, pieter)
    from handlers.pairing.intros import introduce_pairs

    done = await asyncio.gather(
        introduce_pairs(runtime.core, runtime.messengers),
        introduce_pairs(runtime.core, runtime.messengers),
    )
    assert sorted(done) == [0, 1]
    await runtime.tick()
    again = await build(settings, clock=clock)
    again.messengers["slack"] = slack
    try:
        await again.tick()
    finally:
        await again.close()
    assert len(slack.spaces) == 1
    assert len(slack.to("marie")) == 1 and len(slack.to("pieter")) == 1
    assert len(texts(slack, slack.spaces[0]["chat"])) == 1


async def test_a_pair_split_across_the_real_slack_and_telegram_messengers(
    runtime: Runtime,
) -> None:
    """The real messengers against the emulators: a private channel, a forum topic, a bridge."""
    from dataclasses import replace

    from tests.support.emulators.slack_api import SlackApiEmulator
    from tests.support.emulators.telegram_api import TelegramEmulator
    from tests.support.fakes import Talk
    from tests.support.outbox_load import slack_messenger, telegram_messenger

    await programme(runtime)
    marie = await officer(
        runtime, "Marie Dubois", authority="Lyon", country="FR", platform="slack",
        user_id="UMARIE", dm="DUMARIE", wants=("epc",),
    )  # fmt: skip
    pieter = await officer(
        runtime, "Pieter Janssens", authority="Ghent", country="BE", platform="telegram",
        user_id="1001", offers=("epc",),
    )  # fmt: skip
    pair = await make_pair(runtime, marie, pieter)
    async with TelegramEmulator(global_rate=None) as tg, SlackApiEmulator() as sl:
        tg.add_forum(int(FORUM))
        sl.add_user("UMARIE", "Marie Dubois")
        telegram, close_tg = await telegram_messenger(tg.base_url)
        slack, close_sl = await slack_messenger(sl.base_url)
        telegram.capabilities = replace(telegram.capabilities, topics=True)
        if not hasattr(telegram, "create_space"):  # until the Telegram messenger implements it

            async def create_space(
                title: str, member_user_ids: list[str], parent_chat_id: str | None = None
            ) -> tuple[str, str | None]:
                chat = parent_chat_id or FORUM
                return chat, await telegram.create_topic(chat, title)

            telegram.create_space = create_space  # type: ignore[attr-defined]
        runtime.messengers.update(telegram=telegram, slack=slack)
        try:
            await runtime.tick()
            [(channel, info)] = [(c, i) for c, i in sl.channels.items() if i.get("private")]
            assert info["name"] == "peer-lyon-ghent" and "UMARIE" in info["members"]
            [topic] = tg.chats[int(FORUM)].topics
            marie_there = Talk(
                runtime.core, slack, user_id="UMARIE", name="Marie", chat_id=channel,  # type: ignore[arg-type]
                chat_kind="channel", platform="slack",
            )  # fmt: skip
            pieter_there = Talk(
                runtime.core, telegram, user_id="1001", name="Pieter", chat_id=FORUM,  # type: ignore[arg-type]
                chat_kind="group", platform="telegram",
            )  # fmt: skip
            await marie_there.handle(text="Can I see your EPC tender?", message_id="1.2")
            await runtime.tick()
            await pieter_there.handle(
                text="Sure, I will share it here.", thread_id=str(topic), message_id="900"
            )
            await runtime.tick()
        finally:
            await close_tg()
            await close_sl()
        in_channel = [m.text for m in sl.messages_to(channel)]
        in_topic = [m.text for m in tg.bot_messages(int(FORUM)) if m.thread_id == topic]
        to_marie = sl.transcript("DUMARIE")
        to_pieter = [m.text for m in tg.bot_messages(1001)]
    assert "meets Pieter Janssens (Ghent, BE)" in in_channel[0]
    assert in_channel[-1] == "Pieter Janssens (Ghent): Sure, I will share it here."
    assert "meets Pieter Janssens" in in_topic[0]
    assert in_topic[-1] == "Marie Dubois (Lyon): Can I see your EPC tender?"
    assert "you have a peer! Pieter Janssens" in to_marie
    assert any("you have a peer! Marie Dubois" in t for t in to_pieter)
    assert (await pair_row(runtime, pair.id)).status == PairStatus.INTRODUCED


async def test_coordinators_hear_when_an_officer_cannot_be_reached(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    await coordinator(runtime)
    marie, pieter = await lyon_and_ghent(runtime)
    async with UnitOfWork(runtime.sessionmaker) as uow:  # imported from a CSV, never wrote
        for identity in await uow.identities.for_officer(pieter.id):
            identity.dm_chat_id = None
        await uow.commit()
    pair = await make_pair(runtime, marie, pieter)
    await runtime.tick()
    assert f"Pair #{pair.id}: I cannot write to Pieter Janssens (Ghent, BE)" in (
        messenger.transcript("anna")
    )
    assert "you have a peer!" in messenger.transcript("marie")
