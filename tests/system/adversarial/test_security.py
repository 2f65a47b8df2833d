"""Security review as tests: forged requests, server-side trust, roles, erasure, logs.

Already covered elsewhere (cited, not repeated): one forged Slack signature and one stale
timestamp (tests/adapters/test_slack.py), a forged and a replayed Telegram button
(tests/adapters/test_telegram.py), a forged Slack button (test_slack.py), the Telegram webhook
secret (test_telegram.py::test_webhook_checks_the_secret_and_handles_updates_once), /export
returns only the caller's data and /forget deletes profile, state, questions and outbox
payloads (tests/unit/features/test_profile.py), check-in answers erased (test_checkins.py).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from sqlalchemy import func, select, update

from bot.app import Runtime
from bot.config import Settings
from bot.telegram import adapter as telegram_adapter
from handlers.core import choices as signed
from handlers.core.clock import FrozenClock
from storage.models import (
    Announcement,
    Conversation,
    DiscussionMessage,
    Identity,
    Officer,
    Outbox,
    ProcessedUpdate,
    Role,
)
from storage.uow import UnitOfWork
from tests.adapters.test_slack import SECRET as SLACK_SECRET
from tests.adapters.test_slack import Bot
from tests.adapters.test_telegram import SECRET, TgUser, launch
from tests.support.emulators.slack_api import SlackApiEmulator, SlackEvents, sign
from tests.support.emulators.telegram_api import TelegramEmulator
from tests.support.fakes import FakeMessenger, Talk
from tests.support.outreach import FORUM, SLACK_CHANNEL, person, platforms, talk
from tests.support.ports import free_port
from tests.system.adversarial.conftest import table_counts
from tests.system.adversarial.test_faults import Child, child_env, healthy, slack_bot
from tests.system.adversarial.test_fuzz_telegram import ErrorLog

pytestmark = pytest.mark.adversarial
# Slack refuses a timestamp more than 300 s from its clock. Stay well outside that window: the
# requests are signed once and sent over seconds, so 301 s drifted inside it on a slow run.
SKEW = 400
__all__ = ["slack_bot"]  # the fixture, shared with test_faults


# -- Slack: every request verified -------------------------------------------------------


async def test_no_forged_or_stale_slack_request_is_accepted(
    slack_bot: Bot, tally: Counter[str]
) -> None:
    bot = slack_bot
    event = json.dumps(bot.slack.envelope(bot.slack.message_event("U1", "/start")))
    form = "command=%2Fpeerbot&text=join&user_id=U1&team_id=T0PEERBOT&trigger_id=1.x"
    action = "payload=" + json.dumps(
        {"type": "block_actions", "user": {"id": "U1"}, "actions": [{"action_id": "choice-0"}]}
    )
    bodies = [(event, "application/json"), (form, "application/x-www-form-urlencoded")]
    bodies.append((action, "application/x-www-form-urlencoded"))
    now = int(time.time())

    def variants(body: str) -> list[dict[str, str]]:
        good = sign(SLACK_SECRET, now, body)
        return [
            {},  # no headers at all
            {"X-Slack-Request-Timestamp": str(now)},  # no signature
            {"X-Slack-Signature": good},  # no timestamp
            {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": "v0=" + "0" * 64},
            {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": good.upper()},
            {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": good[:-1]},
            {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": "v1" + good[2:]},
            {"X-Slack-Request-Timestamp": str(now + 1), "X-Slack-Signature": good},
            {  # signed with another app's secret
                "X-Slack-Request-Timestamp": str(now),
                "X-Slack-Signature": sign("someone-else", now, body),
            },
            {  # a genuine signature of a different body
                "X-Slack-Request-Timestamp": str(now),
                "X-Slack-Signature": sign(SLACK_SECRET, now, body + " "),
            },
            {  # stale: replayed more than 5 minutes later
                "X-Slack-Request-Timestamp": str(now - SKEW),
                "X-Slack-Signature": sign(SLACK_SECRET, now - SKEW, body),
            },
            {  # from the future
                "X-Slack-Request-Timestamp": str(now + SKEW),
                "X-Slack-Signature": sign(SLACK_SECRET, now + SKEW, body),
            },
            {"X-Slack-Request-Timestamp": "not-a-number", "X-Slack-Signature": good},
        ]

    before = await table_counts(bot.runtime.sessionmaker, skip=frozenset({"key_value"}))
    statuses: Counter[int] = Counter()
    async with ClientSession() as http:
        for body, content_type in bodies:
            for headers in variants(body):
                async with http.post(
                    bot.slack.url,
                    data=body.encode(),
                    headers={"Content-Type": content_type, **headers},
                ) as resp:
                    statuses[resp.status] += 1
    await bot.settle()
    after = await table_counts(bot.runtime.sessionmaker, skip=frozenset({"key_value"}))
    forged = sum(statuses.values())
    accepted = sum(n for status, n in statuses.items() if status < 400)
    tally["forged requests sent"] += forged
    tally["forged requests accepted"] += accepted
    assert accepted == 0, statuses
    assert set(statuses) == {401}
    assert after == before  # not even the de-duplication ledger
    assert bot.api.count("chat.postMessage") == 0 and bot.api.count("views.open") == 0


async def test_a_slack_form_cannot_redirect_its_answer_through_private_metadata(
    slack_bot: Bot,
) -> None:
    """private_metadata comes back from the client side of the modal: its `dm` is ignored."""
    bot = slack_bot
    from tests.adapters.test_slack import ANSWERS, open_modal

    view = await open_modal(bot, "U1")
    view = {**view, "private_metadata": json.dumps({"dm": "C0GENERAL", "locale": "en"})}
    await bot.slack.submit("U1", view, ANSWERS)
    await bot.settle()
    assert not bot.api.messages_to("C0GENERAL")
    assert bot.api.messages_to(SlackApiEmulator.dm_channel("U1"))
    for meta in ("[1, 2]", "null", "{not json"):
        delivery = await bot.slack.submit("U1", {**view, "private_metadata": meta}, ANSWERS)
        assert delivery.status == 200
    await bot.settle()
    assert bot.adapter.stats["error"] == 0


# -- Telegram: the webhook secret, compared in constant time ------------------------------


async def test_the_telegram_webhook_secret_is_compared_in_constant_time(
    settings: Settings,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
    tally: Counter[str],
) -> None:
    """Our own handler checks X-Telegram-Bot-Api-Secret-Token with hmac.compare_digest (PTB's
    webhook server is not used: the route lives on the shared aiohttp server)."""
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(telegram_adapter.hmac, "compare_digest", spy)
    async with TelegramEmulator(per_chat_rate=None, global_rate=None) as api:
        bot = await launch(settings, clock, api, webhook=True)
        try:
            assert bot.webhook_url is not None
            update = api.message_update(77, "/start", first_name="Eve")
            wrong = [
                "",
                "x",
                SECRET[:-1],
                SECRET + "x",
                SECRET.upper(),
                SECRET[:-1] + ("A" if SECRET[-1] != "A" else "B"),
                "é" * len(SECRET),
                SECRET + "\x00",
            ]
            statuses: Counter[int] = Counter()
            async with ClientSession() as http:
                for secret in wrong:
                    headers = {telegram_adapter.SECRET_HEADER: secret} if secret else {}
                    try:
                        async with http.post(bot.webhook_url, json=update, headers=headers) as r:
                            statuses[r.status] += 1
                    except ValueError:  # aiohttp refuses some header values client-side
                        statuses[0] += 1
            counts = await table_counts(bot.runtime.sessionmaker, skip=frozenset({"key_value"}))
        finally:
            await bot.stop()
    tally["forged requests sent"] += sum(statuses.values())
    tally["forged requests accepted"] += sum(n for s, n in statuses.items() if 200 <= s < 300)
    assert set(statuses) <= {403, 0} and statuses[403] >= len(wrong) - 2, statuses
    assert compared and all(isinstance(a, bytes) and isinstance(b, bytes) for a, b in compared)
    assert counts["processed_update"] == 0 and counts["identity"] == 0
    assert not api.calls_to("sendMessage")


async def test_forged_callback_data_with_any_characters_is_expired_never_a_crash(
    api: TelegramEmulator, settings: Settings, clock: FrozenClock, tally: Counter[str]
) -> None:
    bot = await launch(settings, clock, api)
    errors = ErrorLog()
    import logging

    logging.getLogger().addHandler(errors)
    try:
        user = TgUser(api, bot, user_id=4242)
        await user.say("/start")
        genuine = api.find_button(4242, "I agree")[1]
        forged = [
            "onb:yes~éééééééééé",  # non-ASCII signature: compare_digest refuses str
            "onb:yes~" + "🙂" * 10,
            genuine.replace("onb:yes", "onb:no"),  # a genuine signature on another choice
            signed.sign(b"not-the-secret", "4242", "onb:yes"),
            "~",
            "onb:yes",
        ]
        outcomes = [
            await user.settle(api.press_data(4242, data, first_name="M")) for data in forged
        ]
    finally:
        logging.getLogger().removeHandler(errors)
        await bot.stop()
    tally["forged requests sent"] += len(forged)
    tally["forged requests accepted"] += sum(o not in ("expired",) for o in outcomes)
    assert outcomes == ["expired"] * len(forged)
    assert not errors.records


@pytest.fixture
async def api() -> Any:
    async with TelegramEmulator(per_chat_rate=None, global_rate=None) as emulator:
        yield emulator


# -- roles: checked against the store on every event --------------------------------------


async def test_a_coordinator_demoted_in_the_middle_of_a_broadcast_cannot_finish_it(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    anna_row = await person(runtime, "Anna", platform="fake", user_id="anna", role=Role.COORDINATOR)
    await person(runtime, "Giulia", platform="fake", user_id="giulia")
    anna = Talk(runtime.core, messenger, user_id="anna", name="Anna")
    await anna.say("/broadcast")
    await anna.say("Everyone: the ELENA call closes on 15 January.")
    await anna.press("Choose recipients")
    preview = await anna.press("Everyone")
    assert "will receive this" in preview
    async with UnitOfWork(runtime.sessionmaker) as uow:  # demoted while the preview is open
        await uow.session.execute(
            update(Officer).where(Officer.id == anna_row.id).values(role=Role.OFFICER)
        )
        await uow.commit()
    refused = "only programme coordinators can do that"
    assert refused in await anna.press("Send now")
    assert refused in await anna.say("/stats")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        sent = await uow.session.scalar(select(func.count()).select_from(Announcement))
        queued = await uow.session.scalar(select(func.count()).select_from(Outbox))
    assert (sent, queued) == (0, 0)


# -- /forget: erased in the database, and the bridge stops relaying ------------------------


async def test_forget_erases_discussion_messages_and_the_bridge_stops_relaying(
    runtime: Runtime,
) -> None:
    slack, telegram = platforms(runtime)
    await person(runtime, "Giulia Rossi", user_id="UGIULIA", country="IT", authority="Milano")
    pieter_row = await person(
        runtime, "Pieter Janssens", platform="telegram", user_id="1001", authority="Gent"
    )
    giulia = talk(runtime, slack, "UGIULIA", "Giulia")
    assert "is open" in await giulia.say("/discuss Green bonds for schools")
    root = slack.to(SLACK_CHANNEL)[-1].message_id
    await runtime.tick()
    [topic] = telegram.topics
    in_topic = Talk(
        runtime.core,
        telegram,
        user_id="1001",
        name="Pieter",
        chat_id=FORUM,
        chat_kind="group",
        platform="telegram",
    )
    await in_topic.handle(text="Gent issued one in 2023.", thread_id=topic, message_id="501")
    await runtime.tick()
    relayed = [s for s in slack.to(SLACK_CHANNEL) if s.reply.thread_id == root]
    assert len(relayed) == 1
    pieter = talk(runtime, telegram, "1001", "Pieter")
    await pieter.say("/forget")
    assert "has been deleted" in await pieter.press("Yes, delete my data")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        s = uow.session
        mine = await s.scalar(
            select(func.count())
            .select_from(DiscussionMessage)
            .where(DiscussionMessage.text.contains("Gent issued"))
        )
        officer = await s.get(Officer, pieter_row.id)
        flows = await s.scalar(select(func.count()).select_from(Conversation))
        payloads = (await s.execute(select(Outbox.payload, Outbox.officer_id))).all()
        linked = await s.scalar(
            select(func.count()).select_from(Identity).where(Identity.officer_id == pieter_row.id)
        )
    assert officer is None and linked == 0 and flows == 0
    assert mine == 0  # what he wrote in the discussion is gone too
    assert all(p == {} for p, who in payloads if who == pieter_row.id)
    assert not any("Gent issued" in json.dumps(p) for p, _ in payloads)
    # he writes in the topic again: no longer an officer, nothing is relayed or stored
    await in_topic.handle(text="One more thing.", thread_id=topic, message_id="502")
    for _ in range(2):
        await runtime.tick()
    relayed = [s for s in slack.to(SLACK_CHANNEL) if s.reply.thread_id == root]
    assert len(relayed) == 1, [s.reply.text for s in relayed]
    async with UnitOfWork(runtime.sessionmaker) as uow:
        stored = (await uow.session.execute(select(DiscussionMessage.text))).scalars().all()
    assert "One more thing." not in stored


# -- no secret or token in the logs ----------------------------------------------------------


@pytest.mark.slow
async def test_no_token_or_secret_reaches_the_logs_of_a_running_bot(
    database_url: str, tmp_path: Path
) -> None:
    """`peerbot run` at DEBUG with both platforms configured (Telegram by webhook), fed signed
    and forged requests: the log file holds none of the credentials."""
    async with (
        TelegramEmulator(per_chat_rate=None, global_rate=None) as tg,
        SlackApiEmulator(auto_users=True) as sl,
    ):
        port = free_port()
        tg_secret = "Webhook-Secret_0123456789abcdef"
        slack_secret = "slack-signing-secret-0123456789"
        hook = f"http://127.0.0.1:{port}/telegram/webhook"
        env = child_env(
            DATABASE_URL=database_url,
            TELEGRAM_BOT_TOKEN=tg.token,
            TELEGRAM_API_BASE_URL=tg.base_url,
            TELEGRAM_WEBHOOK_URL=hook,
            TELEGRAM_WEBHOOK_SECRET=tg_secret,
            SLACK_BOT_TOKEN=sl.token,
            SLACK_SIGNING_SECRET=slack_secret,
            SLACK_API_BASE_URL=sl.base_url,
            PEERBOT_SECRET_KEY="peerbot-secret-key-0123456789",
            PEERBOT_HTTP_HOST="127.0.0.1",
            PEERBOT_HTTP_PORT=str(port),
            LOG_LEVEL="DEBUG",
        )
        bot = Child([sys.executable, "-m", "bot", "run"], env, tmp_path / "peerbot.log")
        await bot.start()
        try:
            await healthy(port)
            slack = SlackEvents(f"http://127.0.0.1:{port}/slack/events", slack_secret, sl)
            await slack.message("U1", "/help")
            await slack.message("U1", "/help", forge=True)
            await slack.close()
            async with ClientSession() as http:
                update = tg.message_update(55, "/help", first_name="Jan")
                for secret in (tg_secret, "wrong"):
                    headers = {telegram_adapter.SECRET_HEADER: secret}
                    async with http.post(hook, json=update, headers=headers):
                        pass
            deadline = time.monotonic() + 15
            while not (tg.ok_calls("sendMessage") and sl.count("chat.postMessage")):
                assert time.monotonic() < deadline, "the bot did not answer"
                await asyncio.sleep(0.1)
        finally:
            await bot.stop()
    log = (tmp_path / "peerbot.log").read_text(errors="replace")
    secrets = {
        "telegram token": tg.token.split(":", 1)[1],
        "webhook secret": tg_secret,
        "slack token": sl.token,
        "signing secret": slack_secret,
        "secret key": "peerbot-secret-key-0123456789",
    }
    leaked = [name for name, value in secrets.items() if value in log]
    assert len(log) > 1000, "the log recorded the activity"
    assert not leaked, leaked


def test_secrets_are_compared_with_compare_digest_everywhere() -> None:
    """The signed choices compare bytes with hmac.compare_digest (str with non-ASCII would
    raise TypeError, which a forged button used to trigger)."""
    assert signed.verify(b"k", "1", "a~" + "é" * 10) is None
    assert signed.verify(b"k", "1", "a\ud800~\ud800") is None
    assert signed.verify(b"k", "1", signed.sign(b"k", "1", "a")) == "a"
    assert ProcessedUpdate.__tablename__ == "processed_update"
