"""The Slack adapter end to end: the real slack-bolt AsyncApp behind the shared aiohttp server,
signed requests like Slack's, and the emulated Web API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import func, make_url, select

from bot.app import Runtime, build
from bot.config import Settings
from bot.http import make_web_app, serve
from bot.slack import translate
from bot.slack.adapter import SlackAdapter, create_slack
from bot.slack.messenger import SlackConfigError, SlackMessenger, channel_name, render
from handlers.core import choices as signed
from handlers.core.clock import FrozenClock
from handlers.core.ports import RateLimited, TransientError, Undeliverable
from handlers.core.replies import Choice, Reply
from storage.models import Identity, InboxItem, Officer, OfficerStatus
from storage.uow import UnitOfWork
from tests.conftest import PG_URL
from tests.support.emulators.slack_api import RateLimits, SlackApiEmulator, SlackEvents
from tests.support.paths import REPO_ROOT

SECRET = "peerbot-test-signing-secret"
DM1 = SlackApiEmulator.dm_channel("U1")


@dataclass
class Bot:
    runtime: Runtime
    adapter: SlackAdapter
    slack: SlackEvents
    api: SlackApiEmulator
    port: int

    async def settle(self, within: float = 8.0) -> None:
        """Wait until the adapter finished what the last deliveries started."""
        assert await self.adapter.idle(within), "the adapter is still busy"


async def eventually(check: Callable[[], Any], within: float = 5.0, what: str = "it") -> Any:
    """Poll until `check()` is truthy."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
async def api() -> AsyncIterator[SlackApiEmulator]:
    async with SlackApiEmulator() as emulator:
        emulator.add_user("U1", "Marie Dubois", tz="Europe/Brussels", locale="en-US")
        emulator.add_user("U2", "<!channel> Piet", tz="Europe/Amsterdam", locale="nl-NL")
        yield emulator


def slack_settings(settings: Settings, api: SlackApiEmulator, **extra: Any) -> Settings:
    return settings.model_copy(
        update={
            "slack_bot_token": api.token,
            "slack_signing_secret": SECRET,
            "slack_api_base_url": api.base_url,
            **extra,
        }
    )


@asynccontextmanager
async def running(
    settings: Settings, clock: FrozenClock, api: SlackApiEmulator, **extra: Any
) -> AsyncIterator[Bot]:
    """A runtime with the Slack adapter served on a free port, as `bot.app.run` builds it."""
    runtime = await build(slack_settings(settings, api, **extra), clock=clock)
    web_app = make_web_app(runtime)
    adapter = await create_slack(runtime, web_app)
    runtime.adapters.append(adapter)
    runner = await serve(web_app, "127.0.0.1", 0)
    port = int(runner.addresses[0][1])
    await adapter.start()
    slack = SlackEvents(f"http://127.0.0.1:{port}/slack/events", SECRET, api)
    try:
        yield Bot(runtime, adapter, slack, api, port)
    finally:
        await slack.close()
        await adapter.stop()
        await runner.cleanup()
        await runtime.close()


@pytest.fixture
async def bot(settings: Settings, clock: FrozenClock, api: SlackApiEmulator) -> AsyncIterator[Bot]:
    async with running(settings, clock, api) as started:
        yield started


async def stored_officers(runtime: Runtime) -> list[Officer]:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        return list(await uow.officers.list())


async def count(runtime: Runtime, model: type[Any]) -> int:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        return int(
            (await uow.session.execute(select(func.count()).select_from(model))).scalar_one()
        )


ANSWERS: dict[str, Any] = {
    "consent": ["yes"],
    "name": "Marie Dubois",
    "authority": "Ghent",
    "country": "BE",
    "role": "Energy manager",
    "languages": ["en", "fr"],
    "timezone": "europe/brussels",
    "sectors": ["public_lighting", "public_buildings"],
    "wants": ["epc", "green_bond"],
    "offers": ["revolving_fund"],
    "practice": "A revolving fund financed 12 school retrofits since 2018.",
}


