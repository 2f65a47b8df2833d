"""An emulated Telegram Bot API on 127.0.0.1 for adapter tests and benchmarks.

`TelegramEmulator` serves `/bot<token>/<method>` (JSON, form and query bodies) on an ephemeral
port. It keeps chats and messages with realistic ids, long-polls `getUpdates`, delivers updates to
a loopback webhook, validates what the real API validates (text length, callback data, blocked
users, migrated groups, forum threads), rate-limits like Telegram (global per second, per chat,
per group per minute) with real 429 bodies, injects faults, and records every call.

    async with TelegramEmulator(per_chat_rate=None) as api:
        settings = settings.model_copy(update={"telegram_api_base_url": api.base_url, ...})
        api.message(42, "/start")                 # a user writes to the bot
        await eventually(lambda: api.bot_messages(42))
        api.press(42, "I agree")                  # ... and presses a button
"""

from __future__ import annotations

import asyncio
import collections
import ipaddress
import itertools
import json
import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiohttp import ClientSession, ClientTimeout, web

DEFAULT_TOKEN = "123456789:TEST-token_for-the-emulator"
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
SENDING = frozenset(
    {"sendMessage", "editMessageText", "copyMessage", "forwardMessage", "sendPhoto", "sendDocument"}
)
DEFAULT_ALLOWED = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
_INT_FIELDS = frozenset(
    {
        "chat_id",
        "message_id",
        "message_thread_id",
        "offset",
        "limit",
        "timeout",
        "max_connections",
        "cache_time",
        "icon_color",
        "from_chat_id",
        "user_id",
        "until_date",
    }
)
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "commands",
        "scope",
        "allowed_updates",
        "entities",
        "link_preview_options",
        "reply_parameters",
        "message_ids",
    }
)
_BOOL_FIELDS = frozenset(
    {
        "drop_pending_updates",
        "disable_notification",
        "protect_content",
        "show_alert",
        "allow_paid_broadcast",
        "disable_web_page_preview",
        "only_if_banned",
        "revoke_messages",
    }
)
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


