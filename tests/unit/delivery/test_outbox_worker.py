"""The outbox sender: order per chat, outcomes of every delivery error, pacing, recovery."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from bot.app import Runtime
from handlers.core.clock import FrozenClock
from handlers.core.ports import (
    Capabilities,
    ChatMigrated,
    RateLimited,
    TransientError,
    Undeliverable,
)
from handlers.core.replies import Reply
from handlers.delivery.outbox import BULK, OutboxWorker, payload
from handlers.delivery.slots import LATE
from storage.models import Outbox, OutboxStatus, utcnow
from storage.repositories.outbox import MAX_ATTEMPTS
from storage.uow import UnitOfWork
from tests.support.fakes import FakeMessenger


@dataclass
class ScriptedMessenger(FakeMessenger):
    """A fake whose sends to some chats fail as scripted (one error per send, in order)."""

    script: dict[str, list[Exception]] = field(default_factory=dict)
    times: list[float] = field(default_factory=list)

    async def send(self, chat_id: str, reply: Reply) -> str | None:
        self.times.append(time.monotonic())
        errors = self.script.get(chat_id)
        if errors:
            raise errors.pop(0)
        return await super().send(chat_id, reply)


@dataclass
class StallingMessenger(ScriptedMessenger):
    """A fake whose `stall_at`-th send blocks its process for `stall` seconds (as a blocking
    platform call, a GC pause or a starved host would): every sender of the process stops."""

    stall_at: int = 0
    stall: float = 0.0
    started: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, chat_id: str, reply: Reply) -> str | None:
        sent = await super().send(chat_id, reply)
        self.started.set()
        if len(self.times) == self.stall_at:
            time.sleep(self.stall)  # noqa: ASYNC251 - the stall under test blocks the loop
        return sent


async def queue(runtime: Runtime, *rows: tuple[str, str], priority: int = 0) -> None:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        for chat, text in rows:
            await uow.outbox.enqueue(
                f"t:{chat}:{text}", "fake", chat, payload(text), priority=priority
            )
        await uow.commit()


async def rows(runtime: Runtime) -> dict[str, Outbox]:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        found = (await uow.session.execute(select(Outbox).order_by(Outbox.id))).scalars()
        return {r.idempotency_key.split(":", 1)[1]: r for r in found}


def worker(runtime: Runtime, messenger: FakeMessenger, **kw: object) -> OutboxWorker:
    return OutboxWorker(runtime.sessionmaker, {"fake": messenger}, **kw)  # type: ignore[arg-type]


async def test_every_row_is_sent_once_in_order_per_chat(runtime: Runtime) -> None:
    messenger = FakeMessenger()
    await queue(runtime, ("a", "1"), ("b", "1"), ("a", "2"), ("a", "3"), ("b", "2"))
    handled = await worker(runtime, messenger).tick()
    assert handled == 5
    assert messenger.transcript("a") == "1\n2\n3"
    assert messenger.transcript("b") == "1\n2"
    stored = await rows(runtime)
    assert {r.status for r in stored.values()} == {OutboxStatus.SENT}
    assert all(r.platform_message_id for r in stored.values())
    assert await worker(runtime, messenger).tick() == 0


async def test_the_same_key_is_queued_once(runtime: Runtime) -> None:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        assert await uow.outbox.enqueue("k", "fake", "a", payload("x"))
        assert not await uow.outbox.enqueue("k", "fake", "a", payload("y"))
        added = await uow.outbox.enqueue_many(
            [
                {**_row("k"), "chat_id": "a"},
                {**_row("k2"), "chat_id": "b"},
            ]
        )
        await uow.commit()
    assert added == 1


def _row(key: str) -> dict[str, object]:
    from storage.repositories.outbox import row

    return row(key, "fake", "a", payload(key))


async def test_replies_and_relays_go_before_bulk_rows(runtime: Runtime) -> None:
    await queue(runtime, *[(f"bulk{i}", "news") for i in range(3)], priority=BULK)
    await queue(runtime, ("dm", "your answer"))
    messenger = FakeMessenger()
    await worker(runtime, messenger, concurrency=1).tick()
    assert messenger.sent[0].chat_id == "dm"


async def test_delivery_errors_have_the_right_outcome(runtime: Runtime, clock: FrozenClock) -> None:
    messenger = ScriptedMessenger(
        script={
            "blocked": [Undeliverable("Forbidden: bot was blocked by the user")],
            "flaky": [TransientError("502 Bad Gateway")],
            "busy": [RateLimited(7)],
            "old-group": [ChatMigrated("new-group")],
        }
    )
    await queue(runtime, ("blocked", "x"), ("flaky", "x"), ("busy", "x"), ("old-group", "x"))
    clock.set(utcnow())  # rows are queued at the real time
    w = worker(runtime, messenger, clock=clock, pause_max=0.0)
    await w.tick()
    stored = await rows(runtime)
    assert stored["blocked:x"].status == OutboxStatus.UNDELIVERABLE
    assert "blocked" in (stored["blocked:x"].error or "")
    flaky = stored["flaky:x"]
    assert flaky.status == OutboxStatus.PENDING and flaky.attempts == 1
    assert timedelta(seconds=1) < flaky.next_attempt_at - clock.now() < timedelta(seconds=3)
    busy = stored["busy:x"]
    assert busy.status == OutboxStatus.PENDING and busy.attempts == 0  # a 429 costs no attempt
    assert busy.next_attempt_at - clock.now() == timedelta(seconds=7)
    assert stored["old-group:x"].status == OutboxStatus.SENT
    assert messenger.transcript("new-group") == "x"
    assert w.stats["rate_limited"] == 1 and w.stats["undeliverable"] == 1


async def test_transient_errors_retry_with_backoff_then_fail_for_good(
    runtime: Runtime, clock: FrozenClock
) -> None:
    messenger = ScriptedMessenger(script={"down": [TransientError("timeout")] * 20})
    await queue(runtime, ("down", "x"))
    clock.set(utcnow())  # rows are queued at the real time
    w = worker(runtime, messenger, clock=clock)
    for _ in range(MAX_ATTEMPTS + 2):
        await w.tick()
        clock.advance(minutes=15)
    row = (await rows(runtime))["down:x"]
    assert row.status == OutboxStatus.FAILED and row.attempts == MAX_ATTEMPTS
    assert len(messenger.times) == MAX_ATTEMPTS


async def test_a_retried_row_keeps_later_rows_of_its_chat_waiting(
    runtime: Runtime, clock: FrozenClock
) -> None:
    messenger = ScriptedMessenger(script={"a": [TransientError("timeout")]})
    await queue(runtime, ("a", "first"), ("a", "second"), ("b", "other"))
    clock.set(utcnow())  # rows are queued at the real time
    w = worker(runtime, messenger, clock=clock)
    await w.tick()
    assert messenger.transcript("a") == "" and messenger.transcript("b") == "other"
    clock.advance(seconds=5)
    await w.tick()
    assert messenger.transcript("a") == "first\nsecond"


async def test_a_claim_takes_one_row_per_chat_and_never_a_row_twice(runtime: Runtime) -> None:
    await queue(runtime, *[(f"c{i % 10}", str(i)) for i in range(40)])

    async def claim(name: str) -> list[int]:
        async with UnitOfWork(runtime.sessionmaker) as uow:
            got = await uow.outbox.claim("fake", name, 100)
            await uow.commit()
        return [r.id for r in got]

    first, second = await asyncio.gather(claim("w1"), claim("w2"))
    assert len(first) + len(second) == 10  # the head of each of the 10 chats
    assert not set(first) & set(second)
    assert await claim("w3") == []  # every chat has a row in flight


async def test_rows_of_a_dead_sender_on_this_host_are_taken_back_at_once(
    runtime: Runtime,
) -> None:
    await queue(runtime, ("a", "1"), ("b", "1"))
    messenger = FakeMessenger()
    w = worker(runtime, messenger)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        await uow.outbox.claim("fake", f"{w.host}:999999999:dead", 10)  # no such pid
        await uow.commit()
    assert await w.tick() == 2
    assert messenger.transcript("a") == "1" and messenger.transcript("b") == "1"


async def test_rows_of_an_earlier_process_with_our_pid_are_taken_back(runtime: Runtime) -> None:
    """A restarted container's bot is pid 1 again: its predecessor's claims are not its own."""
    await queue(runtime, ("a", "1"), ("b", "1"))
    messenger = FakeMessenger()
    w = worker(runtime, messenger)
    earlier = f"{w.host}:{os.getpid()}:0000dead.abcdef"
    sibling = worker(runtime, messenger).worker_id  # another live worker of this process
    async with UnitOfWork(runtime.sessionmaker) as uow:
        await uow.outbox.claim("fake", earlier, 1)
        await uow.outbox.claim("fake", sibling, 1)
        await uow.commit()
    assert await w.tick() == 1  # the earlier process's row; the live sibling's row is left
    assert len(messenger.sent) == 1


async def test_rows_of_a_sender_elsewhere_wait_for_the_lease(runtime: Runtime) -> None:
    await queue(runtime, ("a", "1"))
    async with UnitOfWork(runtime.sessionmaker) as uow:
        await uow.outbox.claim("fake", "other-host:1:abc", 10)
        await uow.commit()
    later = FrozenClock(utcnow() + timedelta(seconds=130))
    messenger = FakeMessenger()
    assert await worker(runtime, messenger).tick() == 0
    assert await worker(runtime, messenger, clock=later).tick() == 1
    assert messenger.transcript("a") == "1"


async def test_pacing_holds_the_rate_across_two_workers(runtime: Runtime) -> None:
    rate = 40.0
    messenger = ScriptedMessenger(capabilities=Capabilities(rate_per_second=rate))
    count = 30
    await queue(runtime, *[(f"c{i}", "x") for i in range(count)])
    started = time.monotonic()
    w1, w2 = worker(runtime, messenger), worker(runtime, messenger)
    await asyncio.gather(w1.tick(), w2.tick())
    took = time.monotonic() - started
    assert len(messenger.sent) == count and len({s.chat_id for s in messenger.sent}) == count
    # two workers pacing independently would finish in half this time: the slots are shared.
    # (Only a lower bound: a busy host can delay a send, never make it early.)
    assert took >= (count - 1) / rate * 0.95


async def test_a_chat_gets_at_most_one_message_per_interval(runtime: Runtime) -> None:
    messenger = ScriptedMessenger(capabilities=Capabilities(per_chat_interval=0.2))
    await queue(runtime, ("a", "1"), ("a", "2"), ("a", "3"), ("b", "1"))
    await worker(runtime, messenger).tick()
    assert messenger.transcript("a") == "1\n2\n3"
    a_times = [t for s, t in zip(messenger.sent, messenger.times, strict=True) if s.chat_id == "a"]
    assert all(b - a >= 0.19 for a, b in zip(a_times, a_times[1:], strict=False))


async def test_rows_left_behind_by_a_stall_take_new_shared_slots_instead_of_catching_up(
    runtime: Runtime,
) -> None:
    """Two senders share 50/s. One send blocks the process for 0.8 s, a stretch of slots of
    both goes by unused. Sent at once after it, at each sender's own pace, those rows would
    add up to twice the shared rate until they were caught up (80 in a second); they take new
    slots instead, so no second holds more than the shared rate allows plus `LATE`."""
    rate, window = 50.0, 1.0
    messenger = StallingMessenger(
        capabilities=Capabilities(rate_per_second=rate), stall_at=20, stall=0.8
    )
    await queue(runtime, *[(f"c{i}", "x") for i in range(100)])
    w1, w2 = worker(runtime, messenger), worker(runtime, messenger)

    async def second() -> int:
        await messenger.started.wait()  # on SQLite two claims at once can pick the same rows
        return await w2.tick()

    await asyncio.gather(w1.tick(), second())
    assert len(messenger.sent) == 100 and len({s.chat_id for s in messenger.sent}) == 100
    assert w1.stats["sent"] and w2.stats["sent"], "the two senders did not share the work"
    assert w1.stats["repaced"] + w2.stats["repaced"] > 0, "the stall left no row behind"
    times = messenger.times
    busiest = max(sum(1 for t in times if start <= t < start + window) for start in times)
    # each send goes within LATE of a slot of its own, slots 1/rate apart
    assert busiest <= rate * (window + LATE) + 1, f"{busiest} sent in {window:g} s at {rate}/s"
