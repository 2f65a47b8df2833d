"""Neutral replies -> Slack Web API calls (Block Kit), and Slack errors -> delivery errors.

Retry policy. The messenger the outbox uses (`patient=False`) never retries: a 429 becomes
`RateLimited(retry_after)` at once so the outbox reschedules the row and keeps sending to other
channels. The messenger of interactive replies (`patient=True`) retries once, after a 429 whose
Retry-After is short (<= `max_wait` seconds) or after a 5xx/network error, because a person is
waiting and the core has no queue for direct replies. slack_sdk's own retry handlers are not
installed on the messenger's client, so this is the only retry policy.

Errors. `invalid_auth`, `token_revoked`, `missing_scope`... are the operator's fault, not the
recipient's: they raise `SlackConfigError`, a plain `DeliveryError` the outbox retries with
backoff (so nothing is lost while someone fixes the token) and that turns the adapter unhealthy
(`/healthz` says degraded). Marking rows undeliverable would drop every message of a broadcast
for one wrong token; calling it transient would hide it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import unicodedata
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.slack.translate import escape
from handlers.core.ports import (
    Capabilities,
    DeliveryError,
    RateLimited,
    TransientError,
    Undeliverable,
)
from handlers.core.replies import Choice, Reply

_COMMAND_WORD = re.compile(r"(?<![\w/<@])/([a-z_]{2,32})\b")
"""A `/word` in running text (not in a URL or path, not a Slack mention)."""

log = logging.getLogger(__name__)

SECTION_MAX = 3000
BUTTON_MAX = 75
BUTTONS_PER_BLOCK = 25
MAX_BLOCKS = 50
MESSAGE_TEXT_MAX = 30_000  # sections per message, in UTF-16 units (Slack's limit is 40,000)
FALLBACK_MAX = 3000
TICK = "✓ "
ELLIPSIS = "…"

UNDELIVERABLE = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "account_inactive",
        "user_not_found",
        "user_not_visible",
        "user_disabled",
        "cannot_dm_bot",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        "team_access_not_granted",
        "ekm_access_denied",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        "msg_too_long",
        "no_text",
        "invalid_blocks",
        "invalid_blocks_format",
        "too_many_attachments",
    }
)
CONFIG = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive_token",
        "missing_scope",
        "no_permission",
        "not_allowed_token_type",
        "org_login_required",
        "two_factor_setup_required",
        "access_denied",
    }
)
TRANSIENT = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "timeout"}
)


class SlackConfigError(DeliveryError):
    """Slack refused our credentials or scopes: an operator must act (see the module doc)."""


def units(text: str) -> int:
    """Length as Slack counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    for key, value in dict(headers).items():
        if str(key).lower() == name.lower():
            return str(value[0] if isinstance(value, list) else value)
    return None


