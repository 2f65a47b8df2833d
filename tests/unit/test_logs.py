"""Logs as configured by `peerbot run`: one JSON object per line, no message body at INFO, and
no token or secret from the settings at any level."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable, Iterator

import pytest

from bot import logs
from bot.app import build
from bot.config import Settings
from bot.http import make_web_app, serve
from bot.telegram.adapter import WEBHOOK_PATH, create_telegram
from handlers.core.clock import FrozenClock
from tests.support.emulators.telegram_api import TelegramEmulator, eventually
from tests.support.fakes import Talk
from tests.support.ports import free_port

BODY = "Zanzibar quokka retrofit 7731 in Tallinn"
WEBHOOK_SECRET = "Webhook_secret-for-the-log-test"
SIGNING_SECRET = "fedcba9876543210fedcba9876543210"
SLACK_TOKEN = "xoxb-3333-4444-logTestToken"

Configure = Callable[..., io.StringIO]


@pytest.fixture
def configured_logs() -> Iterator[Configure]:
    """`bot.logs.configure` writing into a buffer; the logging setup is restored afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {
        name: lg.level
        for name, lg in logging.Logger.manager.loggerDict.items()
        if isinstance(lg, logging.Logger)
    }

    def setup(level: str = "INFO", fmt: str = "json", secrets: Iterable[str] = ()) -> io.StringIO:
        logs.configure(level, fmt, secrets)
        buffer = io.StringIO()
        handler = root.handlers[0]
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(buffer)
        return buffer

    yield setup
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, lg in logging.Logger.manager.loggerDict.items():
        if isinstance(lg, logging.Logger):
            lg.setLevel(levels.get(name, logging.NOTSET))
    logs._secrets.clear()


def records(buffer: io.StringIO) -> list[dict[str, str]]:
    """Every line must be one JSON object."""
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


async def test_info_logs_are_json_lines_without_message_bodies(
    configured_logs: Configure, talk: Talk
) -> None:
    out = configured_logs("INFO", "json")
    await talk.say("/start")
    await talk.say(f"/ask {BODY}")
    await talk.say(BODY)
    lines = records(out)
    handled = [r for r in lines if r["msg"].startswith("handled fake")]
    assert len(handled) == 3 and {r["level"] for r in handled} == {"INFO"}
    assert all(set(r) >= {"ts", "level", "logger", "msg"} for r in lines)
    assert not [r for r in lines if "quokka" in json.dumps(r).lower()]


def test_configured_secrets_and_token_shapes_are_redacted(configured_logs: Configure) -> None:
    settings = Settings(
        database_url="postgresql+asyncpg://peerbot:Db-pass_123@db:5432/peerbot",
        telegram_bot_token="42:short-token",
        slack_bot_token=SLACK_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
    )
    assert set(logs.secrets_of(settings)) == {
        "42:short-token",
        SLACK_TOKEN,
        SIGNING_SECRET,
        "Db-pass_123",
    }
    out = configured_logs("DEBUG", "text", logs.secrets_of(settings))
    log = logging.getLogger("peerbot.test")
    log.warning("tokens %s %s", settings.telegram_bot_token, settings.slack_signing_secret)
    log.warning("url %s", settings.database_url)  # (levels are not what this test is about)
    log.error("a real-shaped one: 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw in a URL")
    text = out.getvalue()
    for secret in ("42:short-token", SIGNING_SECRET, "Db-pass_123", "AAHdqTcvCH1vGWJxfSeofSAs0K5"):
        assert secret not in text
    assert text.count("[redacted]") == 4


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
async def test_a_telegram_conversation_logs_no_token_no_secret_and_no_body_at_info(
    configured_logs: Configure, settings: Settings, clock: FrozenClock, level: str
) -> None:
    """The real Telegram adapter in webhook mode; the emulator's token has no token shape, so
    only the configured-secret redaction can hide it."""
    async with TelegramEmulator(per_chat_rate=None) as api:
        port = free_port()
        configured = settings.model_copy(
            update={
                "telegram_bot_token": api.token,
                "telegram_api_base_url": api.base_url,
                "telegram_webhook_url": f"http://127.0.0.1:{port}{WEBHOOK_PATH}",
                "telegram_webhook_secret": WEBHOOK_SECRET,
                "slack_bot_token": SLACK_TOKEN,
                "slack_signing_secret": SIGNING_SECRET,
                "log_level": level,
                "log_format": "json",
            }
        )
        assert not logs.SECRET_PATTERNS[0].search(api.token)
        out = configured_logs(level, "json", logs.secrets_of(configured))
        runtime = await build(configured, clock=clock)
        web_app = make_web_app(runtime)
        adapter = await create_telegram(runtime, web_app)
        runtime.adapters.append(adapter)
        runner = await serve(web_app, "127.0.0.1", port)
        try:
            await adapter.start()
            for text in ("/start", BODY):
                uid = api.message(4242, text, first_name="Marie", language_code="en")["update_id"]
                await eventually(lambda: adapter.outcomes.get(uid), 10)  # noqa: B023
        finally:
            await adapter.stop()
            await runner.cleanup()
            await runtime.close()
    lines = records(out)
    assert any(r["msg"].startswith("handled telegram") for r in lines)
    dumped = out.getvalue()
    for secret in (api.token, WEBHOOK_SECRET, SIGNING_SECRET, SLACK_TOKEN):
        assert secret not in dumped
    if level == "INFO":
        assert "quokka" not in dumped.lower()
