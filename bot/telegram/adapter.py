"""The Telegram adapter: a python-telegram-bot Application that feeds the core.

Long polling by default; with TELEGRAM_WEBHOOK_URL set, Telegram POSTs updates to
`/telegram/webhook` on the shared HTTP server, authenticated by the secret token header.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import re
import ssl
import warnings
from collections import OrderedDict
from functools import cache
from typing import TYPE_CHECKING, Any

import certifi
from aiohttp import web
from telegram import BotCommand, Update
from telegram import error as tg
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder
from telegram.request import HTTPXRequest

from bot.config import SettingsError
from bot.telegram.messenger import MAX_TEXT, TelegramMessenger
from bot.telegram.translate import plain_incoming, to_incoming
from handlers.core.events import Incoming
from handlers.core.ports import Capabilities
from handlers.delivery.inbox import Door

if TYPE_CHECKING:
    from bot.app import Runtime

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query"]
INTERACTIVE_WAIT = 5.0  # a user waiting for a reply may wait out a 429 this long, once
# The outbox's pace: under Telegram's ~30 msg/s (leaving room for live replies, which the
# outbox does not pace) and 1 msg/s per chat. Shared by every process through the database.
OUTBOX_RATE = 29.0
PER_CHAT_INTERVAL = 1.0
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
POLL_TIMEOUT = 25
USERNAME_KEY = "telegram.bot_username"
"""Where the bot's username learnt from getMe is kept for the CLI (invite links)."""
_KEEP_OUTCOMES = 1000

TelegramApp = Application[Any, Any, Any, Any, Any, Any]


def file_base_url(base_url: str) -> str:
    """`https://host/bot` -> `https://host/file/bot` (the Bot API's file download base)."""
    head, sep, tail = base_url.rstrip("/").rpartition("/")
    return f"{head}/file/{tail}" if sep else f"{base_url}/file"


@cache
def tls_context() -> ssl.SSLContext:
    """The one TLS context of this process's Telegram clients.

    httpx builds a context for every client, reading the whole CA bundle (about 15 ms of CPU),
    and PTB makes two clients per Application. The trust is httpx's default: `SSL_CERT_FILE`
    or `SSL_CERT_DIR` when set, else certifi's bundle."""
    if os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    if os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=os.environ["SSL_CERT_DIR"])
    return ssl.create_default_context(cafile=certifi.where())


def requests() -> tuple[HTTPXRequest, HTTPXRequest]:
    """PTB's two HTTP clients (Bot API calls, getUpdates) as its builder makes them (pools of
    256 and 1, its default timeouts), on the shared TLS context."""
    tls = {"verify": tls_context()}
    return (
        HTTPXRequest(connection_pool_size=256, httpx_kwargs=tls),
        HTTPXRequest(connection_pool_size=1, httpx_kwargs=tls),
    )


def build_application(token: str, base_url: str, *, polling: bool) -> TelegramApp:
    """The PTB Application for its rate-limited bot only: updates come in through our own
    intake (webhook or long polling into the inbox), never through PTB's update queue."""
    calls, updates = requests()
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .base_file_url(file_base_url(base_url))
        .request(calls)
        .get_updates_request(updates)
        # max_retries=0: a 429 surfaces at once; the outbox reschedules the row by
        # retry_after and interactive replies wait it out once in the messenger.
        .rate_limiter(AIORateLimiter(max_retries=0))
        .concurrent_updates(True)
        .job_queue(None)
    )
    del polling
    return builder.updater(None).build()


def bot_commands(runtime: Runtime) -> dict[str, list[BotCommand]]:
    """The command menu per locale from the catalogues' `commands.<name>` keys.

    Commands the router marks coordinator-only are left out of the public menu, and so are
    commands no handler registered yet (when the router knows any commands at all).
    """
    routes = runtime.core.router.commands
    menus: dict[str, list[BotCommand]] = {}
    for locale, catalogue in runtime.content.current.t.catalogues.items():
        menu = []
        for key, description in catalogue.items():
            name = key.removeprefix("commands.")
            if not key.startswith("commands.") or not _COMMAND.match(name):
                continue
            route = routes.get(name)
            if routes and (route is None or route.coordinator):
                continue
            text = " ".join(description.split())[:256]
            if text:
                menu.append(BotCommand(name, text))
        if menu:
            menus[locale] = menu[:100]
    return menus


