"""The Slack adapter: a slack-bolt AsyncApp over HTTP (`/slack/events`) or Socket Mode.

Every listener stores its event in the durable inbox (one short INSERT) and only then lets
Bolt answer Slack (`process_before_response=True`: the answer goes out when the listener
returns, a 500 when the store failed, so Slack delivers again). The inbox workers handle the
event afterwards, in order per person; `prepare` completes it with what only Slack's API knows
(the person's name and language from users.info, the DM of a slash command). Retries of an
event (`X-Slack-Retry-Num`) are acknowledged like the first delivery and stored once.

The one exception to "store, then answer" is what Slack only accepts inside its 3-second
window: opening the profile modal (`views.open` needs a fresh trigger_id) and a modal's inline
validation errors (`response_action`). Their effects still go through the inbox: a submitted
modal is stored as a form event like any other update.

Listeners: `message` (DMs, channels, threads), `/peerbot <sub>` (replies go to the user's DM),
`^choice-` buttons, `app_home_opened` (the profile on the App Home), the onboarding modal
(`/peerbot join`, the Home's Join/Edit buttons) and the learning plan modal (`/peerbot plan`),
whose submissions are validated inline.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import aiohttp
from aiohttp import web
from slack_bolt import BoltResponse
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import SettingsError
from bot.slack import profile_surfaces
from bot.slack.messenger import CONFIG, SlackMessenger
from bot.slack.plan_modal import PLAN_CALLBACK, opens_plan, plan_modal, read_plan_modal
from bot.slack.translate import (
    SLACKBOT,
    SlackUser,
    action_incoming,
    command_incoming,
    command_text,
    is_user_message,
    mention_incoming,
    mentions,
    message_incoming,
    opens_application,
    opens_form,
    text_incoming,
)
from bot.slack.views import (
    APPLY_CALLBACK,
    FORM_CALLBACK,
    HOME_ASK,
    HOME_EDIT,
    HOME_JOIN,
    Choices,
    Prefill,
    Texts,
    application_modal,
    home_view,
    profile_modal,
    read_application_form,
    read_form,
)
from handlers.core.events import Incoming
from handlers.core.ports import DeliveryError
from handlers.core.taxonomy import EU_LANGUAGES
from handlers.delivery.inbox import Door
from handlers.groups.flow import read_application
from handlers.outcomes.surfaces import plan_surface

if TYPE_CHECKING:
    from bot.app import Runtime

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HTTP_TIMEOUT = 15.0


def readable_body(body: bytes, content_type: str) -> bool:
    """Whether Bolt can read a request body: a JSON object, or a form (commands and
    interactivity, whose `payload` field must then be a JSON object)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if content_type == "application/json":
        try:
            return isinstance(json.loads(text), dict)
        except ValueError:
            return False
    fields = parse_qs(text, keep_blank_values=True)
    if "payload" in fields:
        try:
            return isinstance(json.loads(fields["payload"][0]), dict)
        except ValueError:
            return False
    return True


class UserDirectory:
    """users.info (name, locale, time zone) and the DM channel per user, cached."""

    def __init__(self, messenger: SlackMessenger, ttl: float = 3600.0, size: int = 20_000) -> None:
        self.messenger = messenger
        self.client = messenger.client
        self.ttl = ttl
        self.size = size
        self._users: OrderedDict[str, tuple[float, SlackUser]] = OrderedDict()
        self._dms: OrderedDict[str, str] = OrderedDict()

    async def user(self, user_id: str) -> SlackUser | None:
        """What users.info says (None when Slack cannot tell; the event still goes on)."""
        cached = self._users.get(user_id)
        if cached is not None and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        try:
            data = await self.messenger.call(
                lambda: self.client.users_info(user=user_id, include_locale=True)
            )
        except DeliveryError as exc:
            log.warning("users.info %s failed: %s", user_id, exc)
            return cached[1] if cached else None
        user = SlackUser.from_api(data.get("user") or {"id": user_id})
        self._remember(self._users, user_id, (time.monotonic(), user))
        return user

    async def dm(self, user_id: str) -> str | None:
        """The bot's DM channel with a user (conversations.open)."""
        found = self._dms.get(user_id)
        if found is not None:
            return found
        try:
            data = await self.messenger.call(lambda: self.client.conversations_open(users=user_id))
        except DeliveryError as exc:
            log.warning("conversations.open %s failed: %s", user_id, exc)
            return None
        channel = str((data.get("channel") or {}).get("id") or "") or None
        if channel:
            self._remember(self._dms, user_id, channel)
        return channel

    def _remember(self, cache: OrderedDict[str, Any], key: str, value: Any) -> None:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > self.size:
            cache.popitem(last=False)


