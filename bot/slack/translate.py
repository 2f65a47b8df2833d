"""Slack payloads -> neutral `Incoming` events, and Slack's text escaping both ways."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from handlers.core.events import ChatKind, Incoming

PLATFORM = "slack"
# Message subtypes that are a person writing; everything else (edits, deletions, joins,
# bot_message, channel topic changes...) is not a message to the bot.
USER_SUBTYPES = frozenset({None, "file_share", "thread_broadcast", "me_message"})
# `/peerbot <sub>` words that are another name of a core command.
ALIASES = {"join": "start", "": "help"}
FORM_WORDS = frozenset({"join", "start"})
SLACKBOT = "USLACKBOT"
_MENTION = re.compile(r"^\s*<@([A-Z0-9]+)(?:\|[^>]*)?>[\s:,]*")
_MARKUP = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")


def escape(text: str) -> str:
    """Slack's three control characters as entities, so no mention or link can be injected."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """What the user typed: Slack sends `&`, `<`, `>` as entities."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _readable(match: re.Match[str]) -> str:
    target, label = match.group(1), match.group(2)
    if target[:1] in "@#":
        return target[0] + (label or target[1:]).lstrip("@#")
    if target.startswith("!"):
        return label or "@" + target[1:].split("^", 1)[0]
    return label or target.removeprefix("mailto:")


def plain(text: str) -> str:
    """Slack message text as the person sees it: `<@U1>` -> @U1, `<url|label>` -> label,
    `<!here>` -> @here, then the entities decoded (a typed `<` arrives as `&lt;`)."""
    return unescape(_MARKUP.sub(_readable, text))


@dataclass(frozen=True)
class SlackUser:
    """What users.info tells about a member (cached by the adapter)."""

    id: str
    name: str | None = None
    real_name: str | None = None
    locale: str | None = None
    tz: str | None = None
    is_bot: bool = False
    deleted: bool = False

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> SlackUser:
        profile = data.get("profile") or {}
        display = (profile.get("display_name") or "").strip()
        real = (data.get("real_name") or profile.get("real_name") or "").strip()
        return cls(
            id=str(data.get("id", "")),
            name=display or real or data.get("name") or None,
            real_name=real or display or None,
            locale=data.get("locale") or None,
            tz=data.get("tz") or None,
            is_bot=bool(data.get("is_bot")),
            deleted=bool(data.get("deleted")),
        )


def chat_kind(channel_type: str | None, channel_id: str = "") -> ChatKind:
    """im -> dm; public channel -> channel; private channel and group DM -> group."""
    if channel_type == "im" or (channel_type is None and channel_id.startswith("D")):
        return "dm"
    if channel_type in ("group", "mpim") or (channel_type is None and channel_id.startswith("G")):
        return "group"
    return "channel"


def is_user_message(event: dict[str, Any], bot_user_id: str | None) -> bool:
    """A person wrote a message (not a bot, not Slackbot, not an edit or deletion, not us)."""
    if event.get("type") != "message" or event.get("subtype") not in USER_SUBTYPES:
        return False
    if event.get("bot_id") or event.get("bot_profile") or not event.get("user"):
        return False
    if event.get("user") == SLACKBOT:  # Slackbot writes as a user, without a bot_id
        return False
    return not (bot_user_id and event.get("user") == bot_user_id)


def strip_mention(text: str, bot_user_id: str | None) -> str:
    """Drop a leading `<@BOT>` mention (how people address the bot in channels)."""
    match = _MENTION.match(text)
    if match and (bot_user_id is None or match.group(1) == bot_user_id):
        return text[match.end() :]
    return text


def message_incoming(
    body: dict[str, Any], event: dict[str, Any], bot_user_id: str | None, user: SlackUser | None
) -> Incoming | None:
    """A `message` event as an Incoming, or None when it is not a person writing to us."""
    if not is_user_message(event, bot_user_id):
        return None
    channel = str(event.get("channel") or "")
    if not channel:
        return None  # nowhere to answer (Slack always names the channel)
    kind = chat_kind(event.get("channel_type"), channel)
    text = str(event.get("text") or "")
    if kind != "dm":
        text = strip_mention(text, bot_user_id)
    text = plain(text)
    thread = event.get("thread_ts")
    return Incoming(
        platform=PLATFORM,
        user_id=str(event["user"]),
        chat_id=channel,
        chat_kind=kind,
        text=text,
        thread_id=str(thread) if thread else None,
        message_id=str(event.get("ts")) if event.get("ts") else None,
        locale=user.locale if user else None,
        display_name=user.name if user else None,
        update_id=_update_id(body, "event_id", prefix="ev"),
    )


