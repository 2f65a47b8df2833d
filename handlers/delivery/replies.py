"""Replies after the commit: send what a handler asked for once its transaction is durable.

On the inbox path the replies are outbox rows claimed by the worker that handled the update;
they are sent here at once (not paced by the outbox's bulk budget: a person is waiting), one at
a time per process in the order their handlers committed, and a reply's "sent" is recorded
before the next one leaves. The record rides on the next handler's commit when one comes
(`take_sent` / `recorded`), else the sender writes it itself a moment later. So a crash repeats
at most `in_flight` replies (one by default): the one on the wire or sent but not yet recorded;
the others are still claimed and unsent, and the outbox takes them back and sends them once.

A reply that cannot be sent now goes back to the outbox with the rest of its handler's replies,
which keeps their order and applies the outbox's retry, rate-limit and blocked-user rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.core.context import Outgoing
from handlers.core.ports import Messenger, RateLimited, Undeliverable
from handlers.delivery.outbox import backoff, payload
from storage.models import utcnow
from storage.repositories.outbox import row as outbox_row
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

FLUSH_DELAY = 0.005
"""How long a sent reply waits for a handler's commit to carry its record before the sender
writes the record itself (a busy process records for free; an idle one after 5 ms)."""
IN_FLIGHT = 1
"""Replies on the wire or sent-but-unrecorded at once per process: what a crash may repeat."""


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
    """Sends handlers' replies after their commit and records them in batches."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        writing: Callable[[], contextlib.AbstractAsyncContextManager[Any]] | None = None,
        in_flight: int = IN_FLIGHT,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.writing = writing or contextlib.nullcontext
        self.in_flight = in_flight
        self._sent: list[tuple[int, str | None]] = []
        self._flushing: asyncio.Task[None] | None = None
        self._recording: asyncio.Lock | None = None
        self._gate: asyncio.Semaphore | None = None
        self._unrecorded = 0
        self._recorded_event: asyncio.Event | None = None

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
        """Send the claimed reply rows of a handled inbox row, in order, each once the
        replies sent before it are recorded."""
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.in_flight)
        for index, (row_id, item) in enumerate(zip(row_ids, outgoing, strict=True)):
            async with self._gate:
                await self._wait_recorded()
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
                self._unrecorded += 1
                if self._flushing is None or self._flushing.done():
                    self._flushing = asyncio.create_task(self._flush_soon())

    async def _wait_recorded(self) -> None:
        """Until fewer than `in_flight` sent replies wait for their record."""
        while self._unrecorded >= self.in_flight:
            if self._recorded_event is None:
                self._recorded_event = asyncio.Event()
            self._recorded_event.clear()
            if self._flushing is None or self._flushing.done():
                self._flushing = asyncio.create_task(self._flush_soon())
            await self._recorded_event.wait()

    def take_sent(self) -> list[tuple[int, str | None]]:
        """The sent replies not yet recorded, for a handler's transaction to record with its
        own commit; `recorded(batch)` after the commit, `untake(batch)` if it failed."""
        batch, self._sent = self._sent, []
        return batch

    def recorded(self, batch: Sequence[tuple[int, str | None]]) -> None:
        """These sent replies are now recorded: the next replies may go."""
        if not batch:
            return
        self._unrecorded = max(0, self._unrecorded - len(batch))
        if self._recorded_event is not None:
            self._recorded_event.set()

    def untake(self, batch: Sequence[tuple[int, str | None]]) -> None:
        """A taken batch was not recorded after all (its transaction rolled back)."""
        if batch:
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
            async with self.writing():
                batch = self.take_sent()  # a handler's commit may have taken them meanwhile
                if not batch:
                    return
                try:
                    async with UnitOfWork(self.sessionmaker) as uow:
                        await uow.outbox.mark_sent_many(batch)
                        await uow.commit()
                except Exception:
                    log.exception(
                        "could not record %d sent replies; the outbox may resend them", len(batch)
                    )
                    self.recorded(batch)  # the lease takes them back: do not hold up the rest
                    return
            self.recorded(batch)

    async def close(self) -> None:
        """Wait for the pending record."""
        if self._flushing is not None:
            with contextlib.suppress(Exception):
                await self._flushing
        await self.flush()

    async def _flush_soon(self) -> None:
        await asyncio.sleep(FLUSH_DELAY)
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
