"""Telegram `Update` -> neutral `Incoming`; anything the core has no use for becomes None."""

from __future__ import annotations

from telegram import Chat, MaybeInaccessibleMessage, Message, Update, User

from handlers.core.events import ChatKind, Incoming

PLATFORM = "telegram"


def chat_kind(chat_type: str) -> ChatKind:
    """Private chats are DMs, groups and supergroups are groups, channels are channels."""
    if chat_type == Chat.PRIVATE:
        return "dm"
    if chat_type == Chat.CHANNEL:
        return "channel"
    return "group"


def thread_of(message: MaybeInaccessibleMessage) -> str | None:
    """The forum topic a message belongs to (reply threads of plain groups are not topics)."""
    if isinstance(message, Message) and message.is_topic_message and message.message_thread_id:
        return str(message.message_thread_id)
    return None


def _person(user: User | None) -> User | None:
    return user if user is not None and not user.is_bot else None


def to_incoming(update: Update, bot_username: str | None = None) -> Incoming | None:
    """The neutral event of an update, or None for updates the bot ignores.

    `bot_username` (from getMe) tells our commands from other bots' in groups: `/cmd@OtherBot`
    is not ours and is ignored; `/cmd@ourbot` is ours, written without the suffix."""
    if update.callback_query is not None:
        return _from_callback(update)
    if update.message is not None:
        return _from_message(update, update.message, bot_username)
    return None


def addressed(text: str, bot_username: str | None) -> str | None:
    """The text with our `@name` taken off its command, or None for another bot's command."""
    if not text.startswith("/"):
        return text
    word, sep, rest = text.partition(" ")
    command, at, name = word.partition("@")
    if not at:
        return text
    if bot_username is not None and name.casefold() != bot_username.casefold():
        return None
    return command + sep + rest


def _from_message(update: Update, message: Message, bot_username: str | None) -> Incoming | None:
    user = _person(message.from_user)
    if user is None:
        return None
    if message.via_bot is not None or message.forward_origin is not None:
        # an inline bot's result or a forwarded post: someone else's words, not a question of
        # the officer (who asks, if they want, in a message of their own)
        return None
    text = message.text if message.text is not None else message.caption
    if text is None:
        if message.effective_attachment is None:
            return None  # a service message: joined, pinned, migrated, topic created ...
        text = ""
    text = addressed(text, bot_username)
    if text is None:
        return None  # a command for another bot in the same group
    hints = {"username": user.username} if user.username else {}
    kind = chat_kind(message.chat.type)
    if kind != "dm" and text.startswith("/") and bot_username:
        # personal commands continue in the private chat, which only the person can open
        word = text[1:].split(maxsplit=1)[0].lower() if len(text) > 1 else ""
        if word.isascii() and word.replace("_", "").isalnum():
            hints["private_link"] = f"https://t.me/{bot_username}?start={word}"
    return Incoming(
        platform=PLATFORM,
        user_id=str(user.id),
        chat_id=str(message.chat.id),
        chat_kind=kind,
        text=text,
        thread_id=thread_of(message),
        message_id=str(message.message_id),
        locale=user.language_code,
        display_name=user.full_name,
        update_id=str(update.update_id),
        hints=hints,
    )


def _from_callback(update: Update) -> Incoming | None:
    query = update.callback_query
    assert query is not None
    user = _person(query.from_user)
    message = query.message
    data = query.data if isinstance(query.data, str) else None
    if user is None or message is None or not data:
        return None  # inline-mode or game buttons: the bot issues neither
    return Incoming(
        platform=PLATFORM,
        user_id=str(user.id),
        chat_id=str(message.chat.id),
        chat_kind=chat_kind(message.chat.type),
        choice=data,
        thread_id=thread_of(message),
        message_id=str(message.message_id),
        locale=user.language_code,
        display_name=user.full_name,
        update_id=str(update.update_id),
    )