async def open_modal(bot: Bot, user: str = "U1") -> dict[str, Any]:
    delivery = await bot.slack.command(user, "join")
    assert delivery.status == 200 and delivery.elapsed < 3
    await bot.settle()
    opened = [c for c in bot.api.calls_to("views.open") if c.response.get("ok")]
    assert opened, [c.response for c in bot.api.calls_to("views.open")]
    return dict(opened[-1].response["view"])


def initial(view: dict[str, Any], block_id: str) -> Any:
    block = next(b for b in view["blocks"] if b.get("block_id") == block_id)
    element = block["element"]
    if "initial_options" in element:
        return [o["value"] for o in element["initial_options"]]
    if "initial_option" in element:
        return element["initial_option"]["value"]
    return element.get("initial_value")


# -- onboarding ------------------------------------------------------------------------------


async def test_a_new_officer_onboards_by_the_modal(bot: Bot) -> None:
    view = await open_modal(bot)
    assert initial(view, "name") == "Marie Dubois"  # from users.info real_name
    assert initial(view, "timezone") == "Europe/Brussels"  # from users.info tz
    assert initial(view, "languages") == ["en"]  # from users.info locale

    missing = await bot.slack.submit("U1", view, {**ANSWERS, "consent": []})
    assert missing.status == 200
    assert missing.json()["response_action"] == "errors"
    assert set(missing.json()["errors"]) == {"consent"}

    forged = await bot.slack.submit(
        "U1", view, {**ANSWERS, "country": "US", "sectors": ["rockets"], "timezone": "Mars/Base"}
    )
    assert set(forged.json()["errors"]) == {"country", "sectors", "timezone"}
    await bot.settle()
    assert await stored_officers(bot.runtime) == []

    done = await bot.slack.submit("U1", view, ANSWERS)
    assert done.status == 200 and done.body == "" and done.elapsed < 3
    await bot.settle()
    [marie] = await stored_officers(bot.runtime)
    assert marie.name == "Marie Dubois" and marie.status == OfficerStatus.ACTIVE
    assert marie.authority is not None
    assert (marie.authority.name, marie.authority.country) == ("Ghent", "BE")
    assert marie.job_title == "Energy manager"
    assert marie.languages == ["en", "fr"] and marie.timezone == "Europe/Brussels"
    assert marie.sectors == ["public_lighting", "public_buildings"]
    assert (marie.wants, marie.offers) == (["epc", "green_bond"], ["revolving_fund"])
    assert marie.consent_at is not None and marie.consent_source == "slack"
    [identity] = marie.identities
    assert (identity.platform, identity.user_id, identity.dm_chat_id) == ("slack", "U1", DM1)
    assert "you are in" in bot.api.transcript(DM1)
    home = bot.api.home["U1"]
    home_text = "".join(b["text"]["text"] for b in home["blocks"] if b["type"] == "section")
    assert "Marie Dubois" in home_text and "Ghent (Belgium)" in home_text
    assert "Public lighting" in home_text and "Revolving fund" in home_text

    # The same submission delivered again changes nothing.
    again = await bot.slack.submit("U1", {**view}, ANSWERS)
    assert again.status == 200
    await bot.settle()
    assert len(await stored_officers(bot.runtime)) == 1


async def test_the_home_tab_offers_join_then_shows_the_profile(bot: Bot) -> None:
    await bot.slack.home_opened("U1")
    await bot.settle()
    home = bot.api.home["U1"]
    assert [el["action_id"] for el in home["blocks"][-1]["elements"]] == ["home-join"]
    await bot.slack.home_action("U1", "home-join")
    await bot.settle()
    view = dict(bot.api.calls_to("views.open")[-1].response["view"])
    await bot.slack.submit("U1", view, ANSWERS)
    await bot.settle()
    home = bot.api.home["U1"]
    assert [el["action_id"] for el in home["blocks"][-1]["elements"]] == ["home-edit", "home-ask"]

    # Edit: the modal opens pre-filled with the stored profile.
    await bot.slack.home_action("U1", "home-edit")
    await bot.settle()
    edit = dict(bot.api.calls_to("views.open")[-1].response["view"])
    assert initial(edit, "authority") == "Ghent" and initial(edit, "country") == "BE"
    assert sorted(initial(edit, "sectors")) == ["public_buildings", "public_lighting"]
    await bot.slack.submit("U1", edit, {**ANSWERS, "role": "Finance officer"})
    await bot.settle()
    [marie] = await stored_officers(bot.runtime)
    assert marie.job_title == "Finance officer"

    await bot.slack.home_action("U1", "home-ask")
    await bot.settle()
    assert "What would you like to know?" in bot.api.last(DM1).text