class TelegramAdapter:
    """Runs the Application, translates updates, hands them to the core."""

    name = "telegram"

    def __init__(self, runtime: Runtime, application: TelegramApp, *, webhook: bool) -> None:
        self.runtime = runtime
        self.application = application
        self.webhook = webhook
        # topics only where a forum supergroup is configured for the bot to open them in
        capabilities = Capabilities(
            threads=True,
            topics=runtime.settings.telegram_forum_chat_id is not None,
            max_text=MAX_TEXT,
            rate_per_second=OUTBOX_RATE,
            per_chat_interval=PER_CHAT_INTERVAL,
        )
        forum = runtime.settings.telegram_forum_chat_id
        forum_chat = str(forum) if forum is not None else None
        self.messenger = TelegramMessenger(
            application.bot, capabilities=capabilities, discussion_chat_id=forum_chat
        )
        self.interactive = TelegramMessenger(
            application.bot,
            capabilities=capabilities,
            wait_on_429=INTERACTIVE_WAIT,
            discussion_chat_id=forum_chat,
            thread_fallback=True,
        )
        self.outcomes: OrderedDict[int, str] = OrderedDict()
        """The latest outcome per update id (stored ones: once handled), for tests and logs."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._poller: asyncio.Task[None] | None = None
        self.bot_username: str | None = runtime.settings.telegram_bot_username
        self._started = False

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect (getMe), publish the command menus, then poll or register the webhook.

        A token or webhook URL that Telegram rejects raises SettingsError naming the setting.
        """
        settings = self.runtime.settings
        try:
            await self.application.initialize()
        except tg.InvalidToken as exc:
            raise SettingsError(f"TELEGRAM_BOT_TOKEN: rejected by the Bot API ({exc})") from None
        self.runtime.start_inbox()  # stored updates are handled as soon as they arrive
        self.bot_username = settings.telegram_bot_username or self.application.bot.username
        for messenger in (self.messenger, self.interactive):
            messenger.bot_username = self.bot_username
        if self.bot_username and not settings.telegram_bot_username:
            try:  # the CLI's invite links use it when TELEGRAM_BOT_USERNAME is unset
                async with self.runtime.core.uow() as uow:
                    await uow.kv.put(USERNAME_KEY, self.bot_username)
                    await uow.commit()
            except Exception as exc:  # noqa: BLE001 - links fall back to the setting
                log.warning("could not remember the bot's username: %s", exc)
        await self.publish_commands()
        await self.application.start()
        if self.webhook:
            assert settings.telegram_webhook_url is not None
            try:
                await self.application.bot.set_webhook(
                    settings.telegram_webhook_url,
                    secret_token=settings.telegram_webhook_secret,
                    allowed_updates=ALLOWED_UPDATES,
                    drop_pending_updates=False,
                )
            except tg.BadRequest as exc:
                await self.stop()
                raise SettingsError(
                    f"TELEGRAM_WEBHOOK_URL: rejected by the Bot API ({exc})"
                ) from None
            log.info("telegram webhook set to %s", settings.telegram_webhook_url)
        else:
            await self.application.bot.delete_webhook(drop_pending_updates=False)
            self._poller = asyncio.create_task(self._poll())
            log.info("telegram long polling started")
        self._started = True

    async def stop(self) -> None:
        """Stop polling (acknowledging fetched updates), let running handlers end, close."""
        self._started = False
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5.0)
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    def healthy(self) -> bool:
        """Running, and polling when in polling mode."""
        if not (self._started and self.application.running):
            return False
        return self.webhook or (self._poller is not None and not self._poller.done())

    async def publish_commands(self) -> None:
        """setMyCommands per locale (English also as the default); failures only log."""
        menus = bot_commands(self.runtime)
        fallback = self.runtime.settings.default_locale
        default = menus.get("en") or menus.get(fallback)
        targets: list[tuple[str | None, list[BotCommand]]] = [
            (locale, menu) for locale, menu in menus.items() if re.fullmatch(r"[a-z]{2}", locale)
        ]
        if default:
            targets.append((None, default))
        for language, menu in targets:
            try:
                await self.application.bot.set_my_commands(menu, language_code=language)
            except tg.TelegramError as exc:
                log.warning("setMyCommands(%s) failed: %s", language or "default", exc)

    # -- updates: stored first, acknowledged after -------------------------------------------

    async def ingest(self, data: dict[str, Any]) -> str:
        """Store one update in the inbox ("stored", "duplicate", "ignored" or "malformed").

        Raises when the store cannot take it: the webhook then answers 503 and long polling
        does not confirm the offset, so Telegram delivers the update again."""
        return (await self.ingest_many([data]))[0]

    async def ingest_many(self, batch: list[dict[str, Any]]) -> list[str]:
        """Store a batch of updates (a getUpdates answer) in one transaction; each one's fate
        as `ingest` tells it. Raises when the store cannot take them (nothing is confirmed)."""
        fates: list[str] = []
        readable: list[tuple[int, Incoming, Update | None]] = []
        for data in batch:
            parsed = await self._read(data)
            if isinstance(parsed, str):
                fates.append(parsed)
            else:
                readable.append((len(fates), parsed[0], parsed[1]))
                fates.append("stored")
        news = await self.runtime.core.accept_many([event for _, event, _ in readable])
        for (index, event, update), new in zip(readable, news, strict=True):
            if not new:
                self._remember(event.update_id, "duplicate")
                fates[index] = "duplicate"
            elif update is not None and update.callback_query is not None:
                self._spawn(self._answer(update.callback_query.id))
        return fates

    async def _read(self, data: dict[str, Any]) -> str | tuple[Incoming, Update | None]:
        """The update's event (and the PTB update when it was needed to read it), or its fate
        when there is none to handle ("malformed", kept with its error; "ignored")."""
        plain = plain_incoming(data, self.bot_username)
        if plain is not None:
            return plain, None
        update_id = data.get("update_id")
        try:
            update = Update.de_json(data, self.application.bot)
            event = to_incoming(update, self.bot_username) if update is not None else None
        except Exception as exc:  # noqa: BLE001 - any unreadable update is kept, not retried
            kind = next((k for k in data if k != "update_id"), "?")
            log.warning("telegram update %s (%s) cannot be read: %s", update_id, kind, exc)
            raw = json.dumps(data, ensure_ascii=False, default=str)
            await self.runtime.core.accept_malformed(
                "telegram", str(update_id), raw, f"{type(exc).__name__}: {exc}"
            )
            self._remember(update_id, "malformed")
            return "malformed"
        if event is None or update is None:
            self._remember(update_id, "ignored")
            return "ignored"
        return event, update

    async def after(self, event: Incoming, outcome: str) -> None:
        """Record what became of a stored update once it was handled."""
        self._remember(event.update_id, outcome)

    def _remember(self, update_id: object, outcome: str) -> None:
        if not str(update_id).lstrip("-").isdigit():
            return
        self.outcomes[int(str(update_id))] = outcome
        while len(self.outcomes) > _KEEP_OUTCOMES:
            self.outcomes.popitem(last=False)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, query_id: str) -> None:
        """Stop the pressed button's spinner (the answer itself comes after the commit)."""
        try:
            await self.application.bot.answer_callback_query(query_id)
        except tg.TelegramError as exc:
            log.info("answerCallbackQuery failed: %s", exc)

    async def _poll(self) -> None:
        """Long polling that confirms an offset only once its updates are in the inbox.

        getUpdates is called through `do_api_request` so that each update is read on its
        own: one update PTB cannot parse must not hold back the others forever."""
        bot = self.application.bot
        offset: int | None = None
        delay = 1.0
        while True:
            try:
                params: dict[str, Any] = {
                    "timeout": POLL_TIMEOUT,
                    "allowed_updates": ALLOWED_UPDATES,
                }
                if offset is not None:
                    params["offset"] = offset
                with warnings.catch_warnings():  # PTB prefers get_updates, which parses all or none
                    warnings.simplefilter("ignore")
                    result = await bot.do_api_request(
                        "getUpdates", api_kwargs=params, read_timeout=POLL_TIMEOUT + 10
                    )
                batch = [
                    data
                    for data in result or []
                    if isinstance(data, dict) and isinstance(data.get("update_id"), int)
                ]
                if batch:  # stored together, then confirmed (offset) together
                    await self.ingest_many(batch)
                    offset = max(int(data["update_id"]) for data in batch) + 1
                delay = 1.0
            except asyncio.CancelledError:
                raise
            except tg.InvalidToken:
                log.error("telegram: the token was revoked; polling stops")
                return
            except Exception as exc:  # noqa: BLE001 - network, Telegram or the store: retry
                log.warning("telegram polling: %s; retrying in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    # -- webhook ----------------------------------------------------------------------------

    async def webhook_handler(self, request: web.Request) -> web.Response:
        """Accept an update from Telegram: right secret, a JSON update, stored; then 200.

        Telegram takes a 200 as "delivered" and never sends the update again, so the update is
        committed to the inbox first; when the store is down the answer is 503 and Telegram
        redelivers. An update PTB cannot parse is kept as malformed and acknowledged."""
        expected = (self.runtime.settings.telegram_webhook_secret or "").encode()
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not expected or not hmac.compare_digest(given, expected):
            log.warning("telegram webhook: wrong or missing secret token from %s", request.remote)
            return web.Response(status=403, text="forbidden")
        try:
            data = json.loads(await request.read())
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            log.warning("telegram webhook: the body is not an update")
            return web.Response(status=400, text="not an update")
        if not self.application.running:
            return web.Response(status=503, text="starting")
        try:
            await self.ingest(data)
        except Exception as exc:  # noqa: BLE001 - not stored: Telegram must send it again
            log.error("telegram webhook: update %s not stored (%s)", data["update_id"], exc)
            return web.Response(status=503, text="try again")
        return web.Response(text="ok")


async def create_telegram(runtime: Runtime, web_app: web.Application) -> TelegramAdapter:
    """Build the adapter, register its messenger and (in webhook mode) its route."""
    settings = runtime.settings
    token = settings.telegram_bot_token
    if not token:
        raise SettingsError("TELEGRAM_BOT_TOKEN: required for the Telegram adapter")
    webhook = bool(settings.telegram_webhook_url)
    application = build_application(token, settings.telegram_api_base_url, polling=not webhook)
    adapter = TelegramAdapter(runtime, application, webhook=webhook)
    runtime.messengers["telegram"] = adapter.messenger
    runtime.doors["telegram"] = Door(adapter.interactive, after=adapter.after)
    if webhook:
        web_app.router.add_post(WEBHOOK_PATH, adapter.webhook_handler)
    return adapter
