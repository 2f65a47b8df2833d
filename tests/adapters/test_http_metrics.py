"""`/metrics` over HTTP: Prometheus counters move with what the core and the outbox do, and
neither `/metrics` nor `/healthz` ever shows a token or a secret."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import ClientSession, web
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from bot.app import Runtime, build
from bot.config import Settings
from bot.http import make_web_app, serve
from bot.telegram.adapter import WEBHOOK_PATH, create_telegram
from handlers.core.clock import FrozenClock
from handlers.core.ports import TransientError, Undeliverable
from handlers.core.replies import Reply
from handlers.delivery.outbox import OutboxWorker, payload
from storage.models import Outbox
from storage.repositories.outbox import MAX_ATTEMPTS
from storage.uow import UnitOfWork
from tests.support.emulators.telegram_api import TelegramEmulator, eventually
from tests.support.fakes import FakeMessenger, Talk
from tests.support.ports import free_port

WEBHOOK_SECRET = "Webhook_secret-for-the-metrics-test"
SIGNING_SECRET = "0123456789abcdef0123456789abcdef"
SLACK_TOKEN = "xoxb-1111-2222-metricsTestToken"


@pytest.fixture
async def server(runtime: Runtime) -> AsyncIterator[str]:
    """The bot's HTTP server on 127.0.0.1; yields its base URL."""
    runner = await serve(make_web_app(runtime), "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def scrape(base: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """GET /metrics and parse it as Prometheus does: {(sample name, labels): value}."""
    async with ClientSession() as http, http.get(f"{base}/metrics") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain; version=")
        body = await resp.text()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def value(
    metrics: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return metrics.get((name, frozenset(labels.items())), 0.0)


@dataclass
class FailingMessenger(FakeMessenger):
    """Sends fine except to the chats given: `blocked` is undeliverable, `down` times out."""

    errors: dict[str, Exception] = field(default_factory=dict)

    async def send(self, chat_id: str, reply: Reply) -> str | None:
        if chat_id in self.errors:
            raise self.errors[chat_id]
        return await super().send(chat_id, reply)


async def test_counters_follow_updates_faq_results_and_outbox_deliveries(
    runtime: Runtime, talk: Talk, messenger: FakeMessenger, server: str
) -> None:
    before = await scrape(server)

    assert "European Local Energy Assistance" in await talk.say("what is ELENA?")
    assert "do not know" in await talk.say("what's the weather like in Brussels tomorrow?")
    event = talk._event(text="/help")
    assert await runtime.core.handle(event, messenger) == "handled"
    assert await runtime.core.handle(event, messenger) == "duplicate"

    async with UnitOfWork(runtime.sessionmaker) as uow:
        for chat in ("ok", "blocked", "down"):
            await uow.outbox.enqueue(f"m:{chat}", "fake", chat, payload("hello"))
        await uow.outbox.enqueue("m:later", "nowhere", "x", payload("no sender for this"))
        # one attempt left: the next transient error fails the row for good
        await uow.session.execute(
            update(Outbox).where(Outbox.chat_id == "down").values(attempts=MAX_ATTEMPTS - 1)
        )
        await uow.commit()
    sender = FailingMessenger(
        errors={"blocked": Undeliverable("blocked by the user"), "down": TransientError("timeout")}
    )
    assert await OutboxWorker(runtime.sessionmaker, {"fake": sender}).tick() == 3

    after = await scrape(server)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("peerbot_updates_total", platform="fake", outcome="handled") == 3
    assert delta("peerbot_updates_total", platform="fake", outcome="duplicate") == 1
    assert delta("peerbot_updates_total", platform="fake", outcome="error") == 0
    assert delta("peerbot_faq_questions_total", result="answer") == 1
    assert delta("peerbot_faq_questions_total", result="unknown") == 1
    assert delta("peerbot_faq_questions_total", result="suggest") == 0
    assert delta("peerbot_outbox_messages_total", platform="fake", result="sent") == 1
    assert delta("peerbot_outbox_messages_total", platform="fake", result="undeliverable") == 1
    assert delta("peerbot_outbox_messages_total", platform="fake", result="failed") == 1
    assert value(after, "peerbot_outbox_pending") == 1  # the row no sender takes
    # counters are declared even before they move, so that rate() works from the start
    assert ("peerbot_faq_questions_total", frozenset({("result", "suggest")})) in before


async def test_no_token_or_secret_in_metrics_or_healthz(
    settings: Settings, clock: FrozenClock
) -> None:
    """The real Telegram adapter (webhook mode) and Slack settings: nothing secret is served."""
    async with TelegramEmulator(per_chat_rate=None) as api:
        port = free_port()
        configured = settings.model_copy(
            update={
                "database_url": settings.database_url,
                "telegram_bot_token": api.token,
                "telegram_api_base_url": api.base_url,
                "telegram_webhook_url": f"http://127.0.0.1:{port}{WEBHOOK_PATH}",
                "telegram_webhook_secret": WEBHOOK_SECRET,
                "slack_bot_token": SLACK_TOKEN,
                "slack_signing_secret": SIGNING_SECRET,
            }
        )
        runtime = await build(configured, clock=clock)
        web_app = make_web_app(runtime)
        adapter = await create_telegram(runtime, web_app)
        runtime.adapters.append(adapter)
        runner: web.AppRunner = await serve(web_app, "127.0.0.1", port)
        try:
            await adapter.start()
            update_ = api.message(4242, "/help", first_name="Marie", language_code="en")
            await eventually(lambda: adapter.outcomes.get(update_["update_id"]), 10)
            bodies = []
            async with ClientSession() as http:
                for path in ("/healthz", "/metrics"):
                    async with http.get(f"http://127.0.0.1:{port}{path}") as resp:
                        assert resp.status == 200, path
                        bodies.append(await resp.text())
        finally:
            await adapter.stop()
            await runner.cleanup()
            await runtime.close()
    healthz, metrics = bodies
    assert '"telegram": "ok"' in healthz
    assert 'peerbot_adapter_up{adapter="telegram"} 1.0' in metrics
    assert 'peerbot_updates_total{outcome="handled",platform="telegram"}' in metrics
    for secret in (
        api.token,
        api.token.split(":", 1)[1],
        WEBHOOK_SECRET,
        SIGNING_SECRET,
        SLACK_TOKEN,
    ):
        assert secret not in healthz and secret not in metrics