@pytest.mark.skipif(bool(PG_URL), reason="SQLite's single writer lock")
async def test_the_modal_opens_while_another_writer_holds_the_database(bot: Bot) -> None:
    """Opening the modal only reads: it must fit Slack's 3 s trigger window even while another
    process holds SQLite's write lock (an insert would wait out the 30 s busy timeout)."""
    path = make_url(bot.runtime.settings.database_url).database or ""
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        await bot.slack.home_action("U1", "home-join")
        await eventually(lambda: bot.api.calls_to("views.open"), within=3.0, what="views.open")
    finally:
        other.execute("ROLLBACK")
        other.close()
    await bot.settle()


async def test_the_same_onboarding_works_step_by_step_in_the_dm(bot: Bot) -> None:
    bot.api.fail("views.open", status=200, error="expired_trigger_id")
    slack, api = bot.slack, bot.api

    async def say(text: str) -> None:
        assert (await slack.message("U1", text)).status == 200
        await bot.settle()

    async def press(label: str) -> None:
        assert (await slack.press("U1", DM1, label)).status == 200
        await bot.settle()

    await slack.command("U1", "join")  # the modal cannot open: the flow runs in the DM
    await bot.settle()
    assert "your consent" in api.transcript(DM1)
    await press("I agree")
    await press("Marie Dubois")  # the name Slack knows, offered as a button
    await say("Ghent")
    await say("Belgium")
    await say("Energy manager")
    await press("French")
    toggled = api.last(DM1)
    ticked = [b["text"]["text"] for b in toggled.buttons() if b.get("style") == "primary"]
    assert toggled.edits == 1 and ticked == ["✓ English", "✓ French"]
    await press("Done")
    await press("Europe/Brussels")
    await press("Public lighting")
    await press("Done")
    await press("Done")
    await press("Done")
    assert "you are in" in api.transcript(DM1)
    [marie] = await stored_officers(bot.runtime)
    assert marie.authority is not None and marie.authority.country == "BE"
    assert "fr" in marie.languages and marie.sectors == ["public_lighting"]
    assert bot.adapter.stats["error"] == 0


# -- security and delivery -------------------------------------------------------------------


async def test_a_forged_signature_is_refused_and_nothing_is_stored(bot: Bot) -> None:
    forged = await bot.slack.message("U1", "/start", forge=True)
    assert forged.status == 401
    command = await bot.slack.command("U1", "join", forge=True)
    assert command.status == 401
    await bot.settle()
    assert bot.api.count("chat.postMessage") == 0 and bot.api.count("views.open") == 0
    assert await count(bot.runtime, Identity) == 0


async def test_a_request_older_than_five_minutes_is_refused(bot: Bot) -> None:
    stale = await bot.slack.message("U1", "/help", timestamp=int(time.time()) - 400)
    assert stale.status == 401
    fresh = await bot.slack.message("U1", "/help", timestamp=int(time.time()) - 200)
    assert fresh.status == 200
    await bot.settle()
    assert bot.api.count("chat.postMessage") == 1


async def test_a_retried_event_is_handled_once(bot: Bot) -> None:
    event = bot.slack.message_event("U1", "/help")
    first = await bot.slack.event(event, event_id="Ev0DUPLICATE")
    retry = await bot.slack.event(event, event_id="Ev0DUPLICATE", retry_num=1)
    assert (first.status, retry.status) == (200, 200)
    await bot.settle()
    assert len(bot.api.messages_to(DM1)) == 1
    assert await count(bot.runtime, InboxItem) == 1
    assert bot.adapter.stats["duplicate"] == 1