class SlackAdapter:
    """Runs the Bolt app and turns its listeners into core calls."""

    name = "slack"

    def __init__(self, runtime: Runtime, session: aiohttp.ClientSession) -> None:
        settings = runtime.settings
        self.runtime = runtime
        self.session = session
        base_url = settings.slack_api_base_url
        token = settings.slack_bot_token
        # Our own calls and the messengers: no slack_sdk retries (see bot/slack/messenger.py).
        self.client = AsyncWebClient(
            token=token, base_url=base_url, session=session, retry_handlers=[]
        )
        rate = settings.slack_rate_per_second
        self.outbox_messenger = SlackMessenger(self.client, patient=False, rate_per_second=rate)
        self.messenger = SlackMessenger(self.client, patient=True, rate_per_second=rate)
        self.users = UserDirectory(self.messenger)
        words = frozenset(n for n in runtime.core.router.commands if not n.startswith("_"))
        for messenger in (self.messenger, self.outbox_messenger):
            messenger.slash, messenger.commands = settings.slack_command, words
            messenger.discussion_chat_id = settings.slack_channel_id
        self.socket_mode = bool(settings.slack_app_token)
        self.app = AsyncApp(
            client=AsyncWebClient(token=token, base_url=base_url, session=session),
            signing_secret=settings.slack_signing_secret or "",
            process_before_response=True,
            name="peerbot",
        )
        self.command = settings.slack_command
        self.verifier = SignatureVerifier(settings.slack_signing_secret or "")
        self.team_ids = {t.strip() for t in (settings.slack_team_ids or "").split(",") if t.strip()}
        """Workspaces whose requests are answered (SLACK_TEAM_IDS, else auth.test's team)."""
        self.bot_user_id: str | None = None
        self.stats: Counter[str] = Counter()
        self.socket: Any = None
        if self.socket_mode:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            self.socket = AsyncSocketModeHandler(self.app, settings.slack_app_token)
        self._started = False
        self._inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._register()

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Check the token (auth.test), then connect Socket Mode if configured."""
        try:
            data = await self.client.auth_test()
            self.bot_user_id = str(data.get("user_id") or "") or None
            if not self.team_ids and data.get("team_id"):
                self.team_ids = {str(data["team_id"])}
        except SlackApiError as exc:
            error = str((exc.response.data or {}).get("error", "")) if exc.response else ""
            if error in CONFIG:
                raise SettingsError(f"SLACK_BOT_TOKEN: Slack refused it ({error})") from None
            log.warning("slack auth.test failed (%s); starting anyway", error or exc)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("slack unreachable at start (%s); starting anyway", exc)
        self.runtime.start_inbox()  # stored updates are handled as soon as they arrive
        if self.socket is not None:
            await self.socket.connect_async()
        self._started = True

    async def stop(self) -> None:
        """Stop taking events, let in-flight work finish (10 s at most), close connections."""
        self._started = False
        if self.socket is not None:
            await self.socket.close_async()
        await self.idle(10.0)
        await self.session.close()

    def healthy(self) -> bool:
        return self._started and not (
            self.messenger.config_error or self.outbox_messenger.config_error
        )

    async def idle(self, within: float = 10.0) -> bool:
        """Wait until no listener work runs and the inbox has handled what was stored; False
        if work remains after `within` s."""
        deadline = time.monotonic() + within
        if not await self._listeners_idle(deadline):
            return False
        inbox = self.runtime.inbox
        if inbox is not None and not await inbox.idle(max(0.0, deadline - time.monotonic())):
            return False
        return await self._listeners_idle(deadline)

    async def _listeners_idle(self, deadline: float) -> bool:
        while self._inflight:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(self._idle.wait(), left)
            except TimeoutError:
                return False
            await asyncio.sleep(0)
        return True

    @asynccontextmanager
    async def _busy(self) -> AsyncIterator[None]:
        self._inflight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._inflight -= 1
            if self._inflight == 0:
                self._idle.set()

    # -- HTTP ----------------------------------------------------------------------------

    async def handle_http(self, request: web.Request) -> web.Response:
        """POST /slack/events: Bolt verifies the signature and timestamp, then dispatches."""
        stamp = request.headers.get("X-Slack-Request-Timestamp", "")
        if not stamp.isdigit():  # Bolt's verifier would raise on it (a 500): refuse it here
            return web.Response(status=401, text="invalid request")
        retry = request.headers.get("X-Slack-Retry-Num")
        if retry:
            log.info("slack retry %s (%s)", retry, request.headers.get("X-Slack-Retry-Reason", "?"))
        body = await request.read()
        if not readable_body(body, request.content_type):
            # Bolt would fail to parse it and answer 500 with a traceback; a forged one is
            # refused (401) and a signed but broken one is a bad request (400), never retried
            if not self.verifier.is_valid_request(body, dict(request.headers)):
                return web.Response(status=401, text="invalid request")
            log.warning("slack: a signed request whose body cannot be read (400)")
            return web.Response(status=400, text="bad request")
        bolt_request = await to_bolt_request(request)
        response = await self.app.async_dispatch(bolt_request)
        return await to_aiohttp_response(response)

    # -- listeners -----------------------------------------------------------------------

    def _register(self) -> None:
        app = self.app
        app.middleware(self._only_our_workspace)
        app.event("message")(self._on_message)
        app.event("app_mention")(self._on_mention)
        app.event("app_home_opened")(self._on_home_opened)
        app.event("member_joined_channel")(self._on_member_joined)
        app.event("tokens_revoked")(self._on_uninstalled)
        app.event("app_uninstalled")(self._on_uninstalled)
        app.command(self.command)(self._on_command)
        app.action(re.compile(r"^choice-"))(self._on_choice)
        app.action(HOME_JOIN)(self._on_home_form)
        app.action(HOME_EDIT)(self._on_home_form)
        app.action(HOME_ASK)(self._on_home_ask)
        app.view(FORM_CALLBACK)(self._on_form)
        app.view(PLAN_CALLBACK)(self._on_plan_form)
        app.view(APPLY_CALLBACK)(self._on_application)
        # Everything else Slack may send is acknowledged (2xx) and left alone: Bolt would
        # answer 404, Slack retries failed deliveries and may turn the app's events off.
        anything = re.compile(".*")
        app.event(anything)(self._ignore)
        app.action(anything)(self._ack_only)
        app.view(anything)(self._ack_only)
        app.view_closed(anything)(self._ack_only)
        app.shortcut(anything)(self._ack_only)
        app.options(anything)(self._no_options)
        app.command(anything)(self._ack_only)

    async def _ignore(self, event: dict[str, Any]) -> None:
        """An event type the bot has no use for (reactions, edits, channel changes...)."""
        self.stats[f"ignored:{str(event.get('type', '?'))[:40]}"] += 1

    async def _ack_only(self, ack: AsyncAck) -> None:
        await ack()

    async def _no_options(self, ack: AsyncAck) -> None:
        await ack(options=[])

    async def _only_our_workspace(
        self, body: dict[str, Any], context: AsyncBoltContext, next: Any
    ) -> Any:
        """Events and commands of other workspaces are acknowledged and dropped (logged)."""
        team_of = body.get("team")
        team = str(
            body.get("team_id")
            or (team_of.get("id") if isinstance(team_of, dict) else None)
            or context.team_id
            or ""
        )
        allowed = self.team_ids
        if allowed and team and team not in allowed:
            self.stats["foreign_team"] += 1
            log.warning("slack: a request from workspace %s, not ours; ignored", team[:20])
            return BoltResponse(status=200, body="")
        return await next()

    async def _store(self, event: Incoming) -> None:
        """Put an event in the inbox (raises when the store is down: Bolt answers 500)."""
        new = await self.runtime.core.accept(event)
        self.stats["stored" if new else "duplicate"] += 1

    async def prepare(self, event: Incoming) -> Incoming:
        """Complete a stored event before it is handled: the person's name and language
        (users.info, cached) and, for a slash command, the DM where its answers go."""
        user = await self.users.user(event.user_id)
        changes: dict[str, Any] = {}
        if user is not None:
            changes["locale"] = event.locale or user.locale
            changes["display_name"] = event.display_name or user.name
        if event.hints.get("reply_in") == "dm":
            dm = await self.users.dm(event.user_id)
            if dm:
                changes["chat_id"] = dm
                changes["chat_kind"] = "dm"
        return replace(event, **changes) if changes else event

    async def after(self, event: Incoming, outcome: str) -> None:
        """A stored profile form refreshes the App Home."""
        self.stats[f"form:{outcome}" if event.form is not None else outcome] += 1
        if event.form is not None and event.form.get("name") == "profile":
            await self.publish_home(event.user_id, event.chat_id)

    async def _on_message(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        """A person wrote in a DM, a channel or a thread the bot is in."""
        bot = context.bot_user_id or self.bot_user_id
        if not is_user_message(event, bot):
            return
        if event.get("channel_type") != "im" and mentions(str(event.get("text") or ""), bot):
            return  # the same message comes as app_mention, answered there
        async with self._busy():
            incoming = message_incoming(body, event, bot, None)
            if incoming is not None:
                await self._store(self._personal_to_dm(incoming))

    def _personal_to_dm(self, event: Incoming) -> Incoming:
        """A personal command written in a channel is answered in the person's DM."""
        if event.chat_kind == "dm" or event.command is None:
            return event
        route = self.runtime.core.router.commands.get(event.command)
        if route is None or route.group:
            return event
        return replace(event, thread_id=None, hints={**event.hints, "reply_in": "dm"})

    async def _on_mention(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        """`@peerbot …` in a channel: a question is answered in the message's thread, a
        personal command in the person's DM."""
        bot = context.bot_user_id or self.bot_user_id
        if not event.get("user") or event.get("user") == SLACKBOT or event.get("bot_id"):
            return
        async with self._busy():
            incoming = mention_incoming(body, event, bot)
            if incoming is not None:
                await self._store(self._personal_to_dm(incoming))

    async def _on_member_joined(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        """Someone joined the programme's channel: invited, in a DM, to join the programme."""
        channel = str(event.get("channel") or "")
        user = str(event.get("user") or "")
        if (
            not user
            or user == self.bot_user_id
            or channel != self.runtime.settings.slack_channel_id
        ):
            return
        async with self._busy():
            update = f"joined:{body.get('event_id') or channel + ':' + user}"
            event_in = text_incoming(user, user, "/start", None, update)
            await self._store(replace(event_in, hints={"reply_in": "dm"}))

    async def _on_uninstalled(self, event: dict[str, Any]) -> None:
        """The workspace removed the app or revoked its tokens: stop sending there."""
        log.error("slack: %s; nothing more is sent to this workspace", event.get("type"))
        for messenger in (self.messenger, self.outbox_messenger):
            messenger.revoked = True
            messenger.config_error = str(event.get("type") or "app_uninstalled")

    async def _on_command(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """`/peerbot <sub> args`: stored, answered in the user's DM."""
        user_id = str(body.get("user_id") or "")
        if not user_id:
            await ack()
            return  # Slack always says who ran the command
        raw = str(body.get("text") or "")
        async with self._busy():
            if opens_form(raw) and await self._open_form(user_id, body.get("trigger_id")):
                await ack()
                return
            if opens_plan(raw) and await self._open_plan(user_id, body.get("trigger_id")):
                await ack()
                return
            trigger = body.get("trigger_id")
            if opens_application(raw) and await self._open_application(user_id, trigger):
                await ack()
                return
            where = str(body.get("channel_id") or user_id)
            known = self.runtime.core.router.commands
            event = command_incoming(body, where, None, text=command_text(raw, known))
            await self._store(replace(event, hints={**event.hints, "reply_in": "dm"}))
        await ack()

    async def _on_choice(self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        """A choice button of one of our messages."""
        user_id = str((body.get("user") or {}).get("id", ""))
        if user_id:
            async with self._busy():
                incoming = action_incoming(body, action, None)
                if incoming is not None:
                    await self._store(incoming)
        await ack()

    async def _on_home_opened(self, event: dict[str, Any]) -> None:
        """Show the profile (or the welcome) on the App Home tab (after the answer to Slack)."""
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        user_id = str(event["user"])
        self._spawn(self.publish_home(user_id, event.get("channel")))

    async def _on_home_form(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """Join / Edit profile on the App Home: the modal (or the step-by-step flow)."""
        user_id = str((body.get("user") or {}).get("id", ""))
        async with self._busy():
            if not await self._open_form(user_id, body.get("trigger_id")):
                await self._say(user_id, "/start", body)
        await ack()

    async def _on_home_ask(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        """Ask a question on the App Home: the core asks what, in the DM."""
        async with self._busy():
            await self._say(str((body.get("user") or {}).get("id", "")), "/ask", body)
        await ack()

    async def _say(self, user_id: str, text: str, body: dict[str, Any]) -> None:
        if not user_id:
            return
        trigger = str(body.get("trigger_id") or time.time())
        event = text_incoming(user_id, user_id, text, None, f"act:{trigger}")
        await self._store(replace(event, hints={"reply_in": "dm"}))

    def _spawn(self, coro: Any) -> None:
        async def counted() -> None:
            async with self._busy():
                await coro

        task = asyncio.create_task(counted())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- the profile modal ---------------------------------------------------------------

    # -- modals: the profile, the learning plan, the cycle application -------------------------

    async def _probe(
        self, user_id: str, trigger_id: object
    ) -> tuple[Incoming, str, SlackUser | None] | None:
        """An empty event from the user's DM (for a feature to say what the modal shows), the
        DM and the user; None when no modal can be opened (no trigger, no DM)."""
        if not trigger_id:
            return None
        user = await self.users.user(user_id)
        dm = await self.users.dm(user_id)
        if dm is None:
            return None
        return text_incoming(user_id, dm, "", user, ""), dm, user

    async def _show(self, trigger_id: object, view: dict[str, Any], what: str) -> bool:
        """views.open; False (the chat's step-by-step flow then answers) when Slack refuses."""
        try:
            await self.messenger.call(
                lambda: self.client.views_open(trigger_id=str(trigger_id), view=view)
            )
        except DeliveryError as exc:
            log.warning("views.open (%s) failed (%s); the chat flow answers instead", what, exc)
            return False
        return True

    def _submitted(self, view: dict[str, Any]) -> tuple[dict[str, Any], str, Any, Any]:
        """A submitted modal's metadata, locale, content and state values (forged metadata
        reads as none)."""
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
        except json.JSONDecodeError:
            meta = {}
        if not isinstance(meta, dict):
            meta = {}
        locale = str(meta.get("locale") or self.runtime.settings.default_locale)
        values = (view.get("state") or {}).get("values") or {}
        return meta, locale, self.runtime.content.current, values

    async def _store_form(
        self, body: dict[str, Any], view: dict[str, Any], name: str, answers: dict[str, Any]
    ) -> None:
        """A valid submission, stored in the inbox as a form event for the core to handle."""
        user_id = str((body.get("user") or {}).get("id", ""))
        if user_id:
            update = f"view:{view.get('id', '')}:{view.get('hash', '')}"
            event = text_incoming(user_id, user_id, "", None, update)
            form = {"name": name, "answers": answers}
            async with self._busy():
                await self._store(replace(event, form=form, hints={"reply_in": "dm"}))

    async def _open_form(self, user_id: str, trigger_id: object) -> bool:
        """views.open the onboarding/profile modal; False when it cannot be shown."""
        found = await self._probe(user_id, trigger_id)
        if found is None:
            return False
        probe, dm, user = found
        profile = await profile_surfaces.profile_of(self.runtime.core, probe, self.messenger)
        locale = profile.locale
        prefill = profile.prefill or Prefill(
            name=(user.real_name or "") if user else "",
            timezone=(user.tz or "") if user else "",
            languages=(locale,) if locale in EU_LANGUAGES else (),
        )
        content = self.runtime.content.current
        view = profile_modal(
            Texts(content, locale),
            Choices.of(content, locale),
            prefill,
            {"dm": dm, "locale": locale},
        )
        return await self._show(trigger_id, view, "profile")

    async def _on_form(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        """The submitted modal: inline errors, or the profile stored through the core."""
        _, locale, content, values = self._submitted(view)
        data, errors = read_form(values, Texts(content, locale), Choices.of(content, locale))
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await self._store_form(body, view, "profile", data)
        await ack()

    async def _open_plan(self, user_id: str, trigger_id: object) -> bool:
        """views.open the plan modal; False (the chat's `/plan` then answers) for someone
        without an authority, or when Slack refuses it."""
        found = await self._probe(user_id, trigger_id)
        if found is None:
            return False
        probe, dm, _ = found
        surface = await plan_surface(self.runtime.core, probe, self.messenger)
        if not surface.may_plan:
            return False
        content = self.runtime.content.current
        view = plan_modal(
            Texts(content, surface.locale),
            Choices.of(content, surface.locale),
            surface.plan,
            {"dm": dm, "locale": surface.locale},
        )
        return await self._show(trigger_id, view, "plan")

    async def _on_plan_form(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        """The submitted plan: inline errors, or the plan saved through the core."""
        _, locale, content, values = self._submitted(view)
        typed, errors = read_plan_modal(
            values,
            Texts(content, locale),
            content.taxonomy.codes("instruments"),
            content.taxonomy.codes("sectors"),
            self.runtime.clock.now().date(),
        )
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await self._store_form(body, view, "plan", typed)
        await ack()

    async def _open_application(self, user_id: str, trigger_id: object) -> bool:
        """views.open the application to the open cycle; False when the caller cannot apply
        (the chat flow then says why) or the modal cannot be shown."""
        found = await self._probe(user_id, trigger_id)
        if found is None:
            return False
        probe, dm, _ = found
        form = await read_application(self.runtime.core, probe, self.messenger)
        if form.refused is not None or form.cycle_id is None:
            return False
        content = self.runtime.content.current
        view = application_modal(
            Texts(content, form.locale),
            Choices.of(content, form.locale),
            form.cycle,
            (form.starts, form.ends),
            (form.wants, form.offers),
            {"dm": dm, "locale": form.locale, "cycle": form.cycle_id},
        )
        return await self._show(trigger_id, view, "cycle application")

    async def _on_application(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]
    ) -> None:
        """The submitted application: inline errors, or stored for the core to record."""
        meta, locale, content, values = self._submitted(view)
        data, errors = read_application_form(
            values, Texts(content, locale), Choices.of(content, locale)
        )
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        cycle = meta.get("cycle")
        if isinstance(cycle, int):
            await self._store_form(body, view, "cycle_apply", {**data, "cycle": cycle})
        await ack()

    async def publish_home(
        self, user_id: str, dm: str | None = None, user: SlackUser | None = None
    ) -> None:
        """views.publish the App Home of a user from their current profile."""
        user = user or await self.users.user(user_id)
        dm = dm or await self.users.dm(user_id) or user_id
        probe = text_incoming(user_id, dm, "", user, "")
        profile = await profile_surfaces.profile_of(self.runtime.core, probe, self.messenger)
        view = home_view(Texts(self.runtime.content.current, profile.locale), profile.text)
        try:
            await self.messenger.call(lambda: self.client.views_publish(user_id=user_id, view=view))
        except DeliveryError as exc:
            log.warning("views.publish for %s failed: %s", user_id, exc)


async def create_slack(runtime: Runtime, web_app: web.Application) -> SlackAdapter:
    """Make the adapter, register its messenger and (HTTP mode) the `/slack/events` route."""
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT))
    adapter = SlackAdapter(runtime, session)
    runtime.messengers["slack"] = adapter.outbox_messenger
    runtime.doors["slack"] = Door(adapter.messenger, prepare=adapter.prepare, after=adapter.after)
    if not adapter.socket_mode:
        web_app.router.add_post(EVENTS_PATH, adapter.handle_http)
    return adapter
