"""Queue messages through the outbox and send them: claim, pace, send, record, retry.

Where rate limiting lives. The worker paces every platform by `Messenger.capabilities`:
`rate_per_second` is the platform's overall budget (Telegram ~30/s), shared by every sender
process through one row per platform in `outbox_pace` (a virtual-time token bucket: each claim
reserves its slots with one atomic UPSERT), so N processes together stay under it; a per-process
limiter (PTB's AIORateLimiter) alone would allow N x 30/s. A row that finds its slot gone by
(its sender stalled) takes a new one rather than catch up beside the others (`slots.py`).
`per_chat_interval` spaces two messages to one chat inside a process, and the claim takes one
row per chat at a time, so a chat never has two messages in flight anywhere. A 429 pauses the
platform for every process for `retry_after` (at most GLOBAL_PAUSE_MAX s: a longer wait is
usually one chat's or group's flood window, which that chat's row honours in full) and puts the
row back without counting an attempt.
Transient errors retry with exponential backoff and jitter; permanent ones (blocked, deactivated,
chat not found) are marked undeliverable at once.

Crash safety. A row is recorded as sent in its own transaction right after the platform
accepted it, so a SIGKILL can only duplicate the rows whose send had completed but whose record
had not (the ones in flight). Rows a dead worker had claimed but not sent are taken back at once
when the worker ran on this host (its pid is gone) and after LEASE otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from handlers.core import choices as signed
from handlers.core.clock import Clock
from handlers.core.content import Content
from handlers.core.metrics import OUTBOX_MESSAGES
from handlers.core.ports import (
    ChatMigrated,
    DeliveryError,
    Messenger,
    RateLimited,
    Undeliverable,
)
from handlers.core.replies import Choice, Reply
from handlers.delivery.slots import LATE, LateSlots
from storage.errors import database_down
from storage.models import Identity, Officer, Outbox, OutboxStatus, utcnow
from storage.uow import SessionFactory, UnitOfWork

log = logging.getLogger(__name__)

GLOBAL_PAUSE_MAX = 2.0
LOOKAHEAD = 0.25
"""Claim the next batch this long before the current batch's last slot (no gap between them)."""
POLL_SECONDS = 0.5
RECOVER_EVERY = 10.0
BULK = 10
"""Priority of bulk rows (announcements, reminders, digests): after replies and relays (0)."""
INCARNATION = uuid.uuid4().hex[:8]
"""This process's incarnation (see `OutboxWorker.worker_id`)."""
RECORD_PATIENCE = 60.0
"""How long recording a row waits for a lost database to come back (a sent row that is not
recorded would otherwise be sent again once its lease runs out)."""


def preferred_identity(officer: Officer, platform: str | None = None) -> Identity | None:
    """Where to reach an officer: the platform they used last (or the one asked for)."""
    reachable = [i for i in officer.identities if i.dm_chat_id and i.platform != "console"]
    reachable = reachable or [i for i in officer.identities if i.dm_chat_id]
    if platform is not None:
        reachable = [i for i in reachable if i.platform == platform]
    if not reachable:
        return None
    return max(reachable, key=lambda i: (i.last_seen_at is not None, i.last_seen_at, i.id))


def officer_locale(officer: Officer, content: Content, identity: Identity | None = None) -> str:
    """The language to write to an officer in: their profile's, else the first of the
    languages they work in that the bot writes in (an officer imported from a roster has no
    locale of their own), else their chat app's, else the default."""
    written = content.t.catalogues
    spoken = next((str(lang) for lang in officer.languages or () if lang in written), None)
    return content.t.resolve(officer.locale or spoken or (identity.locale if identity else None))


def payload(
    text: str, choices: Sequence[Choice] = (), multi: bool = False, edit: str | None = None
) -> dict[str, Any]:
    """The JSON form of a reply stored in an outbox row (`edit`: the message it replaces)."""
    data: dict[str, Any] = {
        "text": text,
        "choices": [
            {"id": c.id, "label": c.label}
            if c.selected is None
            else {"id": c.id, "label": c.label, "selected": c.selected}
            for c in choices
        ],
        "multi": multi,
    }
    if edit:
        data["edit"] = edit
    return data


