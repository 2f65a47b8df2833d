"""The contract between the core and delivery: how what a handler says leaves.

The core collects replies and asks for messages to other officers; delivery (the outbox and
the reply sender, `handlers/delivery/`) implements these ports, and the composition root hands
them to the core, so the core names no delivery module.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from handlers.core.content import Content
from handlers.core.ports import Messenger
from handlers.core.replies import Choice, Reply
from storage.models import Officer
from storage.uow import SessionFactory, UnitOfWork


@dataclass(frozen=True)
class Outgoing:
    """A reply a handler asked for, sent only after its transaction committed."""

    platform: str
    chat_id: str
    reply: Reply
    edit_message_id: str | None = None


class Notifier(Protocol):
    """Queues a message to an officer, in their language, in the caller's transaction; False
    when they cannot be reached or the message (by its idempotency key) is queued already."""

    async def __call__(
        self,
        uow: UnitOfWork,
        content: Content,
        secret: bytes,
        officer: Officer,
        key: str,
        /,
        *,
        idempotency_key: str,
        values: Mapping[str, Any] | None = ...,
        text: str | None = ...,
        choices: Sequence[Choice] = ...,
        purpose: str = ...,
        ref_id: int | None = ...,
        priority: int = ...,
        multi: bool = ...,
    ) -> bool: ...


Sent = tuple[int, str | None]
"""A reply row sent and its platform message id, not yet recorded."""


class ReplySink(Protocol):
    """Sends a handler's replies once its transaction committed, and records them."""

    async def queue_claimed(
        self, uow: UnitOfWork, outgoing: Sequence[Outgoing], batch: str, worker: str
    ) -> list[int]:
        """The replies as outbox rows claimed by `worker`, in the handler's transaction."""
        ...

    async def send_claimed(
        self, messenger: Messenger, row_ids: Sequence[int], outgoing: Sequence[Outgoing]
    ) -> None:
        """Send the claimed reply rows of a handled inbox row, in order (after the commit)."""
        ...

    async def send_direct(self, messenger: Messenger, outgoing: Sequence[Outgoing]) -> None:
        """Send the replies of a directly handled event; what fails goes to the outbox."""
        ...

    def take(self) -> list[Sent]:
        """The replies sent but not yet recorded, for a handler's commit to record."""
        ...

    def give_back(self, batch: Sequence[Sent]) -> None:
        """Records a failed transaction did not make: recorded on their own, soon."""
        ...

    async def flush(self) -> None:
        """Record every reply sent so far."""
        ...

    async def close(self) -> None:
        """Wait for the pending record (shutdown)."""
        ...


Writing = Callable[[], contextlib.AbstractAsyncContextManager[Any]]
"""The core's write lock around a transaction (urgent: before waiting handlers)."""

ReplySinkFactory = Callable[[SessionFactory, Writing, Callable[[], bool]], ReplySink]
"""Makes the core's reply sink from its store, its urgent write lock and whether a handler
that will record the sent replies with its own commit is on its way."""