def command_text(text: str, known: Collection[str] = ()) -> str:
    """`/peerbot <sub> args` as core text: `/<sub> args`; nothing -> /help, join -> /start.

    With the `known` command words, anything else is a question: `/peerbot what is an ESCO?`
    is `/ask what is an ESCO?`."""
    stripped = plain(text).strip()
    sub, _, args = stripped.partition(" ")
    sub = sub.lstrip("/").lower()
    sub = ALIASES.get(sub, sub)
    if known and sub not in known:
        return f"/ask {stripped}"
    return f"/{sub} {args.strip()}".rstrip()


def mentions(text: str, bot_user_id: str | None) -> bool:
    """The message begins by mentioning the bot (Slack also sends it as app_mention)."""
    match = _MENTION.match(text)
    return bool(match and bot_user_id and match.group(1) == bot_user_id)


def mention_incoming(
    body: dict[str, Any], event: dict[str, Any], bot_user_id: str | None
) -> Incoming | None:
    """`@peerbot …` in a channel: a command, or else a question (`/ask …`), in the thread."""
    channel = str(event.get("channel") or "")
    if not channel:
        return None
    text = plain(strip_mention(str(event.get("text") or ""), bot_user_id)).strip()
    if not text:
        text = "/help"
    elif not text.startswith("/"):
        text = f"/ask {text}"
    thread = event.get("thread_ts") or event.get("ts")
    return Incoming(
        platform=PLATFORM,
        user_id=str(event["user"]),
        chat_id=channel,
        chat_kind=chat_kind(event.get("channel_type"), channel),
        text=text,
        thread_id=str(thread) if thread else None,
        message_id=str(event.get("ts")) if event.get("ts") else None,
        update_id=_update_id(body, "event_id", prefix="ev"),
    )


def opens_form(text: str) -> bool:
    """`/peerbot join` (or start) without an invitation code: the onboarding modal."""
    words = text.split()
    return len(words) == 1 and words[0].lstrip("/").lower() in FORM_WORDS


APPLY_WORDS = frozenset({"cycle", "apply"})


def opens_application(text: str) -> bool:
    """`/peerbot cycle` (or apply): the application modal of the open learning cycle."""
    words = text.split()
    return len(words) == 1 and words[0].lstrip("/").lower() in APPLY_WORDS


def command_incoming(
    body: dict[str, Any], dm_channel: str, user: SlackUser | None, text: str | None = None
) -> Incoming:
    """A slash command as an Incoming whose replies go to the user's DM with the bot."""
    return Incoming(
        platform=PLATFORM,
        user_id=str(body["user_id"]),
        chat_id=dm_channel,
        chat_kind="dm",
        text=text if text is not None else command_text(str(body.get("text") or "")),
        locale=user.locale if user else None,
        display_name=user.name if user else None,
        update_id=_cap("cmd:" + str(body.get("trigger_id") or body.get("command_ts") or "")),
    )


def action_incoming(
    body: dict[str, Any], action: dict[str, Any], user: SlackUser | None
) -> Incoming | None:
    """A pressed choice button of a message: the wire value, bound to the message's channel."""
    container = body.get("container") or {}
    channel = str(container.get("channel_id") or (body.get("channel") or {}).get("id") or "")
    value = action.get("value")
    if not channel or value is None:
        return None
    message = body.get("message") or {}
    thread = message.get("thread_ts")
    trigger = body.get("trigger_id") or f"{channel}:{action.get('action_ts', '')}"
    return Incoming(
        platform=PLATFORM,
        user_id=str((body.get("user") or {}).get("id", "")),
        chat_id=channel,
        chat_kind=chat_kind(None, channel),
        choice=str(value),
        thread_id=str(thread) if thread else None,
        message_id=str(container.get("message_ts") or message.get("ts") or "") or None,
        locale=user.locale if user else None,
        display_name=user.name if user else None,
        update_id=_cap(f"act:{trigger}"),
    )


def text_incoming(
    user_id: str, dm_channel: str, text: str, user: SlackUser | None, update_id: str
) -> Incoming:
    """Text the adapter says on the user's behalf in their DM (a Home button, a fallback)."""
    return Incoming(
        platform=PLATFORM,
        user_id=user_id,
        chat_id=dm_channel,
        chat_kind="dm",
        text=text,
        locale=user.locale if user else None,
        display_name=user.name if user else None,
        update_id=_cap(update_id),
    )


def _update_id(body: dict[str, Any], key: str, prefix: str) -> str | None:
    value = body.get(key)
    return _cap(f"{prefix}:{value}") if value else None


def _cap(update_id: str) -> str:
    """Update ids are stored in 128 characters."""
    return update_id[:128]
