"""The Telegram adapter: a python-telegram-bot Application that feeds the core.

Long polling by default; with TELEGRAM_WEBHOOK_URL set, Telegram POSTs updates to
`/telegram/webhook` on the shared HTTP server, authenticated by the secret token header.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from aiohttp import web
from telegram import BotCommand, Update
from telegram import error as tg
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot.config import SettingsError
from bot.telegram.messenger import MAX_TEXT, TelegramMessenger
from bot.telegram.translate import to_incoming
from handlers.core.ports import Capabilities

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
_KEEP_OUTCOMES = 1000

TelegramApp = Application[Any, Any, Any, Any, Any, Any]


def file_base_url(base_url: str) -> str:
    """`https://host/bot` -> `https://host/file/bot` (the Bot API's file download base)."""
    head, sep, tail = base_url.rstrip("/").rpartition("/")
    return f"{head}/file/{tail}" if sep else f"{base_url}/file"


def build_application(token: str, base_url: str, *, polling: bool) -> TelegramApp:
    """The PTB Application: rate-limited bot, concurrent updates, no job queue."""
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .base_file_url(file_base_url(base_url))
        # max_retries=0: a 429 surfaces at once; the outbox reschedules the row by
        # retry_after and interactive replies wait it out once in the messenger.
        .rate_limiter(AIORateLimiter(max_retries=0))
        .concurrent_updates(True)
        .job_queue(None)
    )
    if not polling:
        builder = builder.updater(None)
    return builder.build()


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
        self._chat_locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._started = False
        application.add_handler(TypeHandler(Update, self._on_update))
        application.add_error_handler(self._on_error)

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
            updater = self.application.updater
            assert updater is not None
            await updater.start_polling(
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=False,
                error_callback=self._on_poll_error,
            )
            log.info("telegram long polling started")
        self._started = True

    async def stop(self) -> None:
        """Stop polling (acknowledging fetched updates), let running handlers end, close."""
        self._started = False
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    def healthy(self) -> bool:
        """Running, and polling when in polling mode."""
        if not (self._started and self.application.running):
            return False
        updater = self.application.updater
        return self.webhook or (updater is not None and updater.running)

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

    # -- updates ----------------------------------------------------------------------------

    async def _on_update(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The one handler: answer a pressed button at once, translate, hand to the core."""
        if not isinstance(update, Update):
            return
        query = update.callback_query
        answering = asyncio.create_task(self._answer(query.id)) if query else None
        outcome = "ignored"
        try:
            event = to_incoming(update)
            if event is None:
                log.debug("telegram update %s ignored", update.update_id)
            else:
                async with self._chat_lock(event.chat_id):
                    outcome = await self.runtime.core.handle(event, self.interactive)
        finally:
            if answering is not None:
                await answering
        self._remember(update.update_id, outcome)

    async def _answer(self, query_id: str) -> None:
        try:
            await self.application.bot.answer_callback_query(query_id)
        except tg.TelegramError as exc:
            log.info("answerCallbackQuery failed: %s", exc)

    def _remember(self, update_id: int, outcome: str) -> None:
        self.outcomes[update_id] = outcome
        while len(self.outcomes) > _KEEP_OUTCOMES:
            self.outcomes.popitem(last=False)

    @asynccontextmanager
    async def _chat_lock(self, chat_id: str) -> AsyncIterator[None]:
        """Updates of one chat run one after another (a user's quick presses keep their order)."""
        lock, users = self._chat_locks.get(chat_id) or (asyncio.Lock(), 0)
        self._chat_locks[chat_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._chat_locks[chat_id]
            if users <= 1:
                del self._chat_locks[chat_id]
            else:
                self._chat_locks[chat_id] = (lock, users - 1)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram update failed: %r", context.error, exc_info=context.error)

    def _on_poll_error(self, exc: tg.TelegramError) -> None:
        log.warning("telegram polling error (retrying): %s", exc)

    # -- webhook ----------------------------------------------------------------------------

    async def webhook_handler(self, request: web.Request) -> web.Response:
        """Accept an update from Telegram: right secret, JSON object, queued; 200 at once.

        An update PTB cannot parse is acknowledged and dropped: Telegram would otherwise retry
        it forever and hold back every later update.
        """
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
        try:
            update = Update.de_json(data, self.application.bot)
        except Exception:  # noqa: BLE001 - a retry would fail the same way: ack and drop it
            log.exception("telegram webhook: update %s could not be parsed", data["update_id"])
            return web.Response(text="ignored")
        if not self.application.running:
            return web.Response(status=503, text="starting")
        await self.application.update_queue.put(update)
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
    if webhook:
        web_app.router.add_post(WEBHOOK_PATH, adapter.webhook_handler)
    return adapter
