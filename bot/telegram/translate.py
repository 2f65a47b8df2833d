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


def to_incoming(update: Update) -> Incoming | None:
    """The neutral event of an update, or None for updates the bot ignores."""
    if update.callback_query is not None:
        return _from_callback(update)
    if update.message is not None:
        return _from_message(update, update.message)
    return None


def _from_message(update: Update, message: Message) -> Incoming | None:
    user = _person(message.from_user)
    if user is None:
        return None
    text = message.text if message.text is not None else message.caption
    if text is None:
        if message.effective_attachment is None:
            return None  # a service message: joined, pinned, migrated, topic created ...
        text = ""
    hints = {"username": user.username} if user.username else {}
    return Incoming(
        platform=PLATFORM,
        user_id=str(user.id),
        chat_id=str(message.chat.id),
        chat_kind=chat_kind(message.chat.type),
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