async def test_slack_gets_its_answer_within_3_s_while_a_reply_is_slow(bot: Bot) -> None:
    # Slack leaves the replies unanswered until the test lets them through: the events are
    # acknowledged while their replies are still waiting, however long those take.
    posting = bot.api.hold("chat.postMessage")
    delivery = await asyncio.wait_for(bot.slack.message("U1", "/help"), 3)
    assert delivery.status == 200 and delivery.elapsed < 1.0
    opening = bot.api.hold("conversations.open")
    command = await asyncio.wait_for(bot.slack.command("U2", "help"), 3)
    assert command.status == 200 and command.elapsed < 1.0
    await eventually(
        lambda: bot.api.held["chat.postMessage"] == bot.api.held["conversations.open"] == 1,
        what="both replies waiting at Slack",
    )
    assert not bot.api.messages_to(DM1)
    posting.set()
    opening.set()
    await bot.settle(within=10)
    assert len(bot.api.messages_to(DM1)) == 1
    assert len(bot.api.messages_to(SlackApiEmulator.dm_channel("U2"))) == 1


async def test_a_huge_message_with_odd_unicode_does_not_crash(bot: Bot) -> None:
    odd = "é\u0301 👩🏽‍🚒 \u202eevil\u202c \u200b\x00 \ud800 ﷽ 𝔘𝔫𝔦 "
    text = (odd * 1000)[:20_000]
    delivery = await bot.slack.message("U1", text)
    assert delivery.status == 200
    await bot.settle()
    assert bot.adapter.stats["error"] == 0
    assert bot.api.messages_to(DM1), "the bot answered"
    assert "went wrong" not in bot.api.transcript(DM1)


async def test_mentions_in_user_text_are_escaped_in_what_the_bot_posts(bot: Bot) -> None:
    view = await open_modal(bot, "U2")
    assert initial(view, "name") == "<!channel> Piet"  # an input value, shown literally
    name = "<!here> Piet <https://evil.example|click> & co"
    await bot.slack.submit("U2", view, {**ANSWERS, "name": name, "authority": "<!channel>"})
    await bot.settle()
    dm = SlackApiEmulator.dm_channel("U2")
    posts = bot.api.calls_to("chat.postMessage")
    assert posts
    for call in posts + bot.api.calls_to("views.publish"):
        dumped = str(call.args)
        assert "<!here>" not in dumped and "<!channel>" not in dumped and "<https:" not in dumped
    assert "&lt;!here&gt; Piet &lt;https://evil.example|click&gt; &amp; co" in bot.api.transcript(
        dm
    )
    # What Slack sends escaped reaches the core as typed, and goes back escaped.
    await bot.slack.message("U2", "/language &lt;!channel&gt;")
    await bot.settle()
    assert "&lt;!channel&gt;" in bot.api.last(dm).text


async def test_a_forged_button_gets_the_expired_reply(bot: Bot) -> None:
    await bot.slack.message("U1", "/help")
    await bot.settle()
    ts = bot.api.last(DM1).ts
    await bot.slack.action("U1", DM1, ts, "choice-0", "onb:yes~AAAAAAAAAA")
    await bot.settle()
    assert "expired" in bot.api.last(DM1).text
    # A genuine value, but signed for another chat.
    other = signed.sign(bot.runtime.core.secret, "DU2", "onb:yes")
    await bot.slack.action("U1", DM1, ts, "choice-0", other)
    await bot.settle()
    assert "expired" in bot.api.last(DM1).text
    assert bot.adapter.stats["expired"] == 2


