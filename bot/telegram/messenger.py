"""Neutral replies -> Bot API calls, and Telegram errors -> the core's delivery errors."""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram import error as tg
from telegram.warnings import PTBDeprecationWarning

from handlers.core.ports import (
    Capabilities,
    ChatMigrated,
    DeliveryError,
    RateLimited,
    TransientError,
    Undeliverable,
)
from handlers.core.replies import Reply

log = logging.getLogger(__name__)

MAX_TEXT = 4096
LONG_LABEL = 20
TICK = "✓ "
T = TypeVar("T")
# Descriptions of an edit that cannot happen, where sending a new message is the answer.
_EDIT_FALLBACK = (
    "message to edit not found",
    "message can't be edited",
    "there is no text in the message to edit",
    "message_id_invalid",
)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: most emoji count twice)."""
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int) -> int:
    """The largest prefix length (in characters) of `text` within `limit` UTF-16 units."""
    if utf16_len(text) <= limit:
        return len(text)
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Chunks of at most `limit` UTF-16 units: at paragraphs, else lines, else spaces, else hard.

    Whitespace-only chunks are dropped (Telegram refuses empty messages).
    """
    chunks: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        window = rest[: _fit(rest, limit)]
        cut, skip = len(window), 0
        for separator, earliest in (("\n\n", 1), ("\n", 1), (" ", len(window) // 2)):
            found = window.rfind(separator)
            if found >= earliest:
                cut, skip = found, len(separator)
                break
        chunks.append(rest[:cut])
        rest = rest[cut + skip :]
    chunks.append(rest)
    return [c for c in chunks if c.strip()]


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """Choices as inline buttons: two short labels per row, a long label on a row of its own."""
    if not reply.choices:
        return None
    rows: list[list[InlineKeyboardButton]] = []
    pair: list[InlineKeyboardButton] = []
    for choice in reply.choices:
        label = (TICK if reply.multi and choice.selected else "") + (choice.label.strip() or "…")
        button = InlineKeyboardButton(label, callback_data=choice.id)
        if len(label) > LONG_LABEL:
            if pair:
                rows.append(pair)
                pair = []
            rows.append([button])
            continue
        pair.append(button)
        if len(pair) == 2:
            rows.append(pair)
            pair = []
    if pair:
        rows.append(pair)
    return InlineKeyboardMarkup(rows)


def retry_after_seconds(exc: tg.RetryAfter) -> float:
    """`RetryAfter.retry_after` in seconds, whether PTB gives an int or a timedelta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def delivery_error(exc: tg.TelegramError) -> DeliveryError:
    """The core's delivery error for a Telegram error (a 400 never succeeds on retry)."""
    if isinstance(exc, tg.RetryAfter):
        return RateLimited(retry_after_seconds(exc), "Telegram flood control")
    if isinstance(exc, tg.ChatMigrated):
        return ChatMigrated(str(exc.new_chat_id))
    if isinstance(exc, tg.Forbidden):
        return Undeliverable(exc.message)
    if isinstance(exc, tg.BadRequest):  # a NetworkError subclass: test it first
        return Undeliverable(exc.message)
    if isinstance(exc, tg.NetworkError):  # TimedOut, 5xx, connection errors
        return TransientError(exc.message or type(exc).__name__)
    # InvalidToken, Conflict and the like: the bot's own problem, not the recipient's
    return TransientError(f"{type(exc).__name__}: {exc.message}")


def _chat(chat_id: str) -> int | str:
    stripped = chat_id.strip()
    return int(stripped) if stripped.lstrip("-").isdigit() else stripped


class TelegramMessenger:
    """Sends neutral replies as plain-text Telegram messages with inline keyboards.

    `wait_on_429` > 0 makes a rate-limited call sleep and retry once when Telegram asks for at
    most that many seconds (for replies to a user who is waiting); with 0 the 429 is raised at
    once as `RateLimited` so that the outbox reschedules the row instead of holding a worker.
    `thread_fallback` answers in the chat itself when the topic of the message is gone.
    """

    platform = "telegram"

    def __init__(
        self,
        bot: Bot,
        *,
        wait_on_429: float = 0.0,
        capabilities: Capabilities | None = None,
        discussion_chat_id: str | None = None,
        thread_fallback: bool = False,
    ) -> None:
        self.bot = bot
        self.wait_on_429 = wait_on_429
        self.thread_fallback = thread_fallback
        # the forum supergroup (TELEGRAM_FORUM_CHAT_ID) where pair and discussion topics open
        self.discussion_chat_id = discussion_chat_id
        self.bot_username: str | None = None
        """The bot's @name (getMe), for links that open a private chat with it."""
        self.capabilities = capabilities or Capabilities(
            threads=True, topics=True, edit=True, max_text=MAX_TEXT
        )

    async def send(self, chat_id: str, reply: Reply) -> str | None:
        """Send a reply (split when long; the keyboard rides on the last chunk)."""
        chunks = split_text(reply.text)
        if not chunks:
            log.warning("not sending an empty message to telegram chat %s", chat_id)
            return None
        markup = keyboard(reply)
        thread = int(reply.thread_id) if reply.thread_id and reply.thread_id.isdigit() else None
        message_id: str | None = None
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            send = partial(
                self.bot.send_message,
                chat_id=_chat(chat_id),
                text=chunk,
                reply_markup=markup if last else None,
            )
            try:
                sent = await self._call(partial(send, message_thread_id=thread))
            except Undeliverable as exc:
                # the topic was deleted (or never existed): a waiting user is answered in
                # the chat itself; bulk and relayed rows fail so the outbox marks them
                if not (self.thread_fallback and thread and "thread not found" in str(exc)):
                    raise
                thread = None
                sent = await self._call(send)
            message_id = str(sent.message_id)
        return message_id

    async def edit(self, chat_id: str, message_id: str, reply: Reply) -> str | None:
        """Replace a message's text and keyboard; send anew when it cannot be edited."""
        chunks = split_text(reply.text)
        if len(chunks) != 1 or not message_id.isdigit():
            return await self.send(chat_id, reply)
        try:
            result = await self._raw(
                partial(
                    self.bot.edit_message_text,
                    chat_id=_chat(chat_id),
                    message_id=int(message_id),
                    text=chunks[0],
                    reply_markup=keyboard(reply),
                )
            )
        except tg.BadRequest as exc:
            description = exc.message.lower()
            if "message is not modified" in description:
                return message_id
            if any(reason in description for reason in _EDIT_FALLBACK):
                return await self.send(chat_id, reply)
            raise delivery_error(exc) from exc
        except tg.TelegramError as exc:
            raise delivery_error(exc) from exc
        return str(result.message_id) if isinstance(result, Message) else message_id

    async def create_topic(self, chat_id: str, name: str) -> str:
        """Open a forum topic (the bot needs can_manage_topics); returns its thread id."""
        topic = await self._call(
            partial(self.bot.create_forum_topic, chat_id=_chat(chat_id), name=name[:128])
        )
        return str(topic.message_thread_id)

    async def create_space(
        self, title: str, member_user_ids: list[str], parent_chat_id: str | None = None
    ) -> tuple[str, str | None]:
        """SpaceMaker: a forum topic in the programme's supergroup; returns (chat, topic id).

        A bot cannot add people to a Telegram group, so `member_user_ids` are not invited
        here: the introduction also reaches each member privately.
        """
        chat = parent_chat_id or self.discussion_chat_id
        if not chat:
            raise DeliveryError("no forum supergroup is configured (TELEGRAM_FORUM_CHAT_ID)")
        return chat, await self.create_topic(chat, title)

    async def invite_link(self, chat_id: str, name: str) -> str:
        """A link that lets people join a group (a bot cannot add them; needs
        can_invite_users)."""
        link = await self._call(
            partial(self.bot.create_chat_invite_link, chat_id=_chat(chat_id), name=name[:32])
        )
        return str(link.invite_link)

    async def remove_from_space(self, chat_id: str, user_id: str) -> None:
        """SpaceKeeper: take a user out of a group chat, the programme's whole supergroup (a
        bot cannot take anyone out of one forum topic); only for someone who leaves the
        programme (handlers/groups/seat_spaces.py). Banned then unbanned, so they can join
        again by invitation; `only_if_banned` keeps the unban from touching anyone else.
        Needs can_restrict_members."""
        chat, user = _chat(chat_id), int(user_id)
        await self._call(partial(self.bot.ban_chat_member, chat_id=chat, user_id=user))
        await self._call(
            partial(self.bot.unban_chat_member, chat_id=chat, user_id=user, only_if_banned=True)
        )

    async def delete(self, chat_id: str, message_id: str) -> None:
        """Delete one of the bot's messages."""
        await self._call(
            partial(self.bot.delete_message, chat_id=_chat(chat_id), message_id=int(message_id))
        )

    async def _call(self, make: Callable[[], Awaitable[T]]) -> T:
        try:
            return await self._raw(make)
        except tg.TelegramError as exc:
            raise delivery_error(exc) from exc

    async def _raw(self, make: Callable[[], Awaitable[T]]) -> T:
        """Run one Bot API call, waiting out one short 429 when allowed to."""
        try:
            return await make()
        except tg.RetryAfter as exc:
            wait = retry_after_seconds(exc)
            if not 0 < wait <= self.wait_on_429:
                raise
            log.info("telegram asked to wait %.1fs; retrying once", wait)
            await asyncio.sleep(wait)
            return await make()
