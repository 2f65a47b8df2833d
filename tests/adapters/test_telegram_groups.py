"""Telegram groups: the bot is an admin of the programme's forum supergroup, so it sees every
message there, other bots' commands included. Commands for another bot are ignored, personal
commands continue in the private chat, and forwards or inline-bot results are not questions."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from handlers.core.clock import FrozenClock
from storage.models import FaqQuery, InboxItem
from tests.adapters.test_telegram import Peerbot, TgUser, launch, onboard
from tests.support.emulators.telegram_api import TelegramEmulator

GROUP = -1001500000001
BOT = "peerbot_test_bot"


@pytest.fixture
async def tg() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(global_rate=None, per_chat_rate=None) as api:
        api.add_forum(GROUP)
        yield api


@pytest.fixture
async def bot(
    settings: Settings, clock: FrozenClock, tg: TelegramEmulator
) -> AsyncIterator[Peerbot]:
    started = await launch(settings, clock, tg)
    try:
        yield started
    finally:
        await started.stop()


async def settle(user: TgUser, update: dict[str, Any]) -> str:
    return await user.settle(update)


def group_texts(api: TelegramEmulator) -> list[str]:
    return [m.text for m in api.bot_messages(GROUP)]


async def test_the_username_comes_from_get_me(bot: Peerbot) -> None:
    assert bot.adapter.bot_username == BOT
    assert bot.adapter.interactive.bot_username == BOT


async def test_another_bots_command_is_ignored_in_a_group_and_in_private(
    bot: Peerbot, tg: TelegramEmulator
) -> None:
    marie = TgUser(tg, bot)
    await onboard(marie)
    sent = len(tg.deliveries)
    for text, chat in (("/export@SomeOtherBot", GROUP), ("/start@OtherBot", None)):
        update = tg.message(
            marie.user_id, text, chat_id=chat, chat_type="supergroup" if chat else "private"
        )
        assert await settle(marie, update) == "ignored"
    assert len(tg.deliveries) == sent  # nothing posted anywhere, no profile in the group


async def test_a_personal_command_in_a_group_gets_one_public_line_and_a_private_link(
    bot: Peerbot, tg: TelegramEmulator
) -> None:
    marie = TgUser(tg, bot)
    await onboard(marie)
    for text in ("/profile", f"/export@{BOT}", "/forget", "/start"):
        update = tg.message(marie.user_id, text, chat_id=GROUP, chat_type="supergroup")
        await settle(marie, update)
    posted = group_texts(tg)
    assert len(posted) == 4
    assert all("private chat" in t for t in posted)
    assert f"https://t.me/{BOT}?start=profile" in posted[0]
    assert f"https://t.me/{BOT}?start=export" in posted[1]
    joined = "\n".join(posted)
    assert "Marie Dubois" not in joined and "@" not in joined.replace(f"t.me/{BOT}", "")
    # the link opens the private chat with /start profile: the profile, there
    shown = await marie.say("/start profile")
    assert "Name: Marie Dubois" in shown


async def test_a_public_command_is_answered_in_the_group(
    bot: Peerbot, tg: TelegramEmulator
) -> None:
    marie = TgUser(tg, bot)
    update = tg.message(marie.user_id, f"/help@{BOT}", chat_id=GROUP, chat_type="supergroup")
    await settle(marie, update)
    assert any("Here is what I can do" in t for t in group_texts(tg))


async def test_a_group_command_nobody_registered_is_not_answered(
    bot: Peerbot, tg: TelegramEmulator
) -> None:
    marie = TgUser(tg, bot)
    update = tg.message(marie.user_id, "/weather", chat_id=GROUP, chat_type="supergroup")
    assert await settle(marie, update) == "ignored"
    assert group_texts(tg) == []


async def test_inline_bot_results_and_forwards_are_not_questions(
    bot: Peerbot, tg: TelegramEmulator
) -> None:
    marie = TgUser(tg, bot)
    await onboard(marie)
    via = tg.message_update(marie.user_id, "what is a green bond?")
    via["message"]["via_bot"] = {"id": 99, "is_bot": True, "first_name": "Gif", "username": "gif"}
    forwarded = tg.message_update(marie.user_id, "ELENA covers 90% of the costs, apply now!")
    forwarded["message"]["forward_origin"] = {
        "type": "channel",
        "chat": {"id": -1009876, "type": "channel", "title": "Energy news"},
        "message_id": 7,
        "date": 1700000000,
    }
    sent = len(tg.deliveries)
    for update in (via, forwarded):
        assert await settle(marie, tg.inject(update)) == "ignored"
    assert len(tg.deliveries) == sent
    async with bot.runtime.sessionmaker() as session:
        questions = (await session.execute(select(func.count()).select_from(FaqQuery))).scalar()
        stored = (await session.execute(select(func.count()).select_from(InboxItem))).scalar()
    assert questions == 0
    assert stored is not None and stored > 0  # the onboarding was stored; the two were not