async def test_bot_messages_edits_and_channel_threads(bot: Bot) -> None:
    await bot.slack.message("U1", "hello", subtype="message_changed")
    await bot.slack.message("U1", "hello", bot_id="B999")
    await bot.slack.message("UPEERBOT", "my own words")
    await bot.settle()
    assert bot.api.count("chat.postMessage") == 0
    # a mention in a channel's thread comes twice, as a message and as app_mention: one answer
    await bot.slack.message(
        "U1", "<@UPEERBOT> /help", channel="C777", channel_type="channel", thread_ts="1700.000001"
    )
    mention = {
        "type": "app_mention",
        "user": "U1",
        "text": "<@UPEERBOT> /help",
        "ts": "1700.000002",
        "thread_ts": "1700.000001",
        "channel": "C777",
        "event_ts": "1700.000002",
    }
    await bot.slack.event(mention)
    await bot.settle()
    [reply] = bot.api.messages_to("C777")
    assert reply.thread_ts == "1700.000001" and "/peerbot profile" in reply.text


async def test_healthz_reports_slack(bot: Bot) -> None:
    from aiohttp import ClientSession

    async with ClientSession() as http, http.get(f"http://127.0.0.1:{bot.port}/healthz") as resp:
        assert resp.status == 200
        assert (await resp.json())["adapters"] == {"slack": "ok"}


async def test_the_outbox_reschedules_on_slack_429_and_keeps_the_order(bot: Bot) -> None:
    from handlers.delivery.outbox import OutboxWorker, payload
    from storage.models import Outbox, OutboxStatus

    caps = bot.runtime.messengers["slack"].capabilities
    assert (caps.per_chat_interval, caps.rate_per_second) == (1.0, 10.0)
    # A reply sent just before takes the channel's only token, so the first queued message
    # meets a 429 and the two behind it must not overtake it.
    bot.api.reset_limits(RateLimits(per_channel_per_second=1.0, per_channel_burst=1))
    assert await bot.runtime.messengers["slack"].send(DM1, Reply("zero"))
    async with UnitOfWork(bot.runtime.sessionmaker) as uow:
        for n in ("one", "two", "three"):
            await uow.outbox.enqueue(f"k-{n}", "slack", DM1, payload(n))
        await uow.commit()
    worker = OutboxWorker(bot.runtime.sessionmaker, bot.runtime.messengers)

    async def all_sent() -> bool:
        await worker.tick()
        async with UnitOfWork(bot.runtime.sessionmaker) as uow:
            rows = (await uow.session.execute(select(Outbox))).scalars().all()
        assert all(
            r.status in (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.SENT)
            for r in rows
        )
        return all(r.status == OutboxStatus.SENT for r in rows)

    deadline = time.monotonic() + 12
    while not await all_sent():
        assert time.monotonic() < deadline, "the outbox did not finish"
        await asyncio.sleep(0.1)
    assert [m.text for m in bot.api.messages_to(DM1)] == ["zero", "one", "two", "three"]
    assert bot.api.count("chat.postMessage", ok=False) >= 1  # 429s were met and waited out


# -- the messenger ---------------------------------------------------------------------------


@pytest.fixture
def client(api: SlackApiEmulator) -> AsyncWebClient:
    return AsyncWebClient(token=api.token, base_url=api.base_url, retry_handlers=[], timeout=2)


