"""What an adapter hands to the core: one neutral incoming event."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

ChatKind = Literal["dm", "group", "channel"]


@dataclass(frozen=True)
class Incoming:
    """A message or a pressed choice from any platform.

    `choice` is the wire value of a pressed button exactly as the adapter received it; the
    router verifies its signature before any handler sees it.
    """

    platform: str
    user_id: str
    chat_id: str
    chat_kind: ChatKind = "dm"
    text: str = ""
    choice: str | None = None
    thread_id: str | None = None
    message_id: str | None = None
    locale: str | None = None
    display_name: str | None = None
    update_id: str | None = None
    hints: dict[str, str] = field(default_factory=dict)
    form: dict[str, Any] | None = None
    """The answers of a submitted form (a Slack modal), already validated by the adapter."""

    @property
    def conversation(self) -> str:
        """What orders the work: one person's updates are handled one after another."""
        return f"{self.platform}:{self.user_id}"

    def to_json(self) -> dict[str, Any]:
        """The event as stored in the inbox."""
        return {k: v for k, v in asdict(self).items() if v not in (None, "", {})}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Incoming:
        """The event back from the inbox (unknown keys of a newer version are ignored)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def command(self) -> str | None:
        """The command word of a `/word args` message, lower-cased, without a @botname."""
        text = self.text.strip()
        if not text.startswith("/") or len(text) < 2:
            return None
        word = text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower()
        return word if word.isascii() and word.replace("_", "").isalnum() else None

    @property
    def args(self) -> str:
        """What follows the command word (or the whole text when there is no command)."""
        text = self.text.strip()
        if self.command is None:
            return text
        parts = text.split(maxsplit=1)
        return parts[1].strip() if len(parts) > 1 else ""
