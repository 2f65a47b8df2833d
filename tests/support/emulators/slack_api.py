"""An emulated Slack Web API on 127.0.0.1, and a "Slack" that signs and posts events to the bot.

`SlackApiEmulator` serves `/api/<method>` (JSON, form and query bodies, bearer token) on an
ephemeral port for the methods peerbot uses: auth.test, chat.postMessage, chat.update,
chat.postEphemeral, views.open/publish/update, users.info, conversations.open/create/invite/
replies. It records every call, keeps messages with realistic `ts`, validates what Slack validates
(50 blocks, 3,000-character sections, 25 elements per actions block, unique action ids, 40,000
characters of text, 250 kB views, fresh trigger ids), answers `channel_not_found`,
`is_archived`, `not_in_channel`, `account_inactive` for configured ids, rate-limits like Slack
(per channel ~1 message/s with a burst, workspace-wide per minute) with HTTP 429 and
`Retry-After`, and injects faults (next K calls fail or are delayed).

`SlackEvents` plays Slack's side of the Events API and interactivity: it builds realistic
payloads (message events, slash commands, block_actions, view_submission, app_home_opened),
signs them (v0 HMAC-SHA256 of `v0:{ts}:{body}`) and posts them to the bot's `/slack/events`.

    async with SlackApiEmulator() as api:
        api.add_user("U1", "Marie Dubois")
        slack = SlackEvents(bot_url, signing_secret, api)
        await slack.message("U1", "/help")
        await eventually(lambda: api.messages_to(api.dm_channel("U1")))
        await slack.press("U1", api.dm_channel("U1"), "I agree")
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import logging
import math
import re
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import ClientSession, ClientTimeout, web

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "xoxb-0000-test-token"  # noqa: S105 - a fake token for the emulator
DEFAULT_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # noqa: S105 - Slack's documented example
TEAM_ID = "T0PEERBOT"
BOT_USER_ID = "UPEERBOT"
BOT_ID = "BPEERBOT"
APP_ID = "APEERBOT"
MAX_TEXT = 40_000
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_VIEW_BYTES = 250_000
TRIGGER_TTL = 3.0
POSTING = frozenset({"chat.postMessage", "chat.postEphemeral"})


def units(text: str) -> int:
    """Length as Slack's JavaScript counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def sign(secret: str, timestamp: int | str, body: str) -> str:
    """Slack's request signature: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class ApiCall:
    """One recorded Web API call and what the emulator answered."""

    method: str
    args: dict[str, Any]
    status: int
    response: dict[str, Any]
    at: float


@dataclass
class Posted:
    """A message the bot posted (and its later edits)."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    ephemeral_user: str | None = None
    edits: int = 0

    def buttons(self) -> list[dict[str, Any]]:
        """The button elements of the message, in order."""
        return [
            el
            for block in self.blocks
            if block.get("type") == "actions"
            for el in block.get("elements", [])
            if el.get("type") == "button"
        ]

    def block_text(self) -> str:
        """The text of the section blocks, joined."""
        return "".join(
            str(b.get("text", {}).get("text", ""))
            for b in self.blocks
            if b.get("type") == "section"
        )


@dataclass
class SlackUser:
    """A workspace member as users.info describes them."""

    id: str
    real_name: str
    display_name: str = ""
    tz: str = "Europe/Brussels"
    locale: str = "en-US"
    is_bot: bool = False
    deleted: bool = False
    email: str | None = None

    def as_api(self, include_locale: bool) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.real_name.split(" ")[0].lower() if self.real_name else self.id.lower(),
            "deleted": self.deleted,
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": self.tz,
            "tz_offset": 3600,
            "is_bot": self.is_bot,
            "profile": {
                "real_name": self.real_name,
                "display_name": self.display_name,
                "email": self.email,
            },
        }
        if include_locale:
            data["locale"] = self.locale
        return data


@dataclass
class _Fault:
    method: str
    count: int
    status: int
    error: str
    delay: float = 0.0