async def test_messenger_maps_slack_errors(api: SlackApiEmulator, client: AsyncWebClient) -> None:
    messenger = SlackMessenger(client)
    hello = Reply("hello")
    api.missing_channels.add("C404")
    api.archived_channels.add("COLD")
    api.inactive_users.add("U9")
    for channel in ("C404", "COLD", "DU9"):
        with pytest.raises(Undeliverable):
            await messenger.send(channel, hello)
    api.fail("chat.postMessage", status=500)
    with pytest.raises(TransientError):
        await messenger.send(DM1, hello)
    api.fail("chat.postMessage", status=200, error="fatal_error")
    with pytest.raises(TransientError):
        await messenger.send(DM1, hello)
    api.delay("chat.postMessage", 0.6, count=1)
    answered = api.count("chat.postMessage")
    hasty = AsyncWebClient(token=api.token, base_url=api.base_url, retry_handlers=[], timeout=0.3)
    with pytest.raises(TransientError):
        await SlackMessenger(hasty).send(DM1, hello)
    # The emulator still answers the call the client gave up on. Let it, before the rate check:
    # on a loaded machine it would otherwise take the token meant for the next send.
    async with asyncio.timeout(60):  # a deadlock guard, not a timing
        while api.count("chat.postMessage") == answered:  # noqa: ASYNC110 - the emulator counts answered calls, it signals none
            await asyncio.sleep(0.01)
    api.reset_limits(RateLimits(per_channel_per_second=1, per_channel_burst=1))
    assert await messenger.send(DM1, hello)
    with pytest.raises(RateLimited) as limited:
        await messenger.send(DM1, hello)
    assert limited.value.retry_after >= 1
    bad = SlackMessenger(AsyncWebClient(token="xoxb-wrong", base_url=api.base_url))
    with pytest.raises(SlackConfigError):
        await bad.send(DM1, hello)
    assert bad.config_error and not isinstance(
        SlackConfigError("x"), Undeliverable | TransientError
    )


async def test_the_interactive_messenger_waits_out_a_short_429(
    api: SlackApiEmulator, client: AsyncWebClient
) -> None:
    patient = SlackMessenger(client, patient=True, max_wait=2)
    api.reset_limits(RateLimits(per_channel_per_second=2, per_channel_burst=1))
    assert await patient.send(DM1, Reply("one"))
    assert await patient.send(DM1, Reply("two"))  # 429 Retry-After 1, then sent
    assert [m.text for m in api.messages_to(DM1)] == ["one", "two"]
    assert api.count("chat.postMessage", ok=False) == 1


async def test_long_replies_fit_slack_limits(api: SlackApiEmulator, client: AsyncWebClient) -> None:
    messenger = SlackMessenger(client)
    text = "\n".join(f"Line {i}: <b>&amp; {'x' * (i % 300)}" for i in range(2000))
    choices = tuple(Choice(f"c:{i}~sig", f"Option {i} " + "é" * 80, i % 2 == 0) for i in range(60))
    ts = await messenger.send(DM1, Reply(text, choices, multi=True))
    posted = api.messages_to(DM1)
    assert api.count("chat.postMessage", ok=False) == 0 and len(posted) > 1
    assert ts == posted[-1].ts and len(posted[-1].buttons()) == 60
    assert all(len(m.blocks) <= 50 for m in posted)
    shown = translate.unescape("".join(m.block_text() for m in posted))
    assert shown.replace("\n", "") == text.replace("\n", "")
    assert posted[-1].buttons()[0]["text"]["text"].startswith("✓ Option 0")
    edited = await messenger.edit(DM1, posted[0].ts, Reply(text, choices, multi=True))
    assert edited == posted[0].ts and api.count("chat.update", ok=True) == 1


def test_render_splits_sections_and_button_rows() -> None:
    [(fallback, blocks)] = render(
        Reply("a < b" * 700, tuple(Choice(str(i), "x") for i in range(30)))
    )
    assert [b["type"] for b in blocks] == ["section", "section", "actions", "actions"]
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks if b["type"] == "section")
    assert "<" not in fallback and len(fallback) <= 3000
    assert [len(b["elements"]) for b in blocks if b["type"] == "actions"] == [25, 5]


async def test_create_space_opens_a_private_channel(
    api: SlackApiEmulator, client: AsyncWebClient
) -> None:
    messenger = SlackMessenger(client)
    first, thread = await messenger.create_space("Pair: Ghent ↔ Lyon (EPC)", ["U1", "U2"])
    second, _ = await messenger.create_space("Pair: Ghent ↔ Lyon (EPC)", ["U1"])
    assert thread is None and first != second
    assert api.channels[first]["name"] == "pair-ghent-lyon-epc" and api.channels[first]["private"]
    assert {"U1", "U2"} <= api.channels[first]["members"]
    assert channel_name("Économie ÉNERGIE!!") == "economie-energie"


# -- translation -----------------------------------------------------------------------------