def reply_of(row: Outbox) -> Reply:
    """The reply an outbox row carries."""
    data = row.payload or {}
    choices = tuple(Choice(c["id"], c["label"], c.get("selected")) for c in data.get("choices", []))
    return Reply(
        text=str(data.get("text", "")),
        choices=choices,
        multi=bool(data.get("multi")),
        thread_id=row.thread_id,
        edit=bool(data.get("edit")),
    )


def space_change(op: str, user_id: str) -> dict[str, Any]:
    """The payload of a row that adds a user to a space (`op` "add") or takes them out
    ("remove"): membership changes leave through the outbox like messages, in order with the
    space's messages, retried and paced the same way (handlers/core/ports.py `SpaceKeeper`)."""
    return {"text": "", "choices": [], "multi": False, "space": {"op": op, "user": user_id}}


async def _change_space(messenger: Messenger, chat_id: str, change: Mapping[str, Any]) -> None:
    op, user = str(change.get("op", "")), str(change.get("user", ""))
    method = {"add": "add_to_space", "remove": "remove_from_space"}.get(op)
    keeper = getattr(messenger, method, None) if method and user else None
    if keeper is None:
        raise Undeliverable(f"{messenger.platform} cannot {op or 'change'} space members")
    await keeper(chat_id, user)


async def send_row(messenger: Messenger, row: Outbox) -> str | None:
    """Send (or, for an edit, replace) what a row carries; the platform message id.
    A membership change (`space_change`) is made instead, with no message id."""
    change = (row.payload or {}).get("space")
    if isinstance(change, Mapping):
        await _change_space(messenger, row.chat_id, change)
        return None
    reply = reply_of(row)
    edit = (row.payload or {}).get("edit")
    if edit and messenger.capabilities.edit:
        return await messenger.edit(row.chat_id, str(edit), reply)
    return await messenger.send(row.chat_id, reply)


def signed_choices(secret: bytes, chat_id: str, choices: Sequence[Choice]) -> list[Choice]:
    """Choices signed for the chat they are sent to."""
    return [Choice(signed.sign(secret, chat_id, c.id), c.label, c.selected) for c in choices]


async def queue_to_officer(
    uow: UnitOfWork,
    content: Content,
    secret: bytes,
    officer: Officer,
    key: str,
    *,
    idempotency_key: str,
    values: Mapping[str, Any] | None = None,
    text: str | None = None,
    choices: Sequence[Choice] = (),
    purpose: str = "message",
    ref_id: int | None = None,
    priority: int = 0,
    multi: bool = False,
) -> bool:
    """Queue a message for an officer in their language; False if unreachable or already queued."""
    identity = preferred_identity(officer)
    if identity is None or identity.dm_chat_id is None:
        return False
    locale = officer_locale(officer, content, identity)
    body = text if text is not None else content.t(locale, key, **dict(values or {}))
    wire = signed_choices(secret, identity.dm_chat_id, choices)
    return await uow.outbox.enqueue(
        idempotency_key,
        identity.platform,
        identity.dm_chat_id,
        payload(body, wire, multi),
        officer_id=officer.id,
        purpose=purpose,
        ref_id=ref_id,
        priority=priority,
    )


def backoff(attempts: int) -> timedelta:
    """Exponential backoff for transient failures: 2, 4, 8 … capped at 10 minutes."""
    return timedelta(seconds=min(600, 2 ** max(1, attempts)))


@dataclass(frozen=True)
class Pacing:
    """How fast one platform may be sent to: overall (all processes) and per chat."""

    rate: float | None = None
    per_chat: float = 0.0

    @classmethod
    def of(cls, messenger: Messenger) -> Pacing:
        caps = messenger.capabilities
        rate = getattr(caps, "rate_per_second", None)
        per_chat = getattr(caps, "per_chat_interval", 0.0) or 0.0
        return cls(float(rate) if rate else None, float(per_chat))


