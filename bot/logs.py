"""Logging: plain text or one JSON object per line; secrets are never printed."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from bot.config import Settings

SECRET_PATTERNS = [
    re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b"),  # Telegram bot token
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]+"),  # Slack tokens
    re.compile(r"\bxapp-[A-Za-z0-9-]+"),
]


_secrets: list[str] = []
"""The configured secret values (tokens, signing secrets, passwords), longest first."""


def redact(text: str) -> str:
    """Replace the configured secrets and anything shaped like a token."""
    for secret in _secrets:
        text = text.replace(secret, "[redacted]")
    for pattern in SECRET_PATTERNS:
        text = pattern.sub("[redacted]", text)
    return text


def secrets_of(settings: Settings) -> list[str]:
    """The secret values in the settings: tokens, signing secrets and the database password."""
    values = [
        settings.telegram_bot_token,
        settings.telegram_webhook_secret,
        settings.secret_key,
        settings.slack_bot_token,
        settings.slack_signing_secret,
        settings.slack_app_token,
    ]
    with contextlib.suppress(ValueError):  # a URL that does not parse has no password to hide
        password = urlsplit(settings.database_url).password
        if password:
            values += [password, unquote(password)]  # as written in the URL, and as sent
    return [v for v in values if v and len(v) >= 4]


class RedactingFormatter(logging.Formatter):
    """Plain text, tokens redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line, tokens redacted."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return redact(json.dumps(data, ensure_ascii=False))


def configure(level: str = "INFO", fmt: str = "text", secrets: Iterable[str] = ()) -> None:
    """Send logs to stderr in the chosen format; `secrets` are never printed."""
    _secrets[:] = sorted(set(secrets), key=len, reverse=True)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in (
        "alembic",
        "httpx",
        "apscheduler",
        "aiosqlite",
        "telegram.ext",
        "slack_bolt",
        "slack_sdk",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # PTB's limiter logs every 429 as an ERROR with a traceback although the outbox handles it
    # (reschedules the row after retry_after and logs one line): keep only its criticals.
    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)
