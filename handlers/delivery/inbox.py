"""Inbox workers: claim stored updates and hand them to the core, in order per conversation.

Any number of processes may run workers on one database. A claim takes only the oldest open row
of a conversation (a person), so one officer's messages are handled one after another while
different officers are handled in parallel (up to `concurrency` at once in this process); under a
backlog up to twice `concurrency` of them share one transaction (`Core.process_many`). Rows whose
transaction committed and whose replies only wait for the platform's pace no longer count
against the claim (`_committed`): the platform's budget stays in use, as a bare bot's would,
while the next rows are handled; their replies to one chat still leave in order
(handlers/delivery/replies.py). A row whose handler fails is tried again after 0.5, 1 and 2 s,
then parked as poison with its error (the officer is told something went wrong; their later
messages are no longer held back). A worker that dies leaves its rows claimed: another worker
takes them back after the lease, and at once when the dead worker ran on this host (its pid is
gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from handlers.core.engine import Core, LostClaim, Outcome
from handlers.core.events import Incoming
from handlers.core.metrics import INBOX_POISON, INBOX_RETRIED
from handlers.core.ports import Messenger
from handlers.delivery.outbox import INCARNATION, dead_sender
from storage.models import InboxStatus
from storage.repositories.inbox import Claimed

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 4
POLL_SECONDS = 0.5
"""How often a worker looks for rows stored by other processes (its own wake it at once)."""
RECOVER_EVERY = 10.0
MAX_TASKS_PER_SLOT = 2
"""Running tasks per handler slot, most of them sending replies already committed (a platform
that paces or refuses sends): claiming stops there rather than queue without end."""
STOP_PATIENCE = 10.0


RETRY_FIRST = 0.5
"""Seconds before a failed row's first retry; each later retry waits twice as long."""


def retry_delay(attempts: int, first: float = RETRY_FIRST) -> timedelta | None:
    """0.5, 1, 2 s after the first three failures (a deadlock, a lost connection pass
    quickly; the officer is waiting); None (poison) after MAX_ATTEMPTS."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return timedelta(seconds=first * 2 ** max(0, attempts - 1))


@dataclass
class Door:
    """How a platform's stored updates are handled: its messenger for replies, an optional
    `prepare` that completes an event with what only the platform's API knows (a Slack user's
    name and language, a slash command's DM), and an optional `after` hook."""

    messenger: Messenger
    prepare: Callable[[Incoming], Awaitable[Incoming]] | None = None
    after: Callable[[Incoming, Outcome], Awaitable[None]] | None = None