def delivery_error(exc: BaseException) -> DeliveryError:
    """The neutral delivery error for a slack_sdk or network exception."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, SlackApiError):
        response = exc.response
        status = int(getattr(response, "status_code", None) or getattr(response, "status", 0) or 0)
        data = getattr(response, "data", None)
        error = str(data.get("error") or "") if isinstance(data, Mapping) else ""
        if status == 429 or error == "ratelimited":
            raw = _header(getattr(response, "headers", None), "Retry-After")
            try:
                retry_after = max(1.0, float(raw)) if raw else 1.0
            except ValueError:
                retry_after = 1.0
            return RateLimited(retry_after, f"slack {error or 'HTTP 429'}")
        if error in CONFIG:
            return SlackConfigError(f"slack {error}: check SLACK_BOT_TOKEN and the app's scopes")
        if error in UNDELIVERABLE:
            return Undeliverable(f"slack {error}")
        if status >= 500 or error in TRANSIENT:
            return TransientError(f"slack {error or 'HTTP'} {status}".strip())
        return DeliveryError(f"slack {error or f'HTTP {status}'}")
    if isinstance(exc, TimeoutError | aiohttp.ClientError | OSError):
        return TransientError(f"slack unreachable: {type(exc).__name__}: {exc}")
    if isinstance(exc, SlackClientError):
        return DeliveryError(f"slack client: {exc}")
    raise TypeError(f"not a delivery failure: {exc!r}") from exc


# -- rendering -------------------------------------------------------------------------------


def fit_prefix(text: str, limit: int) -> int:
    """The longest prefix length of `text` whose escaped form is at most `limit` units."""
    n = min(len(text), limit)
    while n > 0:
        over = units(escape(text[:n])) - limit
        if over <= 0:
            return n
        n -= max(1, over // 5)
    return 0


def split_text(text: str, limit: int = SECTION_MAX) -> list[str]:
    """Pieces whose escaped form fits `limit` units, cut at a line break or space if possible."""
    pieces: list[str] = []
    rest = text
    while rest:
        if units(escape(rest)) <= limit:
            pieces.append(rest)
            break
        n = max(1, fit_prefix(rest, limit))
        cut = rest.rfind("\n", 0, n + 1)
        if cut < n // 2:
            cut = rest.rfind(" ", 0, n + 1)
        if cut < n // 2:
            cut = n
        pieces.append(rest[:cut])
        rest = rest[cut:].lstrip("\n ")
    return [p for p in pieces if p.strip()]


def _truncate(text: str, limit: int) -> str:
    """Escaped text cut to `limit` units with an ellipsis."""
    if units(escape(text)) <= limit:
        return escape(text)
    return escape(text[: fit_prefix(text, limit - 1)]) + ELLIPSIS


def _button(index: int, choice: Choice, multi: bool) -> dict[str, Any]:
    ticked = multi and bool(choice.selected)
    label = (TICK if ticked else "") + (choice.label.strip() or "·")
    button: dict[str, Any] = {
        "type": "button",
        "action_id": f"choice-{index}",
        "text": {"type": "plain_text", "text": _truncate(label, BUTTON_MAX), "emoji": True},
        "value": choice.id,
    }
    if ticked:
        button["style"] = "primary"
    return button


def _section(piece: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "plain_text", "text": escape(piece), "emoji": True}}


def render(reply: Reply, single: bool = False) -> list[tuple[str, list[dict[str, Any]]]]:
    """A reply as (fallback text, blocks) per Slack message; buttons go with the last text.

    `single` fits everything in one message (for chat.update), shortening the text.
    """
    pieces = split_text(reply.text)
    buttons = [_button(i, c, reply.multi) for i, c in enumerate(reply.choices)]
    actions = [
        {
            "type": "actions",
            "block_id": f"choices-{k}",
            "elements": buttons[i : i + BUTTONS_PER_BLOCK],
        }
        for k, i in enumerate(range(0, len(buttons), BUTTONS_PER_BLOCK))
    ]
    if single:
        room = max(1, MAX_BLOCKS - len(actions))
        actions = actions[: MAX_BLOCKS - 1] if len(actions) >= MAX_BLOCKS else actions
        kept: list[str] = []
        used = 0
        for piece in pieces[:room]:
            size = units(escape(piece))
            if used + size > MESSAGE_TEXT_MAX:
                break
            kept.append(piece)
            used += size
        if len(kept) < len(pieces) and kept:
            last = kept[-1]
            kept[-1] = last[: fit_prefix(last, SECTION_MAX - 1)] + ELLIPSIS
        pieces = kept
    messages: list[list[dict[str, Any]]] = [[]]
    used = 0
    for piece in pieces:
        size = units(escape(piece))
        if messages[-1] and (len(messages[-1]) >= MAX_BLOCKS or used + size > MESSAGE_TEXT_MAX):
            messages.append([])
            used = 0
        messages[-1].append(_section(piece))
        used += size
    for block in actions:
        if len(messages[-1]) >= MAX_BLOCKS:
            messages.append([])
        messages[-1].append(block)
    return [(_fallback(blocks, reply), blocks) for blocks in messages if blocks]


def _fallback(blocks: list[dict[str, Any]], reply: Reply) -> str:
    """The notification text of a message (already escaped, at most FALLBACK_MAX units)."""
    text = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    if not text:
        labels = [
            el["text"]["text"] for b in blocks if b["type"] == "actions" for el in b["elements"]
        ]
        text = " · ".join(labels) or escape(reply.text[:100]) or ELLIPSIS
    if units(text) > FALLBACK_MAX:
        # cut on the escaped text without splitting an entity
        cut = text[: FALLBACK_MAX - 1]
        amp = cut.rfind("&")
        if amp > len(cut) - 5 and ";" not in cut[amp:]:
            cut = cut[:amp]
        while units(cut) > FALLBACK_MAX - 1:
            cut = cut[:-1]
        text = cut + ELLIPSIS
    return text


def channel_name(title: str) -> str:
    """A valid Slack channel name (lower-case ASCII, digits, - and _, at most 80) for a title."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    name = re.sub(r"[^a-z0-9_-]+", "-", ascii_title.lower()).strip("-_")
    return name[:70].rstrip("-_") or "peerbot"


# -- the messenger ---------------------------------------------------------------------------


