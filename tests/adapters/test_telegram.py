"""The Telegram adapter end to end: the real Application and Bot against the emulated Bot API.

Users are driven as in real life: they write messages and press inline buttons in the emulator,
python-telegram-bot fetches the updates (long polling, or webhook POSTs from the emulator), the
core answers, and the tests read what the emulator shows in the chat and what the store holds.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import ClientSession, web
from sqlalchemy import func, select

from bot.app import Runtime, build
from bot.config import Settings, SettingsError
from bot.http import make_web_app, serve
from bot.telegram.adapter import SECRET_HEADER, WEBHOOK_PATH, TelegramAdapter, create_telegram
from bot.telegram.messenger import TelegramMessenger
from handlers.core.clock import FrozenClock
from handlers.core.replies import Choice
from handlers.delivery.outbox import OutboxWorker, payload
from storage.models import Identity, Officer, Outbox, OutboxStatus, ProcessedUpdate
from storage.uow import UnitOfWork
from tests.support.emulators.telegram_api import MAX_TEXT, TelegramEmulator, eventually, utf16_len
from tests.support.ports import free_port

SECRET = "s3cret-Token_for-webhooks"
CONSENT = "Do you agree?"
GENERIC_ERROR = "something went wrong"


@dataclass
class Peerbot:
    """A running bot: runtime, Telegram adapter and (in webhook mode) its HTTP server."""

    runtime: Runtime
    adapter: TelegramAdapter
    web_runner: web.AppRunner | None = None
    webhook_url: str | None = None

    async def stop(self) -> None:
        await self.adapter.stop()
        if self.web_runner is not None:
            await self.web_runner.cleanup()
        await self.runtime.close()


async def launch(
    settings: Settings, clock: FrozenClock, api: TelegramEmulator, *, webhook: bool = False
) -> Peerbot:
    """Build a runtime and start the Telegram adapter as `bot.app.run` does."""
    update: dict[str, Any] = {
        "telegram_bot_token": api.token,
        "telegram_api_base_url": api.base_url,
    }
    port = free_port() if webhook else 0
    url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}" if webhook else None
    if webhook:
        update |= {"telegram_webhook_url": url, "telegram_webhook_secret": SECRET}
    runtime = await build(settings.model_copy(update=update), clock=clock)
    web_app = make_web_app(runtime)
    adapter = await create_telegram(runtime, web_app)
    runtime.adapters.append(adapter)
    runner = await serve(web_app, "127.0.0.1", port) if webhook else None
    await adapter.start()
    return Peerbot(runtime, adapter, runner, url)


@dataclass
class TgUser:
    """A Telegram user in a private chat with the bot."""

    api: TelegramEmulator
    bot: Peerbot
    user_id: int = 4242
    first_name: str = "Marie"
    last_name: str = "Dubois"
    language_code: str = "en"
    presses: int = field(default=0)

    async def settle(self, update: dict[str, Any], outcome: str | None = None) -> str:
        """Wait until the bot has handled `update`; returns the outcome."""
        uid = update["update_id"]
        outcomes = self.bot.adapter.outcomes

        def done() -> bool:
            got = outcomes.get(uid)
            return got is not None and (outcome is None or got == outcome)

        await eventually(done, 10)
        return outcomes[uid]

    async def say(self, text: str) -> str:
        """Write to the bot; returns everything it showed in reply (sent or edited)."""
        mark = len(self.api.deliveries)
        update = self.api.message(
            self.user_id,
            text,
            first_name=self.first_name,
            last_name=self.last_name,
            language_code=self.language_code,
        )
        assert await self.settle(update) != "error"
        return "\n".join(self.api.shown(self.user_id, mark))

    async def press(self, label: str) -> str:
        """Press the newest button with this label; returns what the bot showed."""
        mark = len(self.api.deliveries)
        update = self.api.press(
            self.user_id, label, first_name=self.first_name, language_code=self.language_code
        )
        self.presses += 1
        assert await self.settle(update) != "error"
        return "\n".join(self.api.shown(self.user_id, mark))


async def onboard(user: TgUser) -> None:
    """The whole onboarding, by text and by buttons."""
    assert CONSENT in await user.say("/start")
    assert "What is your name?" in await user.press("I agree")
    assert "Which authority" in await user.press("Marie Dubois")
    assert "In which country is Ghent?" in await user.say("Ghent")
    assert "What is your role" in await user.say("Belgium")
    assert "Which languages" in await user.say("energy manager")
    await user.press("French")
    assert "Your time zone" in await user.press("Done")
    assert "Which sectors" in await user.press("Europe/Brussels")
    await user.press("Public lighting")
    assert "would you like to learn" in await user.press("Done")
    await user.press("Green bonds")
    assert "could share" in await user.press("Done")
    assert "you are in!" in await user.press("Done")


@pytest.fixture
async def api() -> AsyncIterator[TelegramEmulator]:
    """The Bot API emulator; per-chat limits off so that stories run at full speed."""
    async with TelegramEmulator(per_chat_rate=None) as emulator:
        yield emulator


@pytest.fixture
async def peerbot(
    settings: Settings, clock: FrozenClock, api: TelegramEmulator
) -> AsyncIterator[Peerbot]:
    bot = await launch(settings, clock, api)
    yield bot
    await bot.stop()


@pytest.fixture
def marie(api: TelegramEmulator, peerbot: Peerbot) -> TgUser:
    return TgUser(api, peerbot)


async def count(runtime: Runtime, model: type[Any]) -> int:
    async with runtime.sessionmaker() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_onboarding_by_text_and_buttons_then_profile(
    api: TelegramEmulator, peerbot: Peerbot, marie: TgUser
) -> None:
    assert peerbot.adapter.healthy()
    assert api.ok_calls("getMe") and api.ok_calls("deleteWebhook")  # polling bootstrap
    assert CONSENT in await marie.say("/start")
    consent = api.last_bot_message(marie.user_id)
    assert consent.rows == [["I agree", "No, thanks"]]
    await marie.press("I agree")
    await marie.press("Marie Dubois")
    await marie.say("Ghent")
    await marie.say("Belgium")
    assert "Which languages" in await marie.say("energy manager")
    languages = api.last_bot_message(marie.user_id)
    assert languages.rows[0] == ["✓ English", "French"]  # the user's locale is preselected
    assert all(len(row) <= 2 for row in languages.rows)
    assert "Which languages" in await marie.press("French")
    edited = api.bot_messages(marie.user_id)[-1]
    assert edited.message_id == languages.message_id and edited.edits == 1
    assert edited.rows[0] == ["✓ English", "✓ French"]
    await marie.press("Done")
    await marie.press("Europe/Brussels")
    await marie.press("Public lighting")
    await marie.press("Done")
    wants = api.last_bot_message(marie.user_id)
    long_labels = [row for row in wants.rows if any(len(label) > 20 for label in row)]
    assert long_labels and all(len(row) == 1 for row in long_labels)
    await marie.press("Green bonds")
    await marie.press("Soft loans")
    await marie.press("Green bonds")  # untick
    labels = [label for row in api.last_bot_message(marie.user_id).rows for label in row]
    assert "✓ Soft loans" in labels and "Green bonds" in labels
    await marie.press("Done")
    assert "you are in!" in await marie.press("Done")

    profile = await marie.say("/profile")
    assert "Name: Marie Dubois" in profile
    assert "Authority: Ghent (Belgium)" in profile
    assert "Role: energy manager" in profile
    assert "Languages: English, French" in profile
    assert "Wants to learn: Soft loans" in profile
    assert "Accounts: telegram" in profile

    async with peerbot.runtime.sessionmaker() as session:
        identity = (
            await session.execute(select(Identity).where(Identity.platform == "telegram"))
        ).scalar_one()
        assert (identity.user_id, identity.dm_chat_id) == ("4242", "4242")
        assert identity.display_name == "Marie Dubois"
        officer = await session.get(Officer, identity.officer_id)
        assert officer is not None and officer.wants == ["soft_loan"]

    # every press was answered at once; every message was plain text
    assert len(api.ok_calls("answerCallbackQuery")) == marie.presses
    assert all(api.callback_ids.values())
    sends = api.calls_to("sendMessage") + api.calls_to("editMessageText")
    assert sends and all("parse_mode" not in c.params for c in sends)
    # the command menu, per locale and as the default
    menu = api.commands[("default", "en")]
    assert api.commands[("default", "")] == menu
    names = [c["command"] for c in menu]
    assert {"start", "help", "profile", "export", "forget"} <= set(names)
    assert "stats" not in names  # coordinator-only commands stay out of the public menu


async def test_onboarding_resumes_after_a_restart(
    settings: Settings, clock: FrozenClock, api: TelegramEmulator
) -> None:
    first = await launch(settings, clock, api)
    user = TgUser(api, first)
    assert CONSENT in await user.say("/start")
    await user.press("I agree")
    await user.press("Marie Dubois")
    assert "In which country is Ghent?" in await user.say("Ghent")
    await first.stop()
    assert not first.adapter.healthy()

    # she answers while the bot is down; the new process picks the update up
    mark = len(api.deliveries)
    pending = api.message(user.user_id, "Belgium", first_name="Marie", last_name="Dubois")
    second = await launch(settings, clock, api)
    try:
        user.bot = second
        assert await user.settle(pending) == "handled"
        assert "What is your role" in "\n".join(api.shown(user.user_id, mark))
        await user.say("energy manager")
        await user.press("Done")
        await user.press("Europe/Brussels")
        await user.press("Clean mobility")
        await user.press("Done")
        await user.press("Done")
        assert "you are in!" in await user.press("Done")
        assert "Authority: Ghent (Belgium)" in await user.say("/profile")
        assert await count(second.runtime, Officer) == 1
    finally:
        await second.stop()


async def test_webhook_checks_the_secret_and_handles_updates_once(
    settings: Settings, clock: FrozenClock, api: TelegramEmulator
) -> None:
    bot = await launch(settings, clock, api, webhook=True)
    try:
        assert bot.webhook_url is not None
        hook = api.ok_calls("setWebhook")[-1].params
        assert hook["url"] == bot.webhook_url and hook["secret_token"] == SECRET
        update = api.message_update(77, "/start", first_name="Jan")
        async with ClientSession() as http:
            for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET + "x"}):
                async with http.post(bot.webhook_url, json=update, headers=headers) as resp:
                    assert resp.status == 403
            good = {SECRET_HEADER: SECRET}
            for body in (b"{not json", b"[1, 2]", b'{"no": "update_id"}', b"\xff\xfe"):
                async with http.post(bot.webhook_url, data=body, headers=good) as resp:
                    assert resp.status == 400
            assert await count(bot.runtime, Identity) == 0
            assert await count(bot.runtime, ProcessedUpdate) == 0
            assert not api.calls_to("sendMessage")

            # the right secret: handled; the same update again (Telegram retrying): once
            async with http.post(bot.webhook_url, json=update, headers=good) as resp:
                assert resp.status == 200
            user = TgUser(api, bot, user_id=77, first_name="Jan", last_name="")
            assert await user.settle(update) == "handled"
            sent = len(api.ok_calls("sendMessage"))
            async with http.post(bot.webhook_url, json=update, headers=good) as resp:
                assert resp.status == 200
            assert await user.settle(update, "duplicate") == "duplicate"
            assert len(api.ok_calls("sendMessage")) == sent

            # update types the bot has no use for are acknowledged and ignored
            future = {"update_id": update["update_id"] + 1000, "future_thing": {"id": "1"}}
            async with http.post(bot.webhook_url, json=future, headers=good) as resp:
                assert resp.status == 200
            assert await user.settle(future) == "ignored"
            # one PTB cannot parse is acknowledged too (a retry would fail the same way)
            broken = {"update_id": update["update_id"] + 1001, "poll": {"id": "1"}}
            async with http.post(bot.webhook_url, json=broken, headers=good) as resp:
                assert resp.status == 200

        # the emulator delivers through the webhook, with the secret, like Telegram
        assert "What is your name?" in await user.press("I agree")
        assert not api.calls_to("getUpdates")
        assert bot.adapter.healthy()
    finally:
        await bot.stop()


async def test_a_duplicate_update_is_processed_once(
    api: TelegramEmulator, peerbot: Peerbot, marie: TgUser
) -> None:
    update = api.message_update(marie.user_id, "/start", first_name="Marie")
    api.inject(update)
    assert await marie.settle(update) == "handled"
    sent = len(api.ok_calls("sendMessage"))
    api.inject(update)
    assert await marie.settle(update, "duplicate") == "duplicate"
    assert len(api.ok_calls("sendMessage")) == sent


async def test_huge_and_odd_messages_get_a_polite_reply(
    api: TelegramEmulator, peerbot: Peerbot, marie: TgUser
) -> None:
    huge = ("How do we finance the retrofit of our schools? " * 500)[:20_000]
    odd = [
        huge,
        "\u202eמימון ירוק\u202c تمويل الإنارة العامة",  # RTL with a bidi override
        "\u200b\u200c\u200d\ufeff",  # only zero-width characters
        "🏙️💶👩🏽‍💼 green bonds? 🇪🇺",
        "NUL in the middle\x00 of a question about ESCO",
        "\x00",
        "e\u0301\u0301\u0301 combining marks and \U0010ffff",
    ]
    for text in odd:
        reply = await marie.say(text)
        assert reply.strip(), f"no reply to {text[:30]!r}"
        assert GENERIC_ERROR not in reply
    assert all(c.status == 200 for c in api.calls_to("sendMessage"))


async def test_a_long_reply_is_split_at_line_boundaries(
    api: TelegramEmulator, peerbot: Peerbot, marie: TgUser
) -> None:
    await onboard(marie)
    for n in range(6):
        question = f"Question {n}: " + " ".join(f"financing{n}-{i}" for i in range(90))
        await marie.say(question[:1000])
    mark = len(api.deliveries)
    await marie.say("/export")
    chunks = api.shown(marie.user_id, mark)
    assert len(chunks) >= 2
    assert all(utf16_len(chunk) <= MAX_TEXT for chunk in chunks)
    assert chunks[0].startswith("Here is everything stored about you:")
    data = json.loads("\n".join(chunks).split("\n", 1)[1])
    assert data["officer"]["name"] == "Marie Dubois"
    assert len(data["questions"]) == 6
    assert data["identities"][0]["platform"] == "telegram"


async def test_forged_or_replayed_buttons_are_expired_and_change_nothing(
    api: TelegramEmulator, peerbot: Peerbot, marie: TgUser
) -> None:
    assert "invitation code is unknown" in await marie.say("/start NOT-AN-INVITE")
    forged = api.press_data(marie.user_id, "onb:yes~AAAAAAAAAA", first_name="Marie")
    assert await marie.settle(forged) == "expired"
    assert "expired" in api.shown(marie.user_id)[-1]
    # a genuine button of Marie's chat, replayed by someone else in their own chat
    _, data = api.find_button(marie.user_id, "I agree")
    eve = TgUser(api, peerbot, user_id=666, first_name="Eve", last_name="")
    await eve.say("/start")
    replay = api.press_data(eve.user_id, data, first_name="Eve")
    assert await eve.settle(replay) == "expired"
    # nothing moved: both are still asked for consent, nobody joined
    assert "What is your name?" in await marie.press("I agree")
    assert await count(peerbot.runtime, Officer) == 0
    assert len(api.ok_calls("answerCallbackQuery")) == 3


async def test_export_and_forget(api: TelegramEmulator, peerbot: Peerbot, marie: TgUser) -> None:
    await onboard(marie)
    exported = await marie.say("/export")
    assert '"name": "Marie Dubois"' in exported and '"platform": "telegram"' in exported
    assert "Delete?" in await marie.say("/forget")
    assert "Nothing was deleted" in await marie.press("No, keep it")
    await marie.say("/forget")
    assert "has been deleted" in await marie.press("Yes, delete my data")
    assert await count(peerbot.runtime, Officer) == 0
    assert "join the programme first" in await marie.say("/profile")


async def test_unknown_updates_and_service_messages_are_ignored(
    api: TelegramEmulator, peerbot: Peerbot, marie: TgUser
) -> None:
    joined = api.message_update(marie.user_id, "", chat_id=-1001, chat_type="supergroup")
    del joined["message"]["text"]
    joined["message"]["new_chat_members"] = [api.user(marie.user_id)]
    api.inject(joined)
    assert await marie.settle(joined) == "ignored"
    # group chatter reaches the core (discussion relays) but, outside a discussion, gets no reply
    chatter = api.message(marie.user_id, "hello all", chat_id=-1001, chat_type="supergroup")
    assert await marie.settle(chatter) in {"handled", "ignored"}
    assert not api.bot_messages(-1001)
    # types outside allowed_updates are not even fetched
    assert api.allowed_updates == {"message", "callback_query"}


async def test_replies_wait_out_telegram_flood_control(
    settings: Settings, clock: FrozenClock
) -> None:
    async with TelegramEmulator(per_chat_rate=1.0, per_chat_burst=3) as strict:
        bot = await launch(settings, clock, strict)
        try:
            user = TgUser(strict, bot)
            assert CONSENT in await user.say("/start")  # three messages: the whole burst
            assert "Here is what I can do" in await user.say("/help")
            statuses = [c.status for c in strict.calls_to("sendMessage")]
            assert statuses.count(429) >= 1 and statuses[-1] == 200
        finally:
            await bot.stop()


async def test_the_outbox_sends_through_the_telegram_messenger(
    api: TelegramEmulator, peerbot: Peerbot
) -> None:
    runtime = peerbot.runtime
    messenger = runtime.messengers["telegram"]
    assert isinstance(messenger, TelegramMessenger) and messenger.wait_on_429 == 0
    assert messenger.capabilities.rate_per_second == 29.0
    assert messenger.capabilities.per_chat_interval == 1.0
    api.block(5002)
    api.migrate(-4001, -1004001)
    api.flood(5003, retry_after=7)
    news = payload("Programme news", [Choice("x:1~abcdefghij", "Read more")])

    async def enqueue(*chats: str) -> None:
        async with UnitOfWork(runtime.sessionmaker) as uow:
            for chat in chats:
                await uow.outbox.enqueue(f"news:{chat}", "telegram", chat, news)
            await uow.commit()

    async def rows() -> dict[str, Outbox]:
        async with runtime.sessionmaker() as session:
            return {r.chat_id: r for r in (await session.execute(select(Outbox))).scalars()}

    # pause_max 0.1: the platform-wide pause after a 429 (its own tests: test_outbox_worker)
    # would hold the last tick 2 s for nothing this test looks at
    runtime.outbox = OutboxWorker(runtime.sessionmaker, runtime.messengers, pause_max=0.1)
    await enqueue("5001", "5002", "-4001")
    await runtime.tick()
    await runtime.tick()  # the row that followed the migrated group is due again at once
    sent = await rows()
    assert sent["5001"].status == OutboxStatus.SENT
    assert sent["5001"].platform_message_id == str(api.bot_messages(5001)[0].message_id)
    assert sent["5002"].status == OutboxStatus.UNDELIVERABLE
    assert "blocked" in (sent["5002"].error or "")
    assert sent["-1004001"].status == OutboxStatus.SENT
    assert api.bot_messages(-1004001)[0].buttons == [("Read more", "x:1~abcdefghij")]

    await enqueue("5003")  # Telegram answers 429 retry_after 7: kept for later, not failed
    await runtime.tick()
    flooded = (await rows())["5003"]
    assert flooded.status == OutboxStatus.PENDING and not api.bot_messages(5003)
    assert "retry after 7s" in (flooded.error or "")


async def test_a_token_the_bot_api_rejects_names_the_setting(
    settings: Settings, clock: FrozenClock, api: TelegramEmulator
) -> None:
    wrong = {"telegram_bot_token": "1:wrong", "telegram_api_base_url": api.base_url}
    runtime = await build(settings.model_copy(update=wrong), clock=clock)
    try:
        adapter = await create_telegram(runtime, make_web_app(runtime))
        with pytest.raises(SettingsError, match="^TELEGRAM_BOT_TOKEN: rejected"):
            await adapter.start()
        assert not adapter.healthy()
    finally:
        await runtime.close()


async def test_an_approved_pair_is_introduced_in_a_new_forum_topic(
    settings: Settings, clock: FrozenClock, api: TelegramEmulator
) -> None:
    from tests.support.peers import FORUM, make_pair, officer

    forum = int(FORUM)  # the programme's forum supergroup
    api.add_forum(forum)
    bot = await launch(settings.model_copy(update={"telegram_forum_chat_id": forum}), clock, api)
    try:
        runtime = bot.runtime
        marie = await officer(
            runtime,
            "Marie Dubois",
            authority="Lyon",
            country="FR",
            platform="telegram",
            user_id="5101",
            dm="5101",
        )
        pieter = await officer(
            runtime,
            "Pieter Janssens",
            authority="Ghent",
            country="BE",
            platform="telegram",
            user_id="5102",
            dm="5102",
        )
        await make_pair(runtime, marie, pieter)
        await runtime.tick()
        await runtime.tick()
        [created] = api.ok_calls("createForumTopic")
        assert "Lyon" in created.params["name"] and "Ghent" in created.params["name"]
        in_forum = api.bot_messages(forum)
        thread = max(api.chats[forum].topics)  # the topic just created
        assert in_forum and all(m.thread_id == thread for m in in_forum)
        assert any("Marie Dubois" in m.text and "Pieter Janssens" in m.text for m in in_forum)
        assert api.bot_messages(5101) and api.bot_messages(5102)  # each is also told privately
    finally:
        await bot.stop()