@dataclass
class _Bucket:
    """A token bucket: `rate` tokens per second up to `burst`."""

    rate: float
    burst: float
    tokens: float
    stamp: float

    def take(self, now: float) -> float:
        """Take one token; 0 when granted, else the seconds until one is available."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class RateLimits:
    """Slack-like limits; None disables a limit. `methods` caps other methods per minute."""

    per_channel_per_second: float | None = None
    per_channel_burst: int = 3
    workspace_per_minute: int | None = None
    methods: dict[str, int] = field(default_factory=dict)


class SlackApiEmulator:
    """A Slack Web API on 127.0.0.1 with recorded calls, validation, rate limits and faults."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_user_id: str = BOT_USER_ID,
        limits: RateLimits | None = None,
        check_triggers: bool = True,
        auto_users: bool = False,
    ) -> None:
        self.token = token
        self.auto_users = auto_users
        self.bot_user_id = bot_user_id
        self.limits = limits or RateLimits()
        self.check_triggers = check_triggers
        self.calls: list[ApiCall] = []
        self.messages: dict[str, list[Posted]] = {}
        self.users: dict[str, SlackUser] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.home: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.missing_channels: set[str] = set()
        self.archived_channels: set[str] = set()
        self.foreign_channels: set[str] = set()
        self.inactive_users: set[str] = set()
        self.triggers: dict[str, float] = {}
        self._faults: deque[_Fault] = deque()
        self._delays: dict[str, tuple[float, int | None]] = {}
        self._holds: dict[str, asyncio.Event] = {}
        self.held: Counter[str] = Counter()
        """Calls that waited at a `hold`, per method."""
        self._buckets: dict[str, _Bucket] = {}
        self._clock = itertools.count(1)
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> str:
        """Serve on an ephemeral port; returns the base URL for `SLACK_API_BASE_URL`."""
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SlackApiEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    # -- configuration -------------------------------------------------------------------

    def add_user(self, user_id: str, real_name: str, **kw: Any) -> SlackUser:
        """A workspace member (tz, locale, display_name, is_bot, deleted, email)."""
        user = SlackUser(user_id, real_name, **kw)
        self.users[user_id] = user
        return user

    @staticmethod
    def dm_channel(user_id: str) -> str:
        """The id of the bot's direct-message channel with a user."""
        return f"D{user_id}"

    def issue_trigger(self) -> str:
        """A fresh trigger id, valid for views.open during TRIGGER_TTL seconds."""
        trigger = f"{next(self._ids)}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:16]}"
        self.triggers[trigger] = time.monotonic()
        return trigger

    def fail(
        self, method: str = "*", count: int = 1, status: int = 500, error: str = "internal_error"
    ) -> None:
        """The next `count` calls of `method` ('*' any) answer `status` with `error`."""
        self._faults.append(_Fault(method, count, status, error))

    def delay(self, method: str, seconds: float, count: int | None = None) -> None:
        """Answer `method` (or '*') after `seconds`, for `count` calls (None: until cleared)."""
        if seconds <= 0:
            self._delays.pop(method, None)
        else:
            self._delays[method] = (seconds, count)

    def hold(self, method: str) -> asyncio.Event:
        """Leave calls of `method` unanswered, as a Slack slower than any deadline would, until
        the returned event is set (`held` counts them)."""
        gate = self._holds[method] = asyncio.Event()
        return gate

    def reset_limits(self, limits: RateLimits | None = None) -> None:
        self.limits = limits or RateLimits()
        self._buckets.clear()

    # -- inspection ----------------------------------------------------------------------

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    def count(self, method: str, ok: bool | None = None) -> int:
        return sum(
            1
            for c in self.calls
            if c.method == method and (ok is None or bool(c.response.get("ok")) == ok)
        )

    def messages_to(self, channel: str) -> list[Posted]:
        return list(self.messages.get(channel, []))

    def last(self, channel: str) -> Posted:
        found = self.messages.get(channel)
        if not found:
            raise AssertionError(f"no message in {channel}")
        return found[-1]

    def find_button(self, channel: str, label: str) -> tuple[Posted, dict[str, Any]]:
        """The latest message of a channel with a button whose label is or contains `label`."""
        for msg in reversed(self.messages.get(channel, [])):
            for button in msg.buttons():
                text = str(button["text"]["text"])
                if text == label or label.lower() in text.lower():
                    return msg, button
        labels = [b["text"]["text"] for m in self.messages.get(channel, []) for b in m.buttons()]
        raise AssertionError(f"no button {label!r} in {channel}; have {labels[-15:]}")

    def transcript(self, channel: str) -> str:
        return "\n".join(m.text for m in self.messages.get(channel, []))

    # -- the server ----------------------------------------------------------------------

    async def _serve(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    args.update(body)
            else:
                args.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() or str(args.pop("token", ""))
        status, data, headers = await self._answer(method, args, token)
        self.calls.append(ApiCall(method, args, status, data, time.monotonic()))
        return web.json_response(data, status=status, headers=headers)

    async def _answer(
        self, method: str, args: dict[str, Any], token: str
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        wait = self._delay_for(method)
        if wait:
            await asyncio.sleep(wait)
        gate = self._holds.get(method)
        if gate is not None and not gate.is_set():
            self.held[method] += 1
            await gate.wait()
        fault = self._fault_for(method)
        if fault is not None:
            return fault.status, {"ok": False, "error": fault.error}, {}
        if token != self.token:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        retry_after = self._limited(method, args)
        if retry_after:
            headers = {"Retry-After": str(max(1, math.ceil(retry_after)))}
            return 429, {"ok": False, "error": "ratelimited"}, headers
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        try:
            data = handler(args)
        except _ApiError as exc:
            data = {"ok": False, "error": exc.error}
            if exc.messages:
                data["response_metadata"] = {"messages": exc.messages}
        return 200, data, {}

    def _delay_for(self, method: str) -> float:
        for key in (method, "*"):
            found = self._delays.get(key)
            if found is None:
                continue
            seconds, left = found
            if left is not None:
                if left <= 1:
                    self._delays.pop(key)
                else:
                    self._delays[key] = (seconds, left - 1)
            return seconds
        return 0.0

    def _fault_for(self, method: str) -> _Fault | None:
        for fault in self._faults:
            if fault.method in (method, "*"):
                fault.count -= 1
                if fault.count <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _limited(self, method: str, args: dict[str, Any]) -> float:
        now = time.monotonic()
        limits = self.limits
        waits: list[float] = []
        if method in POSTING:
            channel = str(args.get("channel", ""))
            if limits.per_channel_per_second:
                rate, burst = limits.per_channel_per_second, float(limits.per_channel_burst)
                bucket = self._buckets.setdefault("ch:" + channel, _Bucket(rate, burst, burst, now))
                waits.append(bucket.take(now))
            if limits.workspace_per_minute:
                rate, burst = limits.workspace_per_minute / 60, float(limits.workspace_per_minute)
                bucket = self._buckets.setdefault("ws", _Bucket(rate, burst, burst, now))
                waits.append(bucket.take(now))
        per_minute = limits.methods.get(method)
        if per_minute:
            bucket = self._buckets.setdefault(
                "m:" + method, _Bucket(per_minute / 60, per_minute, per_minute, now)
            )
            waits.append(bucket.take(now))
        return max(waits, default=0.0)

    # -- methods -------------------------------------------------------------------------

    def _ts(self) -> str:
        return f"{int(time.time())}.{next(self._clock):06d}"

    def _m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://peerbot-test.slack.com/",
            "team": "Peerbot Test",
            "user": "peerbot",
            "team_id": TEAM_ID,
            "user_id": self.bot_user_id,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _channel_ok(self, channel: str) -> None:
        if not channel:
            raise _ApiError("channel_not_found")
        if channel in self.missing_channels:
            raise _ApiError("channel_not_found")
        if channel in self.archived_channels:
            raise _ApiError("is_archived")
        if channel in self.foreign_channels:
            raise _ApiError("not_in_channel")
        if channel.startswith("D") and channel[1:] in self.inactive_users:
            raise _ApiError("account_inactive")
        member = self.users.get(channel[1:]) if channel.startswith("D") else None
        if member is not None and member.deleted:
            raise _ApiError("account_inactive")

    def _message_body(self, args: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        text = str(args.get("text") or "")
        blocks = _json_arg(args.get("blocks")) or []
        if not isinstance(blocks, list):
            raise _ApiError("invalid_blocks_format")
        if not text.strip() and not blocks:
            raise _ApiError("no_text")
        if units(text) > MAX_TEXT:
            raise _ApiError("msg_too_long")
        problems = check_blocks(blocks, MAX_MESSAGE_BLOCKS)
        if problems:
            raise _ApiError("invalid_blocks", problems)
        return text, blocks

    def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if channel[:1] in ("U", "W"):
            # Slack delivers a post addressed to a user id in the app's DM with that user,
            # whose id is a D... id: the answer, and every later event about it, names the DM.
            channel = self.dm_channel(channel)
        self._channel_ok(channel)
        text, blocks = self._message_body(args)
        thread_ts = args.get("thread_ts") or None
        posted = Posted(channel, self._ts(), text, blocks, str(thread_ts) if thread_ts else None)
        self.messages.setdefault(channel, []).append(posted)
        return {"ok": True, "channel": channel, "ts": posted.ts, "message": _as_message(posted)}

    def _m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        self._channel_ok(channel)
        user = str(args.get("user", ""))
        if self._member(user) is None:
            raise _ApiError("user_not_in_channel")
        text, blocks = self._message_body(args)
        posted = Posted(channel, self._ts(), text, blocks, ephemeral_user=user)
        self.messages.setdefault(channel, []).append(posted)
        return {"ok": True, "message_ts": posted.ts}

    def _m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        self._channel_ok(channel)
        ts = str(args.get("ts", ""))
        text, blocks = self._message_body(args)
        for msg in self.messages.get(channel, []):
            if msg.ts == ts and msg.ephemeral_user is None:
                msg.text, msg.blocks, msg.edits = text, blocks, msg.edits + 1
                return {"ok": True, "channel": channel, "ts": ts, "text": text}
        raise _ApiError("message_not_found")

    def _view(self, args: dict[str, Any], kind: str | None) -> dict[str, Any]:
        view = _json_arg(args.get("view"))
        if not isinstance(view, dict):
            raise _ApiError("invalid_arguments", ["[ERROR] missing view"])
        raw = json.dumps(view, ensure_ascii=False)
        if len(raw.encode()) > MAX_VIEW_BYTES:
            raise _ApiError("view_too_large")
        if kind is not None and view.get("type") != kind:
            raise _ApiError("invalid_arguments", [f"[ERROR] view type must be {kind}"])
        problems = check_view(view)
        if problems:
            raise _ApiError("invalid_arguments", problems)
        return view

    def _store_view(self, view: dict[str, Any], view_id: str | None = None) -> dict[str, Any]:
        view_id = view_id or f"V{next(self._ids):08d}"
        stored = {
            **view,
            "id": view_id,
            "team_id": TEAM_ID,
            "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
            "state": {"values": {}},
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "app_id": APP_ID,
            "bot_id": BOT_ID,
        }
        self.views[view_id] = stored
        return stored

    def _m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger = str(args.get("trigger_id", ""))
        if self.check_triggers:
            issued = self.triggers.pop(trigger, None)
            if issued is None:
                raise _ApiError("invalid_trigger_id")
            if time.monotonic() - issued > TRIGGER_TTL:
                raise _ApiError("expired_trigger_id")
        view = self._view(args, "modal")
        return {"ok": True, "view": self._store_view(view)}

    def _m_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = str(args.get("view_id", ""))
        if view_id not in self.views:
            raise _ApiError("not_found")
        view = self._view(args, None)
        return {"ok": True, "view": self._store_view(view, view_id)}

    def _m_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args.get("user_id", ""))
        if self._member(user) is None:
            raise _ApiError("user_not_found")
        view = self._view(args, "home")
        stored = self._store_view(view)
        self.home[user] = stored
        return {"ok": True, "view": stored}

    def _member(self, user_id: str) -> SlackUser | None:
        """A known member; with `auto_users`, any U... id becomes one on first use."""
        found = self.users.get(user_id)
        if found is None and self.auto_users and user_id.startswith("U"):
            found = self.add_user(user_id, f"User {user_id}")
        return found

    def _m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self._member(str(args.get("user", "")))
        if user is None:
            raise _ApiError("user_not_found")
        include = str(args.get("include_locale", "")).lower() in ("1", "true")
        return {"ok": True, "user": user.as_api(include)}

    def _m_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            channel = str(args["channel"])
            self._channel_ok(channel)
            return {"ok": True, "channel": {"id": channel}}
        users = [u for u in str(args.get("users", "")).split(",") if u]
        if not 1 <= len(users) <= 8:
            raise _ApiError("invalid_arguments" if users else "users_list_not_supplied")
        for uid in users:
            member = self._member(uid)
            if member is None:
                raise _ApiError("user_not_found")
            if member.deleted or uid in self.inactive_users:
                raise _ApiError("user_disabled")
        if len(users) == 1:
            channel = self.dm_channel(users[0])
            return {"ok": True, "channel": {"id": channel, "is_im": True, "user": users[0]}}
        channel = "G" + hashlib.sha1(",".join(sorted(users)).encode()).hexdigest()[:10].upper()  # noqa: S324
        self.channels.setdefault(channel, {"name": "mpdm", "members": set(users), "mpim": True})
        return {"ok": True, "channel": {"id": channel, "is_mpim": True}}

    def _m_conversations_create(self, args: dict[str, Any]) -> dict[str, Any]:
        name = str(args.get("name", ""))
        if not name:
            raise _ApiError("invalid_name_required")
        if len(name) > 80:
            raise _ApiError("invalid_name_maxlength")
        if not re.fullmatch(r"[a-z0-9_\-]+", name):
            raise _ApiError("invalid_name_specials")
        if any(c["name"] == name for c in self.channels.values()):
            raise _ApiError("name_taken")
        private = str(args.get("is_private", "")).lower() in ("1", "true")
        channel = f"C{next(self._ids):09d}"
        self.channels[channel] = {"name": name, "members": {self.bot_user_id}, "private": private}
        return {
            "ok": True,
            "channel": {"id": channel, "name": name, "is_private": private, "is_channel": True},
        }

    def _m_conversations_invite(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        self._channel_ok(channel)
        if channel not in self.channels:
            raise _ApiError("channel_not_found")
        users = [u for u in str(args.get("users", "")).split(",") if u]
        if not users:
            raise _ApiError("no_user")
        for uid in users:
            if uid == self.bot_user_id:
                raise _ApiError("cant_invite_self")
            if self._member(uid) is None:
                raise _ApiError("user_not_found")
        if set(users) <= self.channels[channel]["members"]:
            raise _ApiError("already_in_channel")
        self.channels[channel]["members"].update(users)
        return {"ok": True, "channel": {"id": channel, "name": self.channels[channel]["name"]}}

    def _m_conversations_kick(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        self._channel_ok(channel)
        if channel not in self.channels:
            raise _ApiError("channel_not_found")
        user = str(args.get("user", ""))
        if not user:
            raise _ApiError("user_not_found")
        if user == self.bot_user_id:
            raise _ApiError("cant_kick_self")
        if self._member(user) is None:
            raise _ApiError("user_not_found")
        if user not in self.channels[channel]["members"]:
            raise _ApiError("not_in_channel")
        self.channels[channel]["members"].discard(user)
        return {"ok": True}

    def _m_conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        self._channel_ok(channel)
        ts = str(args.get("ts", ""))
        found = [
            _as_message(m)
            for m in self.messages.get(channel, [])
            if m.ts == ts or m.thread_ts == ts
        ]
        if not found:
            raise _ApiError("thread_not_found")
        return {"ok": True, "messages": found, "has_more": False}


class _ApiError(Exception):
    def __init__(self, error: str, messages: list[str] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []


def _json_arg(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise _ApiError("invalid_arguments", ["[ERROR] not JSON"]) from None
    return value


def _as_message(msg: Posted) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": "message",
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "text": msg.text,
        "ts": msg.ts,
        "blocks": msg.blocks,
    }
    if msg.thread_ts:
        data["thread_ts"] = msg.thread_ts
    return data


def _text_object(obj: Any, where: str, limit: int, problems: list[str]) -> None:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        problems.append(f"[ERROR] {where}: must be a text object")
        return
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        problems.append(f"[ERROR] {where}: text must be at least 1 character")
    elif units(text) > limit:
        problems.append(f"[ERROR] {where}: must be less than {limit + 1} characters")


def _option(opt: Any, where: str, problems: list[str]) -> str | None:
    if not isinstance(opt, dict):
        problems.append(f"[ERROR] {where}: must be an option")
        return None
    _text_object(opt.get("text"), f"{where}/text", 75, problems)
    value = opt.get("value")
    if not isinstance(value, str) or not 1 <= len(value) <= 150:
        problems.append(f"[ERROR] {where}/value: 1 to 150 characters")
        return None
    return value


def _element(el: Any, where: str, action_ids: set[str], problems: list[str]) -> None:
    if not isinstance(el, dict):
        problems.append(f"[ERROR] {where}: must be an element")
        return
    action_id = el.get("action_id")
    if action_id is not None:
        if not isinstance(action_id, str) or len(action_id) > 255:
            problems.append(f"[ERROR] {where}/action_id: at most 255 characters")
        elif action_id in action_ids:
            problems.append(f"[ERROR] {where}/action_id: duplicate {action_id!r}")
        else:
            action_ids.add(action_id)
    kind = el.get("type")
    if kind == "button":
        _text_object(el.get("text"), f"{where}/text", MAX_BUTTON_TEXT, problems)
        if el.get("text", {}).get("type") != "plain_text":
            problems.append(f"[ERROR] {where}/text: must be plain_text")
        value = el.get("value", "")
        if not isinstance(value, str) or len(value) > 2000:
            problems.append(f"[ERROR] {where}/value: at most 2000 characters")
        if el.get("style") not in (None, "primary", "danger"):
            problems.append(f"[ERROR] {where}/style: primary or danger")
    elif kind in ("static_select", "multi_static_select", "checkboxes", "radio_buttons"):
        options = el.get("options") or []
        if not 1 <= len(options) <= 100:
            problems.append(f"[ERROR] {where}/options: 1 to 100 options")
        values = [_option(o, f"{where}/options/{i}", problems) for i, o in enumerate(options)]
        initial = el.get("initial_options") or (
            [el["initial_option"]] if el.get("initial_option") else []
        )
        for i, opt in enumerate(initial):
            if opt not in options:
                problems.append(f"[ERROR] {where}/initial_options/{i}: must match an option")
        if len(set(values)) != len(values):
            problems.append(f"[ERROR] {where}/options: duplicate values")
    elif kind == "plain_text_input":
        max_length = el.get("max_length", 3000)
        if not isinstance(max_length, int) or not 1 <= max_length <= 3000:
            problems.append(f"[ERROR] {where}/max_length: 1 to 3000")
            max_length = 3000
        initial = el.get("initial_value")
        if initial is not None and (not isinstance(initial, str) or len(initial) > max_length):
            problems.append(f"[ERROR] {where}/initial_value: longer than max_length")
    else:
        problems.append(f"[ERROR] {where}/type: unsupported element {kind!r}")


def check_blocks(blocks: list[Any], max_blocks: int) -> list[str]:
    """Slack's Block Kit rules that peerbot could break; empty when the blocks are valid."""
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(f"[ERROR] no more than {max_blocks} items allowed [json-pointer:/blocks]")
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"/blocks/{i}"
        if not isinstance(block, dict):
            problems.append(f"[ERROR] {where}: must be an object")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in block_ids or not isinstance(block_id, str) or len(block_id) > 255:
                problems.append(f"[ERROR] {where}/block_id: duplicate or too long")
            block_ids.add(str(block_id))
        kind = block.get("type")
        action_ids: set[str] = set()  # unique within their block, as Slack requires
        if kind == "section":
            if "text" in block:
                _text_object(block["text"], f"{where}/text", MAX_SECTION_TEXT, problems)
            elif not block.get("fields"):
                problems.append(f"[ERROR] {where}: a section needs text or fields")
        elif kind == "header":
            _text_object(block.get("text"), f"{where}/text", 150, problems)
        elif kind == "actions":
            elements = block.get("elements") or []
            if not 1 <= len(elements) <= MAX_ACTIONS_ELEMENTS:
                problems.append(f"[ERROR] {where}/elements: 1 to {MAX_ACTIONS_ELEMENTS} items")
            for j, el in enumerate(elements):
                _element(el, f"{where}/elements/{j}", action_ids, problems)
        elif kind == "input":
            _text_object(block.get("label"), f"{where}/label", 2000, problems)
            if block.get("hint") is not None:
                _text_object(block.get("hint"), f"{where}/hint", 2000, problems)
            _element(block.get("element"), f"{where}/element", action_ids, problems)
        elif kind in ("divider", "context"):
            pass
        else:
            problems.append(f"[ERROR] {where}/type: unsupported block {kind!r}")
    return problems


def check_view(view: dict[str, Any]) -> list[str]:
    """Rules of a modal or home view (title and button lengths, metadata, blocks)."""
    problems = check_blocks(view.get("blocks") or [], MAX_VIEW_BLOCKS)
    if view.get("type") == "modal":
        _text_object(view.get("title"), "/title", 24, problems)
        for key in ("submit", "close"):
            if key in view:
                _text_object(view[key], f"/{key}", 24, problems)
        has_input = any(b.get("type") == "input" for b in view.get("blocks") or [])
        if has_input and "submit" not in view:
            problems.append("[ERROR] /submit: required when the view has input blocks")
    if len(str(view.get("private_metadata", ""))) > 3000:
        problems.append("[ERROR] /private_metadata: at most 3000 characters")
    if len(str(view.get("callback_id", ""))) > 255:
        problems.append("[ERROR] /callback_id: at most 255 characters")
    return problems


# -- Slack's side: signed deliveries to the bot ----------------------------------------------


@dataclass
class Delivery:
    """What the bot answered to one delivery, and how long it took."""

    status: int
    body: str
    elapsed: float

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class SlackEvents:
    """Builds Slack payloads, signs them and posts them to the bot's events URL."""

    def __init__(self, url: str, signing_secret: str, api: SlackApiEmulator | None = None) -> None:
        self.url = url
        self.secret = signing_secret
        self.api = api
        self._session: ClientSession | None = None
        self._seq = itertools.count(1)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> SlackEvents:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def headers(
        self, body: str, *, timestamp: int | None = None, forge: bool = False
    ) -> dict[str, str]:
        """Slack's signing headers for a body (`forge` signs with a wrong secret)."""
        ts = int(time.time()) if timestamp is None else timestamp
        secret = self.secret + "-forged" if forge else self.secret
        return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": sign(secret, ts, body)}

    async def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        forge: bool = False,
        retry_num: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Delivery:
        """Post a raw body, signed like Slack; returns status, body and elapsed seconds."""
        if self._session is None:
            self._session = ClientSession(timeout=ClientTimeout(total=30))
        headers = {
            "Content-Type": content_type,
            **self.headers(body, timestamp=timestamp, forge=forge),
        }
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        headers.update(extra_headers or {})
        started = time.monotonic()
        async with self._session.post(self.url, data=body.encode(), headers=headers) as resp:
            text = await resp.text()
            return Delivery(resp.status, text, time.monotonic() - started)

    # -- Events API ----------------------------------------------------------------------

    def envelope(self, event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
        return {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:12].upper()}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": TEAM_ID,
                    "user_id": self.api.bot_user_id if self.api else BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }

    async def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        timestamp: int | None = None,
        forge: bool = False,
    ) -> Delivery:
        """Deliver one Events API event (JSON) wrapped in its envelope."""
        body = json.dumps(self.envelope(event, event_id))
        return await self.post(
            body, "application/json", timestamp=timestamp, forge=forge, retry_num=retry_num
        )

    def message_event(
        self,
        user: str,
        text: str,
        *,
        channel: str | None = None,
        channel_type: str = "im",
        thread_ts: str | None = None,
        subtype: str | None = None,
        bot_id: str | None = None,
    ) -> dict[str, Any]:
        ts = f"{int(time.time())}.{next(self._seq):06d}"
        event: dict[str, Any] = {
            "type": "message",
            "channel": channel or SlackApiEmulator.dm_channel(user),
            "user": user,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "channel_type": channel_type,
            "team": TEAM_ID,
            "client_msg_id": str(uuid.uuid4()),
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        if subtype:
            event["subtype"] = subtype
        if bot_id:
            event["bot_id"] = bot_id
        return event

    async def message(self, user: str, text: str, **kw: Any) -> Delivery:
        """A user writes `text` (a DM unless `channel`/`channel_type` say otherwise)."""
        event_kw = {
            k: kw.pop(k)
            for k in ("channel", "channel_type", "thread_ts", "subtype", "bot_id")
            if k in kw
        }
        return await self.event(self.message_event(user, text, **event_kw), **kw)

    async def home_opened(self, user: str, tab: str = "home") -> Delivery:
        event = {
            "type": "app_home_opened",
            "user": user,
            "channel": SlackApiEmulator.dm_channel(user),
            "tab": tab,
            "event_ts": f"{time.time():.6f}",
        }
        return await self.event(event)

    # -- slash commands and interactivity ------------------------------------------------

    def _trigger(self) -> str:
        if self.api is not None:
            return self.api.issue_trigger()
        return f"{next(self._seq)}.{uuid.uuid4().hex[:12]}"

    async def command(
        self,
        user: str,
        text: str = "",
        *,
        command: str = "/peerbot",
        channel: str | None = None,
        trigger_id: str | None = None,
        **kw: Any,
    ) -> Delivery:
        """A user runs a slash command (form-encoded like Slack)."""
        form = {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "peerbot-test",
            "channel_id": channel or SlackApiEmulator.dm_channel(user),
            "channel_name": "directmessage",
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": "http://127.0.0.1:9/commands/response",
            "trigger_id": trigger_id or self._trigger(),
        }
        return await self.post(urlencode(form), "application/x-www-form-urlencoded", **kw)

    def _user(self, user: str) -> dict[str, Any]:
        return {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID}

    async def interaction(self, payload: dict[str, Any], **kw: Any) -> Delivery:
        """Post an interactivity payload (`payload=<json>`, form-encoded like Slack)."""
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded", **kw)

    async def action(
        self,
        user: str,
        channel: str,
        message_ts: str,
        action_id: str,
        value: str,
        *,
        label: str = "button",
        block_id: str = "choices",
        thread_ts: str | None = None,
        **kw: Any,
    ) -> Delivery:
        """A user presses a button of a message (block_actions)."""
        message: dict[str, Any] = {"type": "message", "ts": message_ts, "user": BOT_USER_ID}
        if thread_ts:
            message["thread_ts"] = thread_ts
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user(user),
            "api_app_id": APP_ID,
            "token": "legacy-verification-token",
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel,
                "is_ephemeral": False,
            },
            "trigger_id": self._trigger(),
            "team": {"id": TEAM_ID, "domain": "peerbot-test"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel, "name": "directmessage"},
            "message": message,
            "state": {"values": {}},
            "response_url": "http://127.0.0.1:9/actions/response",
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": block_id,
                    "text": {"type": "plain_text", "text": label, "emoji": True},
                    "value": value,
                    "type": "button",
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return await self.interaction(payload, **kw)

    async def press(self, user: str, channel: str, label: str, **kw: Any) -> Delivery:
        """Press the button labelled `label` in the latest message of `channel` that has it."""
        assert self.api is not None, "press() needs the emulator to find the button"
        msg, button = self.api.find_button(channel, label)
        block_id = next(
            (
                str(b.get("block_id", "choices"))
                for b in msg.blocks
                if button in b.get("elements", [])
            ),
            "choices",
        )
        return await self.action(
            user,
            channel,
            msg.ts,
            str(button["action_id"]),
            str(button.get("value", "")),
            label=str(button["text"]["text"]),
            block_id=block_id,
            thread_ts=msg.thread_ts,
            **kw,
        )

    async def home_action(self, user: str, action_id: str, value: str = "") -> Delivery:
        """A user presses a button of their App Home."""
        view = self.api.home.get(user, {}) if self.api else {}
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user(user),
            "api_app_id": APP_ID,
            "token": "legacy-verification-token",
            "container": {"type": "view", "view_id": view.get("id", "V0")},
            "trigger_id": self._trigger(),
            "team": {"id": TEAM_ID, "domain": "peerbot-test"},
            "view": view,
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": "home",
                    "value": value,
                    "type": "button",
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return await self.interaction(payload)

    async def submit(self, user: str, view: dict[str, Any], answers: Mapping[str, Any]) -> Delivery:
        """Submit a modal with answers by block id (text, an option value, or a list of values)."""
        submitted = {**view, "state": {"values": view_state(view, answers)}}
        payload: dict[str, Any] = {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": "peerbot-test"},
            "user": self._user(user),
            "api_app_id": APP_ID,
            "token": "legacy-verification-token",
            "trigger_id": self._trigger(),
            "view": submitted,
            "response_urls": [],
            "is_enterprise_install": False,
        }
        return await self.interaction(payload)


def _find_option(element: dict[str, Any], value: str) -> dict[str, Any]:
    for opt in element.get("options", []):
        if opt.get("value") == value:
            return dict(opt)
    return {"text": {"type": "plain_text", "text": value}, "value": value}


def view_state(view: dict[str, Any], answers: Mapping[str, Any]) -> dict[str, Any]:
    """`view.state.values` as Slack builds it from what a user entered, by block id.

    A value that is not among the element's options is sent anyway (a forged submission).
    """
    values: dict[str, Any] = {}
    for block in view.get("blocks", []):
        if block.get("type") != "input" or block.get("block_id") not in answers:
            continue
        element = block["element"]
        answer = answers[block["block_id"]]
        kind = element["type"]
        entry: dict[str, Any] = {"type": kind}
        if kind == "plain_text_input":
            entry["value"] = answer
        elif kind in ("static_select", "radio_buttons"):
            entry["selected_option"] = _find_option(element, answer) if answer else None
        else:
            chosen: Iterable[str] = [answer] if isinstance(answer, str) else answer
            entry["selected_options"] = [_find_option(element, v) for v in chosen]
        values[block["block_id"]] = {element["action_id"]: entry}
    return values
