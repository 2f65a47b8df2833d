"""Telegram `Update` -> neutral `Incoming`; anything the core has no use for becomes None."""

from __future__ import annotations

from typing import Any

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


_PLAIN_MESSAGE = frozenset({"message_id", "from", "chat", "date", "text", "entities"})
_PLAIN_USER = frozenset(
    {"id", "is_bot", "first_name", "last_name", "username", "language_code", "is_premium"}
)
_PLAIN_CHAT = frozenset({"id", "type", "first_name", "last_name", "username"})
_ENTITY = frozenset({"type", "offset", "length"})


def plain_incoming(data: dict[str, Any], bot_username: str | None = None) -> Incoming | None:
    """The event of the commonest update, a person's text in their private chat, read from the
    update's JSON as `to_incoming(Update.de_json(data))` reads it, without building the PTB
    objects (python-telegram-bot's parsing cost more than the rest of storing the update).
    None for any other shape or anything unusual in it: such an update goes the full way."""
    if data.keys() != {"update_id", "message"}:
        return None
    update_id, message = data["update_id"], data["message"]
    if type(update_id) is not int or type(message) is not dict:
        return None
    if not message.keys() <= _PLAIN_MESSAGE:
        return None  # a caption, a forward, a topic, a reply, an attachment ...
    sender, chat, text = message.get("from"), message.get("chat"), message.get("text")
    message_id, date = message.get("message_id"), message.get("date")
    if type(message_id) is not int or type(text) is not str:
        return None
    if type(date) is not int or not 0 <= date < 2**32:
        return None
    if type(sender) is not dict or type(chat) is not dict:
        return None
    if not (sender.keys() <= _PLAIN_USER and chat.keys() <= _PLAIN_CHAT):
        return None
    if chat.get("type") != Chat.PRIVATE or type(chat.get("id")) is not int:
        return None
    if not all(type(chat.get(k, "")) is str for k in ("first_name", "last_name", "username")):
        return None
    user_id, first = sender.get("id"), sender.get("first_name")
    if sender.get("is_bot") is not False or type(user_id) is not int or type(first) is not str:
        return None
    last, username, language = (sender.get(k) for k in ("last_name", "username", "language_code"))
    if not all(v is None or type(v) is str for v in (last, username, language)):
        return None
    if type(sender.get("is_premium", False)) is not bool:
        return None
    entities = message.get("entities", [])
    if type(entities) is not list or not all(_plain_entity(e) for e in entities):
        return None
    addressed_text = addressed(text, bot_username)
    if addressed_text is None:
        return None
    return Incoming(
        platform=PLATFORM,
        user_id=str(user_id),
        chat_id=str(chat["id"]),
        chat_kind="dm",
        text=addressed_text,
        message_id=str(message_id),
        locale=language,
        display_name=f"{first} {last}" if last else first,
        update_id=str(update_id),
        hints={"username": username} if username else {},
    )


def _plain_entity(entity: object) -> bool:
    return (
        type(entity) is dict
        and entity.keys() == _ENTITY
        and type(entity["type"]) is str
        and type(entity["offset"]) is int
        and type(entity["length"]) is int
    )