def test_translate_messages_commands_and_actions() -> None:
    body = {"event_id": "Ev1"}
    user = translate.SlackUser("U1", name="Marie", locale="fr-BE")
    event = {
        "type": "message",
        "user": "U1",
        "channel": "G1",
        "channel_type": "group",
        "text": "<@UBOT> what is &lt;ELENA&gt; &amp; co?",
        "ts": "1.2",
        "thread_ts": "1.0",
    }
    incoming = translate.message_incoming(body, event, "UBOT", user)
    assert incoming is not None
    assert (incoming.chat_kind, incoming.text) == ("group", "what is <ELENA> & co?")
    assert (incoming.thread_id, incoming.message_id, incoming.update_id) == ("1.0", "1.2", "ev:Ev1")
    assert incoming.locale == "fr-BE"
    for changed in ({"subtype": "message_changed"}, {"bot_id": "B1"}, {"user": "UBOT"}):
        assert translate.message_incoming(body, {**event, **changed}, "UBOT", user) is None
    assert translate.plain("hi <@U7> see <https://x.eu/a|the guide> <!here> &lt;b&gt;") == (
        "hi @U7 see the guide @here <b>"
    )
    assert translate.plain("<#C1|general> <mailto:a@b.eu|a@b.eu> <https://x.eu>") == (
        "#general a@b.eu https://x.eu"
    )
    assert translate.command_text("") == "/help"
    assert translate.command_text("join ABC123") == "/start ABC123"
    assert translate.command_text("ask how to fund LEDs?") == "/ask how to fund LEDs?"
    assert translate.opens_form("join") and not translate.opens_form("join CODE")
    action = {"action_id": "choice-0", "value": "onb:yes~sig", "action_ts": "9.9"}
    pressed = translate.action_incoming(
        {"container": {"channel_id": "D1", "message_ts": "5.5"}, "user": {"id": "U1"}},
        action,
        user,
    )
    assert pressed is not None and (pressed.chat_id, pressed.message_id) == ("D1", "5.5")
    assert pressed.choice == "onb:yes~sig" and pressed.chat_kind == "dm"


async def test_socket_mode_is_used_when_an_app_token_is_set(
    settings: Settings, clock: FrozenClock, api: SlackApiEmulator
) -> None:
    runtime = await build(slack_settings(settings, api, slack_app_token="xapp-1-test"), clock=clock)
    web_app = make_web_app(runtime)
    adapter = await create_slack(runtime, web_app)
    try:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        assert isinstance(adapter.socket, AsyncSocketModeHandler)
        assert all(
            r.resource is None or "/slack" not in r.resource.canonical
            for r in web_app.router.routes()
        )
        assert runtime.messengers["slack"] is adapter.outbox_messenger
    finally:
        await adapter.stop()
        await runtime.close()


def test_the_app_manifest_matches_the_adapter() -> None:

    import yaml

    manifest = yaml.safe_load((REPO_ROOT / "slack-app-manifest.yaml").read_text("utf-8"))
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "im:write", "users:read", "commands", "groups:write"} <= scopes
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == Settings.model_fields["slack_command"].default
    settings = manifest["settings"]
    for url in (command["url"], settings["interactivity"]["request_url"]):
        assert url.endswith("/slack/events")
    assert settings["event_subscriptions"]["request_url"].endswith("/slack/events")
    assert {"app_home_opened", "message.im"} <= set(settings["event_subscriptions"]["bot_events"])
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True


async def test_a_refused_token_stops_start_up_in_one_line(
    settings: Settings, clock: FrozenClock, api: SlackApiEmulator
) -> None:
    from bot.config import SettingsError

    runtime = await build(
        slack_settings(settings, api, slack_bot_token="xoxb-revoked"), clock=clock
    )
    adapter = await create_slack(runtime, make_web_app(runtime))
    try:
        with pytest.raises(SettingsError, match="SLACK_BOT_TOKEN.*invalid_auth"):
            await adapter.start()
        assert not adapter.healthy()
    finally:
        await adapter.stop()
        await runtime.close()
