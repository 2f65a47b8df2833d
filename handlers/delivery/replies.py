"""Replies after the commit: send what a handler asked for once its transaction is durable.

On the inbox path the replies are outbox rows claimed by the worker that handled the update;
they are sent here at once (not paced by the outbox's bulk budget: a person is waiting) and
recorded as sent in batches, so one UPDATE covers the replies of many updates; while a handler
is on its way to its commit the record rides on it instead of a transaction of its own. A reply that
cannot be sent now goes back to the outbox with the rest of its handler's replies, which keeps
their order and applies the outbox's retry, rate-limit and blocked-user rules. A crash between
the commit and the record leaves the rows claimed by a dead worker: the outbox takes them back
and sends them (at most one duplicate per crash, never a lost reply).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import timedelta
from typing import Any

from handlers.core.outbound import Outgoing, Sent, Writing
from handlers.core.ports import Messenger, RateLimited, Undeliverable
from handlers.delivery.outbox import RECORD_PATIENCE, backoff, payload
from storage.errors import database_down
from storage.models import utcnow
from storage.repositories.outbox import row as outbox_row
from storage.uow import SessionFactory, UnitOfWork

log = logging.getLogger(__name__)

FLUSH_DELAY = 0.0
"""Sent replies are recorded as soon as the loop is free: whatever was sent meanwhile goes into
the same UPDATE, and a crash can repeat only the replies sent since the last record."""
RIDE_PATIENCE = 0.05
"""While a handler is on its way to its commit, sent replies wait for it (at most this long)
rather than take a transaction of their own: under load that commit comes within one handler's
transaction, about when a record of their own would (on SQLite it waits for that transaction)."""
RECORD_RETRY = 1.0
"""Seconds before sent replies are recorded again when the database could not be reached
(for up to the outbox's RECORD_PATIENCE: unrecorded, they would be sent again)."""


def reply_rows(outgoing: Sequence[Outgoing], batch: str) -> list[dict[str, Any]]:
    """Replies as outbox rows, keyed `reply:<batch>:<n>` (idempotent per handled update)."""
    return [
        outbox_row(
            f"reply:{batch}:{n}",
            o.platform,
            o.chat_id,
            payload(o.reply.text, o.reply.choices, o.reply.multi, o.edit_message_id),
            thread_id=o.reply.thread_id,
            purpose="reply",
        )
        for n, o in enumerate(outgoing)
    ]


async def send_one(messenger: Messenger, outgoing: Outgoing) -> str | None:
    """Send a reply, or replace the message it edits; the platform's message id."""
    if outgoing.edit_message_id and messenger.capabilities.edit:
        return await messenger.edit(outgoing.chat_id, outgoing.edit_message_id, outgoing.reply)
    return await messenger.send(outgoing.chat_id, outgoing.reply)


class ReplySender:
    """Sends handlers' replies after their commit and records them in batches (the core's
    `ReplySink`, handlers/core/outbound.py)."""

    def __init__(
        self,
        sessionmaker: SessionFactory,
        writing: Writing | None = None,
        committing: Callable[[], bool] | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.writing = writing or contextlib.nullcontext
        self.committing = committing or (lambda: False)
        """True while a handler that will `take` the records before its commit is running."""
        self._sent: list[Sent] = []
        self._flushing: asyncio.Task[None] | None = None
        self._retrying: asyncio.Task[None] | None = None
        self._down_since: float | None = None
        self._closing = False
        self._recording: asyncio.Lock | None = None
        self._turns: dict[tuple[str, str], asyncio.Future[None]] = {}
        """Per chat, the replies still going out there: later ones wait for them."""

    async def queue_claimed(
        self, uow: UnitOfWork, outgoing: Sequence[Outgoing], batch: str, worker: str
    ) -> list[int]:
        """The replies as outbox rows claimed by `worker`, in the handler's transaction."""
        return await uow.outbox.enqueue_claimed(reply_rows(outgoing, batch), worker)

    async def send_direct(self, messenger: Messenger, outgoing: Sequence[Outgoing]) -> None:
        """Send replies of a directly handled event; what fails is handed to the outbox."""
        for index, item in enumerate(outgoing):
            try:
                await send_one(messenger, item)
            except Undeliverable as exc:
                log.info("reply to %s undeliverable: %s", item.platform, exc)
            except Exception as exc:  # noqa: BLE001 - the outbox retries what is left
                log.warning("reply on %s failed (%s); left to the outbox", item.platform, exc)
                await self._to_outbox(outgoing[index:])
                return

    async def send_claimed(
        self, messenger: Messenger, row_ids: Sequence[int], outgoing: Sequence[Outgoing]
    ) -> None:
        """Send the claimed reply rows of a handled inbox row, in order, after the replies of
        earlier handled rows to the same chats (one still waiting out a 429, say)."""
        async with self._turn({(o.platform, o.chat_id) for o in outgoing}):
            await self._send_claimed(messenger, row_ids, outgoing)

    @contextlib.asynccontextmanager
    async def _turn(self, chats: set[tuple[str, str]]) -> AsyncIterator[None]:
        """Wait for the replies already going out to these chats; hold them for ours."""
        earlier = {self._turns[c] for c in chats if c in self._turns}
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for chat in chats:
            self._turns[chat] = mine
        try:
            if earlier:
                await asyncio.wait(earlier)  # not cancelled with us: others wait on them too
            yield
        finally:
            mine.set_result(None)
            for chat in chats:
                if self._turns.get(chat) is mine:
                    del self._turns[chat]

    async def _send_claimed(
        self, messenger: Messenger, row_ids: Sequence[int], outgoing: Sequence[Outgoing]
    ) -> None:
        for index, (row_id, item) in enumerate(zip(row_ids, outgoing, strict=True)):
            try:
                message_id = await send_one(messenger, item)
            except Undeliverable as exc:
                await self._record_undeliverable(row_id, str(exc))
                continue
            except RateLimited as exc:
                await self._give_back(row_ids[index:], exc.retry_after, str(exc))
                return
            except Exception as exc:  # noqa: BLE001 - the outbox retries what is left
                log.warning("reply %s failed (%s); left to the outbox", row_id, exc)
                await self._give_back(row_ids[index:], backoff(1).total_seconds(), repr(exc))
                return
            self._sent.append((row_id, message_id))
        if self._sent and (self._flushing is None or self._flushing.done()):
            delay = RIDE_PATIENCE if self.committing() else FLUSH_DELAY
            self._flushing = asyncio.create_task(self._flush_soon(delay))

    def take(self) -> list[Sent]:
        """The replies sent but not yet recorded, for a handler's transaction to record with
        its own commit (which lands no later than a record of their own would: on SQLite that
        waits for the running transaction). Hand them back with `give_back` if it fails."""
        batch, self._sent = self._sent, []
        return batch

    def give_back(self, batch: Sequence[Sent]) -> None:
        """Records a failed transaction did not make: recorded on their own, soon."""
        if not batch:
            return
        self._sent[:0] = batch
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush_soon())

    async def flush(self) -> None:
        """Record every reply sent so far (also at shutdown); returns once they are recorded,
        including a batch another flush was recording."""
        if self._recording is None:
            self._recording = asyncio.Lock()
        async with self._recording:
            await self._record_all()

    async def _record_all(self) -> None:
        while self._sent:
            batch, self._sent = self._sent, []
            try:
                async with self.writing(), UnitOfWork(self.sessionmaker) as uow:
                    await uow.outbox.mark_sent_many(batch)
                    await uow.commit()
            except Exception as exc:
                if self._retry_later(batch, exc):
                    return
                log.exception(
                    "could not record %d sent replies; the outbox may resend them", len(batch)
                )
                return
            self._down_since = None

    def _retry_later(self, batch: list[Sent], exc: Exception) -> bool:
        """Keep the records of a batch the database was not there for, and try again soon
        (a lost connection, a restarting server); False once that lasted RECORD_PATIENCE."""
        now = time.monotonic()
        if self._closing or not database_down(exc):
            return False
        if self._down_since is None:
            self._down_since = now
        if now - self._down_since > RECORD_PATIENCE:
            return False
        log.warning(
            "could not record %d sent replies (%s); again in %s s", len(batch), exc, RECORD_RETRY
        )
        self._sent[:0] = batch
        running = self._retrying
        if running is None or running.done() or running is asyncio.current_task():
            self._retrying = asyncio.create_task(self._flush_soon(RECORD_RETRY))
        return True

    async def close(self) -> None:
        """Wait for the pending record (a retry waiting for the database is made now)."""
        if self._flushing is not None:
            with contextlib.suppress(Exception):
                await self._flushing
        self._closing = True
        if self._retrying is not None:
            with contextlib.suppress(Exception):
                await self._retrying
        await self.flush()

    async def _flush_soon(self, delay: float = FLUSH_DELAY) -> None:
        await asyncio.sleep(delay)
        await self.flush()

    async def _give_back(self, row_ids: Sequence[int], delay: float, error: str) -> None:
        when = utcnow() + timedelta(seconds=max(0.0, delay))
        try:
            async with UnitOfWork(self.sessionmaker) as uow:
                for row_id in row_ids:
                    await uow.outbox.release(row_id, when, error)
                await uow.commit()
        except Exception:
            log.exception("could not hand replies %s to the outbox (lease will)", list(row_ids))

    async def _record_undeliverable(self, row_id: int, error: str) -> None:
        try:
            async with UnitOfWork(self.sessionmaker) as uow:
                await uow.outbox.mark_undeliverable(row_id, error)
                await uow.commit()
        except Exception:
            log.exception("could not record reply %s as undeliverable", row_id)

    async def _to_outbox(self, outgoing: Sequence[Outgoing]) -> None:
        rows = reply_rows(outgoing, uuid.uuid4().hex)
        try:
            async with UnitOfWork(self.sessionmaker) as uow:
                await uow.outbox.enqueue_many(rows)
                await uow.commit()
        except Exception:
            log.exception("could not hand %d replies to the outbox", len(rows))
