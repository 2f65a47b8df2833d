"""The Bot API emulator itself: long polling, offsets, webhooks and conflicts as Telegram does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Conflict, InvalidToken

from tests.support.emulators.telegram_api import TelegramEmulator, eventually


@pytest.fixture
async def api() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator() as emulator:
        yield emulator


@pytest.fixture
async def bot(api: TelegramEmulator) -> AsyncIterator[Bot]:
    async with Bot(api.token, base_url=api.base_url) as client:
        yield client


async def test_get_me_and_a_wrong_token(api: TelegramEmulator, bot: Bot) -> None:
    assert bot.username == api.bot_username and bot.id == api.bot_id
    with pytest.raises(InvalidToken):
        async with Bot("1:wrong", base_url=api.base_url):
            pass


async def test_long_polling_honours_offsets(api: TelegramEmulator, bot: Bot) -> None:
    assert await bot.get_updates(timeout=0) == ()
    api.message(1, "a")
    api.message(1, "b")
    first = await bot.get_updates(timeout=0)
    assert [u.message.text for u in first if u.message] == ["a", "b"]
    assert first[1].update_id == first[0].update_id + 1
    again = await bot.get_updates(offset=first[0].update_id + 1, timeout=0)
    assert [u.update_id for u in again] == [first[1].update_id]
    waiting = asyncio.create_task(bot.get_updates(offset=first[1].update_id + 1, timeout=5))
    await eventually(lambda: api.polls >= 4)
    api.message(1, "c")
    got = await asyncio.wait_for(waiting, 2)
    assert [u.message.text for u in got if u.message] == ["c"]
    # message ids are per chat and shared by the user and the bot
    sent = await bot.send_message(1, "reply")
    assert sent.message_id == 4


async def test_a_second_poller_terminates_the_first(api: TelegramEmulator, bot: Bot) -> None:
    older = asyncio.create_task(bot.get_updates(timeout=5))
    await eventually(lambda: api.polls >= 1)
    async with Bot(api.token, base_url=api.base_url) as other_process:
        assert await other_process.get_updates(timeout=0) == ()
    with pytest.raises(Conflict):
        await asyncio.wait_for(older, 2)


async def test_webhooks_only_on_loopback_and_not_with_polling(
    api: TelegramEmulator, bot: Bot
) -> None:
    with pytest.raises(BadRequest, match="127.0.0.0/8"):
        await bot.set_webhook("https://example.org/hook")
    assert await bot.set_webhook("http://127.0.0.1:9/hook", secret_token="abc")
    with pytest.raises(Conflict):
        await bot.get_updates(timeout=0)
    api.message(1, "undeliverable: nobody listens on port 9")
    await eventually(lambda: api.webhook.get("last_error_message"))
    info = await bot.get_webhook_info()
    assert info.url == "http://127.0.0.1:9/hook" and info.pending_update_count == 1
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates(timeout=0) == ()


async def test_callback_queries_are_answered_once(api: TelegramEmulator, bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="y")]])
    await bot.send_message(1, "pick", reply_markup=markup)
    update = api.press(1, "Yes")
    query_id = update["callback_query"]["id"]
    assert await bot.answer_callback_query(query_id)
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_callback_query(query_id)


async def test_ban_and_unban_take_a_member_out_of_a_supergroup(
    api: TelegramEmulator, bot: Bot
) -> None:
    api.add_forum(-1001234567890)
    chat = api.chats[-1001234567890]
    for user in (11, 12):
        api.join(-1001234567890, user)
    # ban then unban only_if_banned: out, and free to join again by a link
    assert await bot.ban_chat_member(-1001234567890, 11)
    api.join(-1001234567890, 11)  # a banned user cannot come back meanwhile
    assert 11 not in chat.members
    assert await bot.unban_chat_member(-1001234567890, 11, only_if_banned=True)
    assert 11 not in chat.members and 11 not in chat.banned
    api.join(-1001234567890, 11)
    assert 11 in chat.members
    # only_if_banned leaves a member alone; a plain unban of a member takes them out
    assert await bot.unban_chat_member(-1001234567890, 12, only_if_banned=True)
    assert 12 in chat.members
    assert await bot.unban_chat_member(-1001234567890, 12)
    assert 12 not in chat.members
    with pytest.raises(BadRequest, match="private chats"):
        await bot.ban_chat_member(11, 11)
