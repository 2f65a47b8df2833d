"""Settings from the environment or `.env` (pydantic-settings)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_CONTENT_DIR = Path(__file__).resolve().parent.parent / "content"
DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "peerbot"
"""Where `programme create` keeps programme folders: outside the installation, which a
container rebuild replaces (mount a volume here, or set PEERBOT_DATA_DIR)."""
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class SettingsError(Exception):
    """A setting has a wrong value; the message names it in one line."""


class Settings(BaseSettings):
    """Every setting peerbot reads; names match the environment variables."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    database_url: str = "sqlite+aiosqlite:///peerbot.db"
    content_dir: Path = Field(default=DEFAULT_CONTENT_DIR, alias="PEERBOT_CONTENT_DIR")
    data_dir: Path = Field(default=DEFAULT_DATA_DIR, alias="PEERBOT_DATA_DIR")
    default_locale: str = Field(default="en", alias="PEERBOT_DEFAULT_LOCALE")
    http_port: int = Field(default=8080, alias="PEERBOT_HTTP_PORT", ge=1, le=65535)
    http_host: str = Field(default="0.0.0.0", alias="PEERBOT_HTTP_HOST")  # noqa: S104
    tick_seconds: float = Field(default=5.0, alias="PEERBOT_TICK_SECONDS", gt=0)
    inbox_backlog_seconds: float = Field(default=60.0, alias="PEERBOT_INBOX_BACKLOG_SECONDS", gt=0)
    """/healthz reports 503 when the oldest unhandled update is older than this."""
    inbox_retention_days: float = Field(default=7.0, alias="PEERBOT_INBOX_RETENTION_DAYS", gt=0)
    """Handled updates (and their text) are deleted after this many days."""
    faq_semantic: bool = Field(default=True, alias="PEERBOT_FAQ_SEMANTIC")
    """The FAQ scores questions on meaning as well as words once its sentence encoder has loaded
    in the background (entry vectors cached in PEERBOT_DATA_DIR/faq-vectors; ~120 MB). The test
    suite turns it off for its many bot processes (tests/conftest.py), except where it tests it."""
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"

    telegram_bot_token: str | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = None
    telegram_forum_chat_id: int | None = None
    telegram_bot_username: str | None = None
    secret_key: str | None = Field(default=None, alias="PEERBOT_SECRET_KEY", min_length=16)

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_base_url: str = "https://slack.com/api/"
    slack_channel_id: str | None = None
    slack_team_ids: str | None = None
    """Workspaces (team ids, comma-separated) the bot answers; unset: the one its token
    belongs to (auth.test)."""
    slack_command: str = Field(default="/peerbot", pattern=r"^/[a-z0-9_-]{1,31}$")
    slack_rate_per_second: float = Field(default=10.0, gt=0, le=1000)

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "must start with sqlite+aiosqlite:// or postgresql+asyncpg:// (async drivers)"
            )
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _secret_chars(cls, value: str | None) -> str | None:
        if value is not None and not _SECRET_TOKEN.match(value):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value.upper()

    def check_pairs(self) -> None:
        """Reject settings that only make sense together."""
        if self.telegram_webhook_url and not self.telegram_webhook_secret:
            raise SettingsError(
                "TELEGRAM_WEBHOOK_SECRET: required when TELEGRAM_WEBHOOK_URL is set"
            )
        if self.slack_bot_token and not (self.slack_signing_secret or self.slack_app_token):
            raise SettingsError(
                "SLACK_SIGNING_SECRET: required with SLACK_BOT_TOKEN (or set SLACK_APP_TOKEN)"
            )

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token)


def _env_name(settings_cls: type[BaseSettings], field: str) -> str:
    info = settings_cls.model_fields.get(field)
    alias = info.alias if info is not None and info.alias else field
    return alias.upper()


def load_settings(**overrides: object) -> Settings:
    """Load settings or raise SettingsError with one line naming the bad setting."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "settings"
        raise SettingsError(f"{_env_name(Settings, field)}: {err['msg']}") from None
    settings.check_pairs()
    return settings