class InboxWorker:
    """Claims inbox rows of the platforms it has doors for and processes them."""

    def __init__(
        self, core: Core, doors: Mapping[str, Door], concurrency: int | None = None
    ) -> None:
        self.core = core
        self.doors = dict(doors)
        self.concurrency = concurrency or core.max_concurrent
        self.host = socket.gethostname()
        self.worker_id = f"{self.host}:{os.getpid()}:{INCARNATION}.in{uuid.uuid4().hex[:6]}"
        self._wake = asyncio.Event()
        self._inflight: dict[asyncio.Task[None], int] = {}
        """Running tasks and the claimed rows each holds."""
        self._loop: asyncio.Task[None] | None = None
        self._recovered_at = 0.0
        self._claiming = 0
        self._stopping = False
        self.retry_first = RETRY_FIRST
        """Seconds before the first retry (`retry_delay`); a test shortens it."""
        core.accepted.append(self.nudge)

    def nudge(self) -> None:
        """New rows were stored (or a conversation was freed): look now."""
        self._wake.set()

    def start(self) -> None:
        """Run the claim loop until `stop()`."""
        if self._loop is None:
            self._loop = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop claiming, let running handlers end, give back what was claimed but not begun."""
        if self.nudge in self.core.accepted:
            self.core.accepted.remove(self.nudge)
        if self._loop is not None:
            # let the loop finish the claim it may be in (a cancelled query leaves the pool
            # to reset a connection mid-statement), then cancel it if it does not stop
            self._stopping = True
            self._wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(self._loop), STOP_PATIENCE)
            except TimeoutError:
                self._loop.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._loop
            self._loop = None
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=STOP_PATIENCE)
        with contextlib.suppress(Exception):
            async with self.core.uow() as uow:
                await uow.inbox.release_worker(self.worker_id)
                await uow.commit()
        await self.core.after_commit.close()

    async def drain(self, within: float = 60.0) -> int:
        """Process until every stored row is finished, retries included (the console, tests);
        rows processed."""
        done = 0
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            started = await self._pump()
            done += started
            if self._inflight:
                await asyncio.wait(set(self._inflight), return_when=asyncio.FIRST_COMPLETED)
                continue
            if not started:
                async with self.core.uow() as uow:
                    waiting = await uow.inbox.open_count(list(self.doors))
                if not waiting:
                    break
                await asyncio.sleep(0.05)  # a retry is due soon
        await self.core.after_commit.flush()
        return done

    async def idle(self, within: float = 10.0) -> bool:
        """Wait until nothing is due nor running here; False if work remains after `within` s."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self._claiming:  # rows claimed but not yet started are not idle
                await asyncio.sleep(0.005)
                continue
            if self._inflight:
                left = max(0.01, deadline - time.monotonic())
                await asyncio.wait(set(self._inflight), timeout=left)
                continue
            started = await self._pump()
            if not started and not self._inflight and not self._claiming:
                await self.core.after_commit.flush()
                return True
        return False

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self._pump()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("inbox worker: claiming failed; retrying in 1 s")
                await asyncio.sleep(1.0)
            if self._stopping:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)

    async def _pump(self) -> int:
        """Claim as many rows as there are free slots and start them; how many started."""
        await self._recover()
        # Claim up to twice the handlers that can run at once: the extra rows wait for a slot
        # (Core.slots). Under a backlog claim again only once half of that is free, so one claim
        # (a transaction, on SQLite through the single writer) takes `concurrency` rows rather
        # than one row per finished handler; the rows waiting for a slot keep every slot busy.
        free = 2 * self.concurrency - sum(self._inflight.values())
        if free < self.concurrency or len(self._inflight) >= MAX_TASKS_PER_SLOT * self.concurrency:
            return 0
        self._claiming += 1
        try:
            async with self.core.writing(), self.core.uow() as uow:
                rows = await uow.inbox.claim(self.worker_id, free, platforms=list(self.doors))
                await uow.commit()
        finally:
            self._claiming -= 1
        # Under a backlog, when the claim filled every slot (the rows would wait for a slot
        # anyway), the claimed rows of different conversations share one transaction (`_group`):
        # its fixed cost (begin, commit, on SQLite the writer's turn) is shared by up to twice
        # `concurrency` rows (CPU per answered question in the throughput bench, SQLite: 12.2 ms
        # with groups of `concurrency`, 11.0 ms with all claimed rows). Fewer rows each take
        # their own, so a reply never waits for other handlers when there is no queue.
        grouped = [row for row in rows if row.event is not None]
        if len(grouped) < max(2, self.concurrency):
            grouped = []
        for row in rows:
            if not grouped or row.event is None:
                self._start(self._one(row), 1)
        if grouped:
            self._start(self._group(grouped), len(grouped))
        return len(rows)

    def _start(self, work: Coroutine[Any, Any, None], rows: int) -> None:
        task = asyncio.create_task(work)
        self._inflight[task] = rows
        task.add_done_callback(self._finished)

    def _committed(self, rows: int) -> None:
        """Rows of the running task are handled and committed: only their replies are still
        going out, at the platform's pace, so they no longer hold claims back."""
        task = asyncio.current_task()
        if task is not None and task in self._inflight:
            self._inflight[task] = max(0, self._inflight[task] - rows)
            self._wake.set()

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._inflight.pop(task, None)
        self._wake.set()  # a slot and perhaps the conversation's next row are free

    async def _group(self, rows: list[Claimed]) -> None:
        """Handle rows of different conversations in one transaction (`Core.process_many`).

        If any handler fails (or a claim was lost) nothing of the group is kept and each row
        is handled alone by `_one`, so retries, poison, apologies and metrics are as for a row
        alone (a failing handler runs once more, alone, before its retries count)."""
        batch: list[tuple[Claimed, Door, Incoming]] = []
        for row in rows:
            door = self.doors[row.platform]
            event: Incoming | None = None
            try:
                event = Incoming.from_json(row.event) if row.event is not None else None
                if event is not None and door.prepare is not None:
                    event = await door.prepare(event)
            except Exception as exc:  # noqa: BLE001 - as `_one` would: retried, then parked
                await self._failed(row, event, door, exc)
                continue
            if event is not None:
                batch.append((row, door, event))
        if len(batch) == 1:
            row, _, event = batch[0]
            await self._one(row, event)
            return
        if not batch:
            return
        try:
            outcomes = await self.core.process_many(
                [(row, door.messenger, event) for row, door, event in batch],
                self.worker_id,
                self._committed,
            )
        except Exception as exc:  # noqa: BLE001 - each row alone decides (`_one`)
            log.info("inbox: %d rows in one transaction failed (%s); each alone", len(batch), exc)
            await asyncio.gather(*(self._one(row, event) for row, _, event in batch))
            return
        for (row, door, event), outcome in zip(batch, outcomes, strict=True):
            if door.after is not None:
                try:
                    await door.after(event, outcome)
                except Exception as exc:  # noqa: BLE001 - as `_one` would
                    await self._failed(row, event, door, exc)

    async def _one(self, row: Claimed, prepared: Incoming | None = None) -> None:
        """Handle one row in a transaction of its own (`prepared`: its event, completed)."""
        door = self.doors[row.platform]
        event: Incoming | None = prepared
        try:
            if event is None:
                event = Incoming.from_json(row.event) if row.event is not None else None
                if event is not None and door.prepare is not None:
                    event = await door.prepare(event)
            outcome = await self.core.process(
                row, door.messenger, self.worker_id, event=event, committed=self._committed
            )
            if event is not None and door.after is not None:
                await door.after(event, outcome)
        except LostClaim as exc:
            log.warning("inbox: %s", exc)
        except Exception as exc:  # noqa: BLE001 - retried, then parked: never lost, never stuck
            await self._failed(row, event, door, exc)

    async def _failed(
        self, row: Claimed, event: Incoming | None, door: Door, exc: Exception
    ) -> None:
        delay = retry_delay(row.attempts, self.retry_first)
        error = f"{type(exc).__name__}: {exc}"
        if delay is None:
            log.exception("inbox row %s failed %d times; parked as poison", row.id, row.attempts)
        else:
            log.warning("inbox row %s failed (%s); retry in %s", row.id, error, delay)
        try:
            async with self.core.writing(), self.core.uow() as uow:
                status = await uow.inbox.fail(row.id, self.worker_id, error, delay)
                await uow.commit()
        except Exception:
            log.exception("inbox row %s: could not record the failure (the lease will)", row.id)
            return
        if status == InboxStatus.POISON:
            INBOX_POISON.labels(row.platform).inc()
            if event is not None:
                await self.core.apologise(event, door.messenger)
                if door.after is not None:
                    with contextlib.suppress(Exception):
                        await door.after(event, "error")
        else:
            INBOX_RETRIED.labels(row.platform).inc()

    async def _recover(self) -> None:
        """Take back rows held by dead workers of this host (their pid is gone)."""
        now = time.monotonic()
        if now - self._recovered_at < RECOVER_EVERY:
            return
        self._recovered_at = now
        async with self.core.uow() as uow:
            taken = 0
            for worker in await uow.inbox.claimers(f"{self.host}:"):
                if worker != self.worker_id and dead_sender(worker):
                    taken += await uow.inbox.release_worker(worker)
            await uow.commit()
        if taken:
            log.warning("inbox: took back %d rows of dead workers", taken)
