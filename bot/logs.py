"""Logging: plain text or one JSON object per line; secrets are never printed."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

SECRET_PATTERNS = [
    re.compile(r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b"),  # Telegram bot token
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]+"),  # Slack tokens
    re.compile(r"\bxapp-[A-Za-z0-9-]+"),
]


def redact(text: str) -> str:
    """Replace anything shaped like a token."""
    for pattern in SECRET_PATTERNS:
        text = pattern.sub("[redacted]", text)
    return text


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


def configure(level: str = "INFO", fmt: str = "text") -> None:
    """Send logs to stderr in the chosen format."""
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