def _pid_alive(pid: int) -> bool:
    """Whether a process of this host runs (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


class OutboxWorker:
    """Claims due rows per platform and sends them with that platform's messenger.

    `tick()` drains what is due on every platform (tests, the console, the scheduler); `start()`
    runs one long-lived sender loop per platform instead, which keeps a broadcast at the
    platform's rate without waiting for ticks.
    """

    def __init__(
        self,
        sessionmaker: SessionFactory,
        messengers: Mapping[str, Messenger],
        batch: int = 50,
        concurrency: int = 30,
        *,
        clock: Clock | None = None,
        window: float = 1.0,
        pause_max: float = GLOBAL_PAUSE_MAX,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.messengers = messengers
        self.batch = batch
        self.concurrency = concurrency
        self.clock = clock
        self.window = window
        self.pause_max = pause_max
        self.host = socket.gethostname()
        # host:pid:incarnation.worker - the incarnation tells this process from an earlier one
        # that had the same pid (a restarted container's bot is always pid 1)
        self.worker_id = f"{self.host}:{os.getpid()}:{INCARNATION}.{uuid.uuid4().hex[:6]}"
        self.stats: Counter[str] = Counter()
        self._last_chat: dict[tuple[str, str], float] = {}
        self._paused: dict[str, float] = {}
        self._next_send: dict[str, float] = {}
        self._late_slots: dict[str, LateSlots] = {}
        self._recovered_at: dict[str, float] = {}
        self._loops: dict[str, asyncio.Task[None]] = {}
        self._wake: dict[str, asyncio.Event] = {}

    def _now(self) -> datetime:
        return self.clock.now() if self.clock is not None else utcnow()

    # -- driving ---------------------------------------------------------------------------

    async def tick(self) -> int:
        """Send what is due now on every platform without a sender loop; rows handled."""
        idle = [(p, m) for p, m in self.messengers.items() if p not in self._loops]
        for platform in self._loops:
            self.nudge(platform)
        done = await asyncio.gather(*(self.drain(p, m) for p, m in idle))
        return sum(done)

    def start(self) -> None:
        """Run one sender loop per platform until `stop()`."""
        for platform, messenger in self.messengers.items():
            if platform not in self._loops:
                self._wake[platform] = asyncio.Event()
                self._loops[platform] = asyncio.create_task(self._run(platform, messenger))

    def nudge(self, platform: str | None = None) -> None:
        """Wake the sender loops (new rows were queued in this process)."""
        for name, event in self._wake.items():
            if platform is None or name == platform:
                event.set()

    async def stop(self) -> None:
        """Stop the sender loops; rows claimed but not yet sent are given back."""
        loops = list(self._loops.values())
        self._loops.clear()
        for task in loops:
            task.cancel()
        await asyncio.gather(*loops, return_exceptions=True)

    async def _run(self, platform: str, messenger: Messenger) -> None:
        event = self._wake[platform]
        while True:
            try:
                await self.drain(platform, messenger)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox sender for %s failed; retrying in 1 s", platform)
                await asyncio.sleep(1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), POLL_SECONDS)
            event.clear()

    async def drain(self, platform: str, messenger: Messenger) -> int:
        """Claim and send until nothing of this platform is due; returns the rows handled."""
        pacing = Pacing.of(messenger)
        await self._recover(platform)
        inflight: set[asyncio.Task[None]] = set()
        handled = 0
        try:
            while True:
                await _sleep_until(self._paused.get(platform, 0.0))
                if pacing.rate:
                    size = min(self.batch, max(1, int(pacing.rate * self.window)))
                else:
                    size = min(self.batch, self.concurrency - len(inflight))
                if size <= 0:
                    await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)
                    continue
                busy = bool(inflight)  # a row finishing during the claim may free its chat
                rows, first, step = await self._claim(platform, size, pacing)
                if rows:
                    handled += len(rows)
                    for index, row in enumerate(rows):
                        task = asyncio.create_task(
                            self._deliver(messenger, row, first + index * step, pacing)
                        )
                        inflight.add(task)
                        task.add_done_callback(inflight.discard)
                    if pacing.rate:
                        await _sleep_until(first + len(rows) * step - LOOKAHEAD)
                    continue
                if inflight:
                    await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)
                    continue
                if busy:
                    continue
                return handled
        except Exception as exc:
            # the database went away: let the rows in flight be sent and recorded (they retry
            # their record) rather than cancel them into a lease-long limbo
            if inflight and database_down(exc):
                await asyncio.wait(inflight, timeout=RECORD_PATIENCE + 5)
            raise
        finally:
            if inflight:
                for task in inflight:
                    task.cancel()
                await asyncio.gather(*inflight, return_exceptions=True)

    # -- one claim, one row ----------------------------------------------------------------

    async def _claim(
        self, platform: str, size: int, pacing: Pacing
    ) -> tuple[Sequence[Outbox], float, float]:
        """Claim rows and, when paced, reserve their send slots in the same transaction."""
        async with UnitOfWork(self.sessionmaker) as uow:
            rows = await uow.outbox.claim(platform, self.worker_id, size, now=self._now())
            first, step = time.time(), 0.0
            if rows and pacing.rate:
                first = await uow.outbox.reserve(platform, len(rows), pacing.rate, time.time())
                step = 1.0 / pacing.rate
            await uow.commit()
        return rows, first, step

    async def _deliver(
        self, messenger: Messenger, row: Outbox, slot: float, pacing: Pacing
    ) -> None:
        platform = messenger.platform
        chat = (platform, row.chat_id)
        started = False
        try:
            at = slot
            if pacing.per_chat and chat in self._last_chat:
                at = max(at, self._last_chat[chat] + pacing.per_chat)
            await _sleep_until(at)
            if pacing.rate:
                try:
                    await self._keep_pace(platform, slot, pacing.rate)
                except Exception as exc:  # noqa: BLE001 - no new slot: back, no attempt counted
                    log.warning("outbox %s: no new send slot (%r); given back", row.id, exc)
                    await self._release(row, time.time() + 1.0, f"no send slot: {exc!r}")
                    return
            paused = self._paused.get(platform, 0.0)
            if paused > time.time():
                await self._release(row, paused, "paused after a rate limit")
                return
            started = True
            self._last_chat[chat] = time.time()
            message_id = await send_row(messenger, row)
        except asyncio.CancelledError:
            if not started:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._release(row, time.time(), None))
            raise
        except ChatMigrated as exc:
            new_chat = exc.new_chat_id

            async def follow(uow: UnitOfWork) -> None:
                await uow.outbox.retarget(row.id, new_chat, self._now())
                await uow.outbox.migrate_chat(row.platform, row.chat_id, new_chat)

            await self._record(follow)
            self.stats["migrated"] += 1
            OUTBOX_MESSAGES.labels(platform, "migrated").inc()
            return
        except RateLimited as exc:
            await self._rate_limited(platform, row, exc)
            return
        except Undeliverable as exc:
            reason = str(exc)
            await self._record(lambda uow: uow.outbox.mark_undeliverable(row.id, reason))
            self.stats["undeliverable"] += 1
            OUTBOX_MESSAGES.labels(platform, "undeliverable").inc()
            log.info("outbox %s undeliverable: %s", row.id, exc)
            return
        except (TimeoutError, OSError, DeliveryError) as exc:
            await self._retry(row, exc)
            return
        except Exception as exc:  # noqa: BLE001 - a messenger bug must not lose the row
            log.exception("outbox %s: unexpected error from the %s messenger", row.id, platform)
            await self._retry(row, exc)
            return
        await self._record(lambda uow: uow.outbox.mark_sent(row.id, message_id, now=self._now()))
        self.stats["sent"] += 1
        OUTBOX_MESSAGES.labels(platform, "sent").inc()

    async def _keep_pace(self, platform: str, slot: float, rate: float) -> None:
        """Return when the row whose shared slot is `slot` may be sent: never closer than one
        step to this process's previous send, and not more than `LATE` after its slot. A row
        further behind (a stall, or a chat's spacing) takes a new shared slot instead of
        catching up (handlers/delivery/slots.py), once: late again, the host is too loaded
        to keep any pace, and more new slots would only leave more slots unused."""
        step = 1.0 / rate
        repaced = False
        while True:
            mine = max(time.time(), self._next_send.get(platform, 0.0))
            if repaced or mine - slot <= LATE:
                self._next_send[platform] = mine + step
                await _sleep_until(mine)
                if repaced or time.time() - slot <= LATE:
                    return
            slot = await self._late(platform, rate).slot()
            self.stats["repaced"] += 1
            repaced = True
            await _sleep_until(slot)

    def _late(self, platform: str, rate: float) -> LateSlots:
        """The new slots of a platform's late rows, reserved like a claim's."""
        late = self._late_slots.get(platform)
        if late is None or late.step != 1.0 / rate:

            async def reserve(count: int) -> float:
                async with UnitOfWork(self.sessionmaker) as uow:
                    first = await uow.outbox.reserve(platform, count, rate, time.time())
                    await uow.commit()
                return first

            late = self._late_slots[platform] = LateSlots(reserve, 1.0 / rate)
        return late

    async def _rate_limited(self, platform: str, row: Outbox, exc: RateLimited) -> None:
        now = time.time()
        wait = max(0.0, float(exc.retry_after))
        pause = now + min(wait, self.pause_max)
        self._paused[platform] = max(self._paused.get(platform, 0.0), pause)
        self.stats["rate_limited"] += 1
        OUTBOX_MESSAGES.labels(platform, "rate_limited").inc()
        log.info("outbox %s: %s asked to wait %.1fs", row.id, platform, wait)

        async def record(uow: UnitOfWork) -> None:
            await uow.outbox.pause(platform, pause)
            await uow.outbox.release(row.id, self._now() + timedelta(seconds=wait), str(exc))

        await self._record(record)

    async def _retry(self, row: Outbox, exc: BaseException) -> None:
        delay = backoff(row.attempts) * random.uniform(0.8, 1.2)  # noqa: S311 - jitter only
        error = f"{type(exc).__name__}: {exc}"
        status: list[OutboxStatus] = []

        async def record(uow: UnitOfWork) -> None:
            status.append(
                await uow.outbox.mark_retry(row.id, delay, error, row.attempts, now=self._now())
            )

        await self._record(record)
        result = "failed" if status and status[0] == OutboxStatus.FAILED else "retried"
        self.stats[result] += 1
        OUTBOX_MESSAGES.labels(row.platform, result).inc()
        log.info("outbox %s will retry (%s): %s", row.id, status[0].value if status else "?", error)

    async def _release(self, row: Outbox, at: float, error: str | None) -> None:
        when = self._now() + timedelta(seconds=max(0.0, at - time.time()))
        await self._record(lambda uow: uow.outbox.release(row.id, when, error))

    async def _record(self, action: Any) -> None:
        """Run and commit `action`; while the database is down, retry (RECORD_PATIENCE)."""
        delay, deadline = 0.2, time.monotonic() + RECORD_PATIENCE
        while True:
            try:
                async with UnitOfWork(self.sessionmaker) as uow:
                    await action(uow)
                    await uow.commit()
                return
            except Exception as exc:
                if not database_down(exc) or time.monotonic() + delay > deadline:
                    raise
                log.warning("outbox: database unreachable (%s); retrying", type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _recover(self, platform: str) -> None:
        """Take back rows held by dead senders of this host (their pid is gone)."""
        now = time.time()
        if now - self._recovered_at.get(platform, 0.0) < RECOVER_EVERY:
            return
        self._recovered_at[platform] = now
        async with UnitOfWork(self.sessionmaker) as uow:
            for worker in await uow.outbox.claimers(platform, f"{self.host}:"):
                if worker == self.worker_id:
                    continue
                if dead_sender(worker):
                    taken = await uow.outbox.release_worker(worker, self._now())
                    log.warning("outbox: took back %d rows of dead sender %s", taken, worker)
            await uow.commit()


def dead_sender(worker: str) -> bool:
    """Whether a sender of this host is gone: its pid is not alive, or is ours but from an
    earlier incarnation of the process."""
    parts = worker.split(":")
    if len(parts) < 3 or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return parts[2].split(".")[0] != INCARNATION
    return not _pid_alive(pid)


async def _sleep_until(at: float) -> None:
    delay = at - time.time()
    if delay > 0:
        await asyncio.sleep(delay)