class ApiError(Exception):
    """An error answer of the Bot API: HTTP status, description and optional parameters."""

    def __init__(
        self, status: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


async def eventually(
    condition: Callable[[], Any], within: float = 20.0, interval: float = 0.005
) -> Any:
    """Poll `condition` until it returns something truthy; that value, or AssertionError."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition still false after {within:g}s")
        await asyncio.sleep(interval)


@dataclass
class Call:
    """One request the emulator answered."""

    method: str
    params: dict[str, Any]
    status: int
    at: float
    description: str | None = None


@dataclass
class StoredMessage:
    """A message in a chat, from a user or from the bot."""

    chat_id: int
    message_id: int
    text: str
    from_bot: bool
    date: int
    reply_markup: dict[str, Any] | None = None
    thread_id: int | None = None
    edits: int = 0
    deleted: bool = False

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data) of every inline button, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [(b.get("text", ""), b.get("callback_data", "")) for row in rows for b in row]

    @property
    def rows(self) -> list[list[str]]:
        """The button labels as laid out in rows."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [[b.get("text", "") for b in row] for row in rows]


@dataclass
class Delivery:
    """Something the bot showed in a chat: a new message or an edit of one."""

    kind: str  # "send" | "edit" | "delete"
    chat_id: int
    message_id: int
    text: str
    at: float


@dataclass
class Fault:
    """Injected failure: the next `remaining` matching calls fail or are delayed."""

    remaining: int
    status: int | None = None
    description: str = "Internal Server Error"
    delay: float = 0.0
    methods: frozenset[str] | None = None
    parameters: dict[str, Any] | None = None
    chat_ids: frozenset[int] | None = None

    def matches(self, method: str, params: dict[str, Any]) -> bool:
        if self.chat_ids is not None and params.get("chat_id") not in self.chat_ids:
            return False
        if self.methods is None:
            return method not in ("getUpdates", "getMe")
        return method in self.methods


@dataclass
class _Bucket:
    """A token bucket: `rate` tokens per second, at most `burst` stored."""

    rate: float
    burst: float
    tokens: float
    stamp: float

    def wait(self, now: float) -> float:
        """Refill; 0 when a token is there (the caller takes it), else seconds until one is."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


@dataclass
class _Chat:
    info: dict[str, Any]
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    topics: dict[int, str] = field(default_factory=dict)
    invite_links: list[str] = field(default_factory=list)
    members: set[int] = field(default_factory=set)
    banned: set[int] = field(default_factory=set)


class TelegramEmulator:
    """The Bot API on 127.0.0.1 with the behaviours a bot must cope with."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        global_rate: float | None = 30.0,
        per_chat_rate: float | None = 1.0,
        per_chat_burst: int = 3,
        group_per_minute: int | None = 20,
        bot_username: str = "peerbot_test_bot",
        webhook_retry_delay: float = 0.2,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.bot_username = bot_username
        self.global_rate = global_rate
        self.per_chat_rate = per_chat_rate
        self.per_chat_burst = per_chat_burst
        self.group_per_minute = group_per_minute
        self.webhook_retry_delay = webhook_retry_delay
        self.limit_clock: Callable[[], float] = time.monotonic
        """The rate limiter's time (seconds); a test that checks which call is refused can stop
        it, so that a slow machine's pauses between calls refill no bucket."""
        self.calls: list[Call] = []
        self.deliveries: list[Delivery] = []
        self.chats: dict[int, _Chat] = {}
        self.pending: list[dict[str, Any]] = []
        self.allowed_updates: frozenset[str] = DEFAULT_ALLOWED
        self.blocked: set[int] = set()
        self.missing: set[int] = set()
        self.migrated: dict[int, int] = {}
        self.faults: list[Fault] = []
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.webhook: dict[str, Any] = {}
        self.callback_ids: dict[str, bool] = {}  # id -> answered
        self.answers: dict[str, dict[str, Any]] = {}
        self.port = 0
        self._update_ids = itertools.count(700_000_001)
        self.polls = 0  # getUpdates requests so far
        self._callback_seq = itertools.count(1)
        self._wakeup = asyncio.Event()
        self._global_window: collections.deque[float] = collections.deque()
        self._chat_buckets: dict[int, _Bucket] = {}
        self._group_windows: dict[int, collections.deque[float]] = {}
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._delivery_task: asyncio.Task[None] | None = None
        self._client: ClientSession | None = None

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> TelegramEmulator:
        """Listen on 127.0.0.1 on a free port."""
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._serve)
        app.router.add_route("*", "/file/bot{token}/{path:.*}", self._file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._closing = False
        return self

    async def stop(self) -> None:
        """Wake long polls, stop webhook delivery, close the server."""
        self._closing = True
        self._wake()
        if self._delivery_task is not None:
            self._delivery_task.cancel()
            await asyncio.gather(self._delivery_task, return_exceptions=True)
            self._delivery_task = None
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> TelegramEmulator:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The value for TELEGRAM_API_BASE_URL (python-telegram-bot appends the token)."""
        return f"{self.url}/bot"

    @property
    def file_base_url(self) -> str:
        return f"{self.url}/file/bot"

    # -- test controls ----------------------------------------------------------------------

    def block(self, chat_id: int) -> None:
        """The user blocked the bot: sending to them answers 403."""
        self.blocked.add(int(chat_id))

    def forget_chat(self, chat_id: int) -> None:
        """Telegram does not know this chat: sending answers 400 chat not found."""
        self.missing.add(int(chat_id))

    def migrate(self, chat_id: int, new_chat_id: int) -> None:
        """The group became a supergroup: sending to the old id answers migrate_to_chat_id."""
        self.migrated[int(chat_id)] = int(new_chat_id)
        self._chat(new_chat_id, "supergroup")

    def add_forum(self, chat_id: int, title: str = "Peer discussions") -> None:
        """A forum supergroup where the bot may create topics."""
        chat = self._chat(chat_id, "supergroup")
        chat.info.update(title=title, is_forum=True)

    def join(self, chat_id: int, user_id: int) -> None:
        """A user joins a group (say by its invitation link); a banned user cannot."""
        chat = self._chat(chat_id, "supergroup")
        if int(user_id) not in chat.banned:
            chat.members.add(int(user_id))

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 500,
        description: str = "Internal Server Error",
        methods: Iterable[str] | None = None,
        parameters: dict[str, Any] | None = None,
        chat_ids: Iterable[int] | None = None,
    ) -> None:
        """The next `count` calls (of `methods`, default all but getUpdates/getMe; to
        `chat_ids`, default any) fail with `status`; `parameters` e.g. {"retry_after": 5}."""
        self.faults.append(
            Fault(
                count,
                status=status,
                description=description,
                methods=frozenset(methods) if methods is not None else None,
                parameters=parameters,
                chat_ids=frozenset(chat_ids) if chat_ids is not None else None,
            )
        )

    def flood(self, chat_id: int, retry_after: int, count: int = 1) -> None:
        """The next `count` messages to `chat_id` get a 429 asking to wait `retry_after` s."""
        self.fail_next(
            count,
            status=429,
            description=f"Too Many Requests: retry after {retry_after}",
            parameters={"retry_after": retry_after},
            methods=SENDING,
            chat_ids=[chat_id],
        )

    def delay_next(
        self,
        count: int = 1,
        seconds: float = 1.0,
        *,
        methods: Iterable[str] | None = None,
        chat_ids: Iterable[int] | None = None,
    ) -> None:
        """The next `count` matching calls are answered `seconds` late."""
        self.faults.append(
            Fault(
                count,
                delay=seconds,
                methods=frozenset(methods) if methods is not None else None,
                chat_ids=frozenset(chat_ids) if chat_ids is not None else None,
            )
        )

    def reset_limits(self) -> None:
        """Forget the rate limiter's history (e.g. between benchmark phases)."""
        self._global_window.clear()
        self._chat_buckets.clear()
        self._group_windows.clear()

    # -- injecting updates ------------------------------------------------------------------

    def inject(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update (an `update_id` is given when missing); returns it."""
        update = dict(update)
        if "update_id" not in update:
            update["update_id"] = next(self._update_ids)
        self.pending.append(update)
        self._wake()
        return update

    def user(
        self,
        user_id: int,
        *,
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> dict[str, Any]:
        """A Telegram User object."""
        user: dict[str, Any] = {"id": int(user_id), "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        return user

    def message_update(
        self,
        user_id: int,
        text: str,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Test",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        message_thread_id: int | None = None,
        title: str = "Energy officers",
    ) -> dict[str, Any]:
        """A `message` update from a user (stored in the chat) without queueing it."""
        chat_id = int(chat_id if chat_id is not None else user_id)
        sender = self.user(
            user_id,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        chat = self._chat(chat_id, chat_type, sender=sender, title=title)
        mid = next(chat.counter)
        date = self._now()
        chat.messages[mid] = StoredMessage(chat_id, mid, text, False, date, None, message_thread_id)
        message: dict[str, Any] = {
            "message_id": mid,
            "from": sender,
            "chat": dict(chat.info),
            "date": date,
            "text": text,
        }
        if message_thread_id is not None:
            message["message_thread_id"] = message_thread_id
            if chat.info.get("is_forum"):
                message["is_topic_message"] = True
                chat.topics.setdefault(message_thread_id, "topic")
        if text.startswith("/"):
            word = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(word)}]
        return {"update_id": next(self._update_ids), "message": message}

    def message(self, user_id: int, text: str, **kw: Any) -> dict[str, Any]:
        """A user writes `text` to the bot (in their private chat unless `chat_id` is given)."""
        return self.inject(self.message_update(user_id, text, **kw))

    def callback_update(
        self,
        user_id: int,
        data: str,
        *,
        message_id: int | None = None,
        chat_id: int | None = None,
        first_name: str = "Test",
        language_code: str | None = "en",
    ) -> dict[str, Any]:
        """A `callback_query` update: the user pressed a button carrying `data`."""
        chat_id = int(chat_id if chat_id is not None else user_id)
        chat = self._chat(chat_id, "private")
        if message_id is None:
            with_keyboard = [m for m in chat.messages.values() if m.from_bot and m.reply_markup]
            if not with_keyboard:
                raise AssertionError(f"no message with buttons in chat {chat_id}")
            message_id = with_keyboard[-1].message_id
        stored = chat.messages.get(message_id)
        query_id = f"{self.bot_id}{next(self._callback_seq):010d}"
        self.callback_ids[query_id] = False
        message: dict[str, Any]
        if stored is None:
            message = {"message_id": message_id, "chat": dict(chat.info), "date": 0}
        else:
            message = self._message_json(chat, stored)
        query = {
            "id": query_id,
            "from": self.user(user_id, first_name=first_name, language_code=language_code),
            "message": message,
            "chat_instance": f"-{abs(chat_id)}77",
            "data": data,
        }
        return {"update_id": next(self._update_ids), "callback_query": query}

    def press(
        self, user_id: int, label: str, *, chat_id: int | None = None, **kw: Any
    ) -> dict[str, Any]:
        """The user presses the newest button whose label contains `label` (ticks ignored)."""
        message, data = self.find_button(chat_id if chat_id is not None else user_id, label)
        return self.inject(
            self.callback_update(
                user_id, data, message_id=message.message_id, chat_id=message.chat_id, **kw
            )
        )

    def press_data(self, user_id: int, data: str, **kw: Any) -> dict[str, Any]:
        """The user's client sends callback data of its own (forged or stale)."""
        return self.inject(self.callback_update(user_id, data, **kw))

    # -- reading what happened --------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def ok_calls(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.status == 200]

    def bot_messages(self, chat_id: int) -> list[StoredMessage]:
        """The bot's messages in a chat, oldest first (deleted ones left out)."""
        chat = self.chats.get(int(chat_id))
        if chat is None:
            return []
        return [m for m in chat.messages.values() if m.from_bot and not m.deleted]

    def last_bot_message(self, chat_id: int) -> StoredMessage:
        messages = self.bot_messages(chat_id)
        if not messages:
            raise AssertionError(f"the bot has not written to chat {chat_id}")
        return messages[-1]

    def shown(self, chat_id: int, since: int = 0) -> list[str]:
        """Texts the bot sent or edited into a chat, in order, from delivery number `since`."""
        chat_id = int(chat_id)
        return [
            d.text
            for d in self.deliveries[since:]
            if d.chat_id == chat_id and d.kind in ("send", "edit")
        ]

    def find_button(self, chat_id: int, label: str) -> tuple[StoredMessage, str]:
        """The newest bot message with a button labelled `label` (or containing it)."""
        wanted = label.casefold()
        for message in reversed(self.bot_messages(chat_id)):
            for text, data in message.buttons:
                shown = text.removeprefix("✓ ").casefold()
                if shown == wanted:
                    return message, data
            for text, data in message.buttons:
                if wanted in text.casefold():
                    return message, data
        labels = [t for m in self.bot_messages(chat_id) for t, _ in m.buttons][-15:]
        raise AssertionError(f"no button {label!r} in chat {chat_id}; last buttons: {labels}")

    # -- the HTTP side ----------------------------------------------------------------------

    async def _file(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    async def _serve(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = {}
        try:
            params = await self._params(request)
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            handler = getattr(self, f"_api_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            await self._faults(method, params)
            if method in SENDING:
                self._rate_limit(params)
            result = await handler(params)
        except ApiError as exc:
            self.calls.append(Call(method, params, exc.status, time.monotonic(), exc.description))
            return web.json_response(exc.body(), status=exc.status)
        self.calls.append(Call(method, params, 200, time.monotonic()))
        return web.json_response({"ok": True, "result": result})

    async def _params(self, request: web.Request) -> dict[str, Any]:
        raw: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise ApiError(400, "Bad Request: can't parse JSON") from None
                if not isinstance(body, dict):
                    raise ApiError(400, "Bad Request: parameters must be an object")
                raw.update(body)
            else:
                form = await request.post()
                raw.update({k: v for k, v in form.items() if isinstance(v, str)})
        return {key: self._decode(key, value) for key, value in raw.items()}

    @staticmethod
    def _decode(key: str, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if key in _INT_FIELDS and re.fullmatch(r"-?\d+", value):
            return int(value)
        if key in _BOOL_FIELDS:
            return value.lower() in ("true", "1")
        if key in _JSON_FIELDS:
            try:
                return json.loads(value)
            except ValueError:
                raise ApiError(400, f"Bad Request: can't parse {key} JSON object") from None
        return value

    async def _faults(self, method: str, params: dict[str, Any]) -> None:
        for fault in self.faults:
            if fault.remaining > 0 and fault.matches(method, params):
                fault.remaining -= 1
                if fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.status is not None:
                    raise ApiError(fault.status, fault.description, fault.parameters)
                break
        self.faults = [f for f in self.faults if f.remaining > 0]

    def _rate_limit(self, params: dict[str, Any]) -> None:
        """Answer 429 when a limit is exceeded; a refused call consumes nothing."""
        now = self.limit_clock()
        waits: list[float] = []
        if self.global_rate:
            window = self._global_window
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= self.global_rate:
                waits.append(1.0 - (now - window[0]))
        raw = params.get("chat_id")
        chat_id = raw if isinstance(raw, int) else None
        bucket: _Bucket | None = None
        if chat_id is not None and self.per_chat_rate:
            bucket = self._chat_buckets.get(chat_id)
            if bucket is None:
                burst = float(max(1, self.per_chat_burst))
                bucket = _Bucket(self.per_chat_rate, burst, burst, now)
                self._chat_buckets[chat_id] = bucket
            waits.append(bucket.wait(now))
        gwindow: collections.deque[float] | None = None
        if chat_id is not None and chat_id < 0 and self.group_per_minute:
            gwindow = self._group_windows.setdefault(chat_id, collections.deque())
            while gwindow and now - gwindow[0] >= 60.0:
                gwindow.popleft()
            if len(gwindow) >= self.group_per_minute:
                waits.append(60.0 - (now - gwindow[0]))
        if any(w > 0 for w in waits):
            retry = max(1, math.ceil(max(waits)))
            raise ApiError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})
        if self.global_rate:
            self._global_window.append(now)
        if bucket is not None:
            bucket.tokens -= 1
        if gwindow is not None:
            gwindow.append(now)

    # -- helpers ----------------------------------------------------------------------------

    def _wake(self) -> None:
        self._wakeup.set()
        self._wakeup = asyncio.Event()
        if self.webhook.get("url") and not self._closing:
            self._ensure_delivery()

    @staticmethod
    def _now() -> int:
        return int(time.time())

    def _chat(
        self,
        chat_id: int,
        chat_type: str | None = None,
        *,
        sender: dict[str, Any] | None = None,
        title: str = "Energy officers",
    ) -> _Chat:
        chat_id = int(chat_id)
        chat = self.chats.get(chat_id)
        if chat is None:
            kind = chat_type or ("private" if chat_id > 0 else "supergroup")
            info: dict[str, Any] = {"id": chat_id, "type": kind}
            if kind == "private":
                info["first_name"] = (sender or {}).get("first_name", "Test")
                if sender and sender.get("last_name"):
                    info["last_name"] = sender["last_name"]
                if sender and sender.get("username"):
                    info["username"] = sender["username"]
            else:
                info["title"] = title
            chat = _Chat(info)
            self.chats[chat_id] = chat
        return chat

    def _me(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Peerbot",
            "username": self.bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _message_json(self, chat: _Chat, message: StoredMessage) -> dict[str, Any]:
        body: dict[str, Any] = {
            "message_id": message.message_id,
            "date": message.date,
            "chat": dict(chat.info),
            "text": message.text,
        }
        if message.from_bot:
            body["from"] = self._me()
        else:
            body["from"] = {"id": chat.info["id"], "is_bot": False, "first_name": "Test"}
        if message.reply_markup:
            body["reply_markup"] = message.reply_markup
        if message.thread_id is not None:
            body["message_thread_id"] = message.thread_id
            if chat.info.get("is_forum"):
                body["is_topic_message"] = True
        if message.edits:
            body["edit_date"] = self._now()
        return body

    def _target(self, params: dict[str, Any]) -> _Chat:
        """The chat a sending method addresses, after the checks Telegram makes."""
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if not isinstance(chat_id, int):
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self.migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self.migrated[chat_id]},
            )
        if chat_id in self.missing:
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return self._chat(chat_id)

    @staticmethod
    def _check_text(text: Any) -> str:
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        return text

    @staticmethod
    def _check_markup(markup: Any) -> dict[str, Any] | None:
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if rows is None:
            return markup
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise ApiError(
                400,
                "Bad Request: can't parse inline keyboard button: field "
                '"inline_keyboard" must be an Array of Arrays',
            )
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not str(button.get("text", "")).strip():
                    raise ApiError(
                        400, "Bad Request: text buttons are unallowed in the inline keyboard"
                    )
                data = button.get("callback_data")
                if data is not None:
                    size = len(str(data).encode("utf-8"))
                    if not 1 <= size <= MAX_CALLBACK_DATA:
                        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                elif not any(
                    k in button
                    for k in (
                        "url",
                        "switch_inline_query",
                        "web_app",
                        "login_url",
                        "copy_text",
                        "pay",
                    )
                ):
                    raise ApiError(400, "Bad Request: BUTTON_TYPE_INVALID")
        return markup

    def _thread(self, chat: _Chat, params: dict[str, Any]) -> int | None:
        thread = params.get("message_thread_id")
        if thread is None or thread == "":
            return None
        if not isinstance(thread, int) or thread not in chat.topics:
            raise ApiError(400, "Bad Request: message thread not found")
        return thread

    # -- Bot API methods --------------------------------------------------------------------

    async def _api_getMe(self, params: dict[str, Any]) -> Any:  # noqa: N802
        return self._me()

    async def _api_logOut(self, params: dict[str, Any]) -> Any:  # noqa: N802
        return True

    async def _api_close(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_getUpdates(self, params: dict[str, Any]) -> Any:  # noqa: N802
        if self.webhook.get("url"):
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        if isinstance(offset, int) and offset > 0:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]
        elif isinstance(offset, int) and offset < 0:
            self.pending = self.pending[offset:]
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self.allowed_updates = frozenset(allowed) if allowed else DEFAULT_ALLOWED
        raw_limit, raw_timeout = params.get("limit"), params.get("timeout")
        limit = raw_limit if isinstance(raw_limit, int) else 100
        timeout = raw_timeout if isinstance(raw_timeout, int) else 0
        deadline = time.monotonic() + max(0, min(timeout, 50))
        self.polls += 1
        mine = self.polls
        self._wake()  # an older long poll still waiting is terminated with 409
        while True:
            if self.polls != mine:  # a newer getUpdates (another instance?) took over
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
            self.pending = [u for u in self.pending if self._allowed(u)]
            if self.pending or self._closing:
                return self.pending[: max(1, min(limit, 100))]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            event = self._wakeup
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return []

    def _allowed(self, update: dict[str, Any]) -> bool:
        kinds = [k for k in update if k != "update_id"]
        return not kinds or any(k in self.allowed_updates for k in kinds)

    async def _api_setWebhook(self, params: dict[str, Any]) -> Any:  # noqa: N802
        url = str(params.get("url") or "")
        if not url:
            self.webhook = {}
            return True
        parts = urlsplit(url)
        try:
            loopback = ipaddress.ip_address(parts.hostname or "").is_loopback
        except ValueError:
            loopback = parts.hostname == "localhost"
        if not loopback:
            raise ApiError(
                400, "Bad Request: bad webhook: the emulator only delivers to 127.0.0.0/8"
            )
        secret = params.get("secret_token")
        if secret is not None and not _SECRET.match(str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self.pending.clear()
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self.allowed_updates = frozenset(allowed) if allowed else DEFAULT_ALLOWED
        self.webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": params.get("max_connections", 40),
            "last_error_message": None,
            "last_error_date": None,
        }
        self._wake()
        return True

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> Any:  # noqa: N802
        self.webhook = {}
        if params.get("drop_pending_updates"):
            self.pending.clear()
        return True

    async def _api_getWebhookInfo(self, params: dict[str, Any]) -> Any:  # noqa: N802
        info: dict[str, Any] = {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending),
        }
        if self.webhook.get("url"):
            info["max_connections"] = self.webhook.get("max_connections", 40)
            info["allowed_updates"] = sorted(self.allowed_updates)
        if self.webhook.get("last_error_date"):
            info["last_error_date"] = self.webhook["last_error_date"]
            info["last_error_message"] = self.webhook["last_error_message"]
        return info

    async def _api_sendMessage(self, params: dict[str, Any]) -> Any:  # noqa: N802
        chat = self._target(params)
        text = self._check_text(params.get("text"))
        markup = self._check_markup(params.get("reply_markup"))
        thread = self._thread(chat, params)
        mid = next(chat.counter)
        message = StoredMessage(chat.info["id"], mid, text, True, self._now(), markup, thread)
        chat.messages[mid] = message
        self.deliveries.append(Delivery("send", message.chat_id, mid, text, time.monotonic()))
        return self._message_json(chat, message)

    async def _api_editMessageText(self, params: dict[str, Any]) -> Any:  # noqa: N802
        if params.get("inline_message_id"):
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat = self._target(params)
        text = self._check_text(params.get("text"))
        markup = self._check_markup(params.get("reply_markup"))
        message = chat.messages.get(params.get("message_id", -1))
        if message is None or message.deleted:
            raise ApiError(400, "Bad Request: message to edit not found")
        if not message.from_bot:
            raise ApiError(400, "Bad Request: message can't be edited")
        if message.text == text and message.reply_markup == markup:
            raise ApiError(400, _NOT_MODIFIED)
        message.text = text
        message.reply_markup = markup
        message.edits += 1
        self.deliveries.append(
            Delivery("edit", message.chat_id, message.message_id, text, time.monotonic())
        )
        return self._message_json(chat, message)

    async def _api_deleteMessage(self, params: dict[str, Any]) -> Any:  # noqa: N802
        chat = self._target(params)
        message = chat.messages.get(params.get("message_id", -1))
        if message is None or message.deleted:
            raise ApiError(400, "Bad Request: message to delete not found")
        message.deleted = True
        self.deliveries.append(
            Delivery("delete", message.chat_id, message.message_id, "", time.monotonic())
        )
        return True

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> Any:  # noqa: N802
        query_id = str(params.get("callback_query_id", ""))
        if self.callback_ids.get(query_id, True):
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        if len(str(params.get("text", ""))) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self.callback_ids[query_id] = True
        self.answers[query_id] = params
        return True

    async def _api_setMyCommands(self, params: dict[str, Any]) -> Any:  # noqa: N802
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands must be a list of at most 100 commands")
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            description = str(command.get("description", "")) if isinstance(command, dict) else ""
            if not _COMMAND.match(name) or not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        language = str(params.get("language_code") or "")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise ApiError(400, "Bad Request: LANG_CODE_INVALID")
        scope = params.get("scope") or {"type": "default"}
        key = (str(scope.get("type", "default")), language)
        self.commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def _api_getMyCommands(self, params: dict[str, Any]) -> Any:  # noqa: N802
        scope = params.get("scope") or {"type": "default"}
        key = (str(scope.get("type", "default")), str(params.get("language_code") or ""))
        return self.commands.get(key, [])

    async def _api_deleteMyCommands(self, params: dict[str, Any]) -> Any:  # noqa: N802
        scope = params.get("scope") or {"type": "default"}
        self.commands.pop(
            (str(scope.get("type", "default")), str(params.get("language_code") or "")), None
        )
        return True

    async def _api_createForumTopic(self, params: dict[str, Any]) -> Any:  # noqa: N802
        chat = self._target(params)
        if not chat.info.get("is_forum"):
            raise ApiError(400, "Bad Request: the chat is not a forum")
        name = str(params.get("name") or "")
        if not 1 <= len(name) <= 128:
            raise ApiError(
                400,
                "Bad Request: TOPIC_TITLE_EMPTY"
                if not name
                else "Bad Request: TOPIC_TITLE_INVALID",
            )
        thread = next(chat.counter)
        chat.topics[thread] = name
        return {
            "message_thread_id": thread,
            "name": name,
            "icon_color": params.get("icon_color", 7322096),
        }

    async def _api_createChatInviteLink(self, params: dict[str, Any]) -> Any:  # noqa: N802
        chat = self._target(params)
        if chat.info.get("type") == "private":
            raise ApiError(400, "Bad Request: can't invite members to a private chat")
        name = str(params.get("name") or "")
        if len(name) > 32:
            raise ApiError(400, "Bad Request: invite link name is too long")
        link = f"https://t.me/+peer{abs(int(chat.info['id']))}x{next(chat.counter)}"
        chat.invite_links.append(link)
        return {
            "invite_link": link,
            "creator": self._me(),
            "creates_join_request": bool(params.get("creates_join_request")),
            "is_primary": False,
            "is_revoked": False,
            **({"name": name} if name else {}),
        }

    def _member_change(self, params: dict[str, Any]) -> tuple[_Chat, int]:
        chat = self._target(params)
        if chat.info.get("type") == "private":
            raise ApiError(400, "Bad Request: chat member status can't be changed in private chats")
        try:
            user = int(params.get("user_id") or 0)
        except (TypeError, ValueError):
            user = 0
        if user <= 0:
            raise ApiError(400, "Bad Request: invalid user_id specified")
        if user == self.bot_id:
            raise ApiError(400, "Bad Request: can't remove chat owner")
        return chat, user

    async def _api_banChatMember(self, params: dict[str, Any]) -> Any:  # noqa: N802
        """The user is out of the group and cannot come back until unbanned (a supergroup
        accepts a ban of someone who is not a member)."""
        chat, user = self._member_change(params)
        chat.members.discard(user)
        chat.banned.add(user)
        return True

    async def _api_unbanChatMember(self, params: dict[str, Any]) -> Any:  # noqa: N802
        """Lift a ban, so the user may join again by a link; without `only_if_banned` a user
        who is a member is taken out too (the Bot API's documented behaviour)."""
        chat, user = self._member_change(params)
        if user in chat.banned:
            chat.banned.discard(user)
        elif not params.get("only_if_banned"):
            chat.members.discard(user)
        return True

    # -- webhook delivery -------------------------------------------------------------------

    def _ensure_delivery(self) -> None:
        if self._delivery_task is None or self._delivery_task.done():
            self._delivery_task = asyncio.get_running_loop().create_task(self._deliver())

    async def _deliver(self) -> None:
        """POST pending updates to the loopback webhook, one at a time, retrying failures."""
        if self._client is None:
            self._client = ClientSession(timeout=ClientTimeout(total=10))
        while not self._closing and self.webhook.get("url"):
            self.pending = [u for u in self.pending if self._allowed(u)]
            if not self.pending:
                event = self._wakeup
                await event.wait()
                continue
            update = self.pending[0]
            headers = {}
            if self.webhook.get("secret_token"):
                headers["X-Telegram-Bot-Api-Secret-Token"] = str(self.webhook["secret_token"])
            try:
                async with self._client.post(
                    self.webhook["url"], json=update, headers=headers
                ) as response:
                    ok = 200 <= response.status < 300
                    error = f"Wrong response from the webhook: {response.status}"
            except (OSError, TimeoutError) as exc:
                ok, error = False, f"Connection failed: {exc}"
            if ok:
                if self.pending and self.pending[0] is update:
                    self.pending.pop(0)
                continue
            self.webhook["last_error_date"] = self._now()
            self.webhook["last_error_message"] = error
            await asyncio.sleep(self.webhook_retry_delay)


async def wait_calls(
    api: TelegramEmulator, method: str, count: int, within: float = 5.0
) -> list[Call]:
    """Wait until `method` was called successfully at least `count` times."""
    await eventually(lambda: len(api.ok_calls(method)) >= count, within)
    return api.ok_calls(method)
