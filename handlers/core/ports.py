"""The contract between the core and each platform adapter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from handlers.core.replies import Reply


@dataclass(frozen=True)
class Capabilities:
    """What a platform can do; handlers adapt (a modal on Slack, steps elsewhere)."""

    threads: bool = False
    topics: bool = False
    modals: bool = False
    create_channel: bool = False
    edit: bool = True
    max_text: int = 4096
    rate_per_second: float | None = None
    """Overall send budget of the platform, shared by all processes (None: not paced)."""
    per_chat_interval: float = 0.0
    """Seconds between two messages to one chat (0: no spacing)."""


class DeliveryError(Exception):
    """A message could not be delivered now; subclasses say what to do about it."""


class RateLimited(DeliveryError):
    """The platform asked us to wait `retry_after` seconds."""

    def __init__(self, retry_after: float, detail: str = "rate limited") -> None:
        super().__init__(f"{detail} (retry after {retry_after:g}s)")
        self.retry_after = retry_after


class Undeliverable(DeliveryError):
    """A permanent failure: blocked by the user, deactivated, channel gone. Never retry."""


class TransientError(DeliveryError):
    """A network error or a 5xx: retry with backoff."""


class ChatMigrated(DeliveryError):
    """A Telegram group became a supergroup; resend to `new_chat_id`."""

    def __init__(self, new_chat_id: str) -> None:
        super().__init__(f"chat migrated to {new_chat_id}")
        self.new_chat_id = new_chat_id


class Messenger(Protocol):
    """Sends neutral replies on one platform; returns the platform message id."""

    platform: str
    capabilities: Capabilities

    async def send(self, chat_id: str, reply: Reply) -> str | None:
        """Send a reply to a chat (in `reply.thread_id` when set)."""
        ...

    async def edit(self, chat_id: str, message_id: str, reply: Reply) -> str | None:
        """Replace an earlier message (the one whose choice was pressed)."""
        ...


class SpaceMaker(Protocol):
    """A messenger that can open a shared space for a pair or a discussion.

    Slack: a private channel (conversations.create + invite) or a group DM; Telegram: a forum
    topic in the programme's supergroup. Returns (chat_id, thread_id or None).
    """

    async def create_space(
        self, title: str, member_user_ids: list[str], parent_chat_id: str | None = None
    ) -> tuple[str, str | None]:
        """Create the space and return where to post in it."""
        ...


class InviteLinker(Protocol):
    """A messenger that can hand out a link to join a group chat (Telegram: a bot cannot add
    anyone to a supergroup, so members of a forum topic join by invitation)."""

    async def invite_link(self, chat_id: str, name: str) -> str:
        """Create an invitation to the chat and return its link."""
        ...


class SpaceKeeper(Protocol):
    """A messenger that can add someone to a space it opened, or take them out of it (Slack:
    conversations.invite and conversations.kick on a private channel). Telegram has neither
    for a forum topic: a newcomer gets the supergroup's invitation link instead."""

    async def add_to_space(self, chat_id: str, user_id: str) -> None:
        """Add a user to the space (already there: nothing to do)."""
        ...

    async def remove_from_space(self, chat_id: str, user_id: str) -> None:
        """Take a user out of the space (already gone: nothing to do)."""
        ...
