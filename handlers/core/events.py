"""What an adapter hands to the core: one neutral incoming event."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

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