class SlackMessenger:
    """Sends replies with chat.postMessage / chat.update; opens private channels for pairs."""

    platform = "slack"

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        patient: bool = False,
        max_wait: float = 5.0,
        rate_per_second: float | None = 10.0,
    ) -> None:
        # The outbox paces by these: Slack's chat.postMessage allows about one message per
        # second per channel, and an unpublished workspace-wide budget (SLACK_RATE_PER_SECOND).
        self.capabilities = Capabilities(
            threads=True,
            topics=False,
            modals=True,
            create_channel=True,
            edit=True,
            max_text=40_000,
            rate_per_second=rate_per_second,
            per_chat_interval=1.0,
        )
        self.client = client
        self.patient = patient
        self.max_wait = max_wait
        self.config_error: str | None = None
        self.discussion_chat_id: str | None = None
        """The programme's channel (SLACK_CHANNEL_ID), where discussions open as threads."""
        self.revoked = False
        """The workspace uninstalled the app or revoked its token: nothing is sent."""
        self.slash: str | None = None
        self.commands: frozenset[str] = frozenset()
        """The slash command and the core's command words: `/help` in a text reads
        `/peerbot help` on Slack, where commands are subcommands of the app's one command."""
        self.sent = 0

    async def call(self, fn: Callable[[], Awaitable[AsyncSlackResponse]]) -> dict[str, Any]:
        """Run one Web API call with the retry policy; raises neutral delivery errors."""
        try:
            return await self._once(fn)
        except RateLimited as exc:
            if not self.patient or exc.retry_after > self.max_wait:
                raise
            await asyncio.sleep(exc.retry_after)
        except TransientError:
            if not self.patient:
                raise
            await asyncio.sleep(0.5)
        return await self._once(fn)

    async def _once(self, fn: Callable[[], Awaitable[AsyncSlackResponse]]) -> dict[str, Any]:
        if self.revoked:
            raise TransientError("the app was uninstalled from the workspace")
        try:
            response = await fn()
        except (SlackClientError, TimeoutError, aiohttp.ClientError, OSError) as exc:
            error = delivery_error(exc)
            if isinstance(error, SlackConfigError):
                if self.config_error is None:
                    log.error("%s", error)
                self.config_error = str(error)
            raise error from exc
        self.config_error = None
        data = response.data
        return dict(data) if isinstance(data, Mapping) else {}

    def as_slack(self, reply: Reply) -> Reply:
        """Command words as Slack users type them (`/help` -> `/peerbot help`)."""
        if not self.slash or not self.commands:
            return reply
        slash = self.slash

        def swap(match: re.Match[str]) -> str:
            word = match.group(1)
            return f"{slash} {word}" if word in self.commands else match.group(0)

        return replace(reply, text=_COMMAND_WORD.sub(swap, reply.text))

    async def send(self, chat_id: str, reply: Reply) -> str | None:
        """Post a reply (several messages when long); returns the ts of the last one."""
        reply = self.as_slack(reply)
        ts: str | None = None
        for index, (text, blocks) in enumerate(render(reply)):
            ts = await self._post(chat_id, text, blocks, reply.thread_id, later=index > 0)
        self.sent += 1
        return ts

    async def _post(
        self,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]],
        thread_ts: str | None,
        later: bool,
    ) -> str | None:
        def post() -> Awaitable[AsyncSlackResponse]:
            return self.client.chat_postMessage(
                channel=channel,
                text=text,
                blocks=blocks,
                thread_ts=thread_ts,
                unfurl_links=False,
                unfurl_media=False,
            )

        attempts = 4 if later else 1
        for attempt in range(attempts):
            try:
                data = await self.call(post)
            except RateLimited as exc:
                # The first part is out: wait for the rest rather than resend it all later.
                if attempt == attempts - 1 or exc.retry_after > 30:
                    raise
                await asyncio.sleep(exc.retry_after)
                continue
            return str(data.get("ts")) if data.get("ts") else None
        raise AssertionError("unreachable")

    async def edit(self, chat_id: str, message_id: str, reply: Reply) -> str | None:
        """Replace a message (the one whose button was pressed) with chat.update."""
        reply = self.as_slack(reply)
        text, blocks = render(reply, single=True)[0]
        data = await self.call(
            lambda: self.client.chat_update(
                channel=chat_id, ts=message_id, text=text, blocks=blocks
            )
        )
        return str(data.get("ts") or message_id)

    async def create_space(
        self, title: str, member_user_ids: list[str], parent_chat_id: str | None = None
    ) -> tuple[str, str | None]:
        """A private channel named after the title, with the members invited (no thread)."""
        base = channel_name(title)
        channel_id: str | None = None
        for attempt in range(6):
            if attempt == 0:
                name = base
            elif attempt < 5:
                name = f"{base}-{attempt + 1}"
            else:
                name = f"{base}-{uuid.uuid4().hex[:6]}"
            try:
                data = await self.call(
                    lambda name=name: self.client.conversations_create(  # type: ignore[misc]
                        name=name, is_private=True
                    )
                )
            except DeliveryError as exc:
                if "name_taken" in str(exc):
                    continue
                raise
            channel_id = str((data.get("channel") or {}).get("id", ""))
            break
        if not channel_id:
            raise DeliveryError(f"slack: no free channel name for {base!r}")
        users = sorted({u for u in member_user_ids if u})
        for i in range(0, len(users), 1000):
            batch = ",".join(users[i : i + 1000])
            await self.call(
                lambda batch=batch: self.client.conversations_invite(  # type: ignore[misc]
                    channel=channel_id, users=batch, force=True
                )
            )
        return channel_id, None

    async def add_to_space(self, chat_id: str, user_id: str) -> None:
        """Invite one user to a private channel the bot opened (a group's newcomer)."""
        try:
            await self.call(
                lambda: self.client.conversations_invite(channel=chat_id, users=user_id, force=True)
            )
        except DeliveryError as exc:
            if "already_in_channel" not in str(exc):
                raise

    async def remove_from_space(self, chat_id: str, user_id: str) -> None:
        """Take one user out of a private channel the bot opened (a member who left)."""
        try:
            await self.call(lambda: self.client.conversations_kick(channel=chat_id, user=user_id))
        except DeliveryError as exc:
            if "not_in_channel" not in str(exc):
                raise
