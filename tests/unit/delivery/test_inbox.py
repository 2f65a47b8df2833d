"""The durable inbox: order within a conversation, parallel across them, retries and poison,
malformed updates, leases, and replies that only leave after the commit."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from bot.app import Runtime
from handlers.core.events import Incoming
from handlers.core.ports import TransientError
from handlers.core.replies import Reply
from handlers.core.router import router
from handlers.delivery.inbox import Door, InboxWorker, retry_delay
from handlers.delivery.outbox import OutboxWorker
from storage.models import (
    Conversation,
    InboxItem,
    InboxStatus,
    Officer,
    Outbox,
    OutboxStatus,
    utcnow,
)
from storage.repositories.inbox import Claimed
from storage.uow import UnitOfWork
from tests.support.fakes import FakeMessenger


def message(user: str, text: str, n: int) -> Incoming:
    return Incoming("fake", user, user, text=text, display_name=user, update_id=f"{user}:{n}")


async def worker_for(runtime: Runtime, messenger: Any, concurrency: int = 8) -> InboxWorker:
    return InboxWorker(runtime.core, {"fake": Door(messenger)}, concurrency=concurrency)


async def rows(runtime: Runtime) -> list[InboxItem]:
    async with runtime.sessionmaker() as session:
        return list((await session.execute(select(InboxItem).order_by(InboxItem.id))).scalars())


async def test_a_burst_during_onboarding_is_handled_in_order_while_others_run_in_parallel(
    runtime: Runtime,
) -> None:
    messenger = FakeMessenger()
    worker = await worker_for(runtime, messenger)
    order: dict[str, list[str]] = defaultdict(list)
    running = peak = 0
    process = runtime.core.process

    async def traced(item: Claimed, *args: Any, **kwargs: Any) -> Any:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        order[item.conversation].append(item.update_key)
        await asyncio.sleep(0.01)  # long enough for other conversations to overlap
        try:
            return await process(item, *args, **kwargs)
        finally:
            running -= 1

    process_many = runtime.core.process_many

    async def traced_many(batch: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal running, peak
        running += len(batch)  # rows of a backlog handled together, in one transaction
        peak = max(peak, running)
        for item, _, _ in batch:
            order[item.conversation].append(item.update_key)
        try:
            return await process_many(batch, *args, **kwargs)
        finally:
            running -= len(batch)

    runtime.core.process = traced  # type: ignore[method-assign]
    runtime.core.process_many = traced_many  # type: ignore[method-assign]
    steps = ["/start", "yes", "Marie Dubois", "Ghent", "Belgium", "Energy manager"]
    burst = steps + [f"extra message {n}" for n in range(len(steps), 20)]
    others = [f"u{n}" for n in range(2, 6)]
    for n, text in enumerate(burst):  # one officer's 20 messages, interleaved with others
        assert await runtime.core.accept(message("marie", text, n))
        for other in others:
            assert await runtime.core.accept(message(other, "/help", n))
    assert await worker.drain() == 20 * 5
    assert len(order) == 5
    for conversation, keys in order.items():
        user = conversation.split(":", 1)[1]
        assert keys == [f"{user}:{n}" for n in range(20)], conversation
    assert peak > 1  # different officers were handled at the same time (or together)
    async with runtime.sessionmaker() as session:
        officer = (await session.execute(select(Officer))).scalars().one_or_none()
        flow = (await session.execute(select(Conversation))).scalars().one()
    assert officer is None  # the flow is still at the languages step: nothing half-stored
    assert flow.data["name"] == "Marie Dubois" and flow.data["authority_name"] == "Ghent"
    assert all(r.status == InboxStatus.DONE for r in await rows(runtime))
    transcript = messenger.transcript("marie")
    prompts = ["Do you agree?", "What is your name?", "Which authority", "In which country"]
    positions = [transcript.index(p) for p in prompts]
    assert positions == sorted(positions)  # the officer read the steps in order


async def test_a_failing_handler_is_retried_then_parked_and_does_not_block_the_next(
    runtime: Runtime,
) -> None:
    calls: list[str] = []

    @router.command("boom_inbox_test")
    async def boom(event: Incoming, ctx: Any) -> None:
        calls.append(event.text)
        await ctx.reply("errors.generic")  # never sent: the transaction is rolled back
        raise RuntimeError("a bug")

    try:
        messenger = FakeMessenger()
        worker = await worker_for(runtime, messenger)
        # the bot waits 0.5, 1 and 2 s between tries; here 20, 40 and 80 ms do the same
        assert [retry_delay(n) for n in (1, 2, 3, 4)] == [
            timedelta(seconds=0.5), timedelta(seconds=1), timedelta(seconds=2), None
        ]  # fmt: skip
        worker.retry_first = 0.02
        await runtime.core.accept(message("u1", "/boom_inbox_test", 1))
        await runtime.core.accept(message("u1", "/help", 2))
        await worker.drain()
        assert len(calls) == 4  # tried four times
        first, second = await rows(runtime)
        assert first.status == InboxStatus.POISON and "a bug" in (first.error or "")
        assert second.status == InboxStatus.DONE
        texts = [s.reply.text for s in messenger.to("u1")]
        assert len(texts) == 2 and "went wrong" in texts[0] and "/help" in texts[1]
        async with UnitOfWork(runtime.sessionmaker) as uow:
            assert (await uow.inbox.stats())["poison"] == 1
    finally:
        router.commands.pop("boom_inbox_test", None)


async def test_a_malformed_update_is_kept_with_its_error_and_never_handled(
    runtime: Runtime,
) -> None:
    assert await runtime.core.accept_malformed("fake", "77", '{"odd": true}', "KeyError: chat")
    assert not await runtime.core.accept_malformed("fake", "77", '{"odd": true}', "again")
    worker = await worker_for(runtime, FakeMessenger())
    assert await worker.drain() == 0
    [row] = await rows(runtime)
    assert row.status == InboxStatus.MALFORMED and '{"odd": true}' in (row.error or "")


async def test_a_duplicate_update_is_stored_once(runtime: Runtime) -> None:
    assert await runtime.core.accept(message("u1", "/help", 1))
    assert not await runtime.core.accept(message("u1", "/help", 1))
    assert len(await rows(runtime)) == 1


async def test_a_batch_is_stored_in_order_each_update_once(runtime: Runtime) -> None:
    assert await runtime.core.accept(message("u1", "/help", 1))
    batch = [message("u2", "a", 1), message("u1", "/help", 1), message("u3", "b", 1)]
    batch += [message("u2", "a", 1), message("u2", "c", 2)]
    assert await runtime.core.accept_many(batch) == [True, False, True, False, True]
    assert [r.update_key for r in await rows(runtime)] == ["u1:1", "u2:1", "u3:1", "u2:2"]


async def test_a_row_whose_lease_ran_out_is_taken_by_another_worker_and_the_first_loses_it(
    runtime: Runtime,
) -> None:
    await runtime.core.accept(message("u1", "/help", 1))
    async with UnitOfWork(runtime.sessionmaker) as uow:
        [mine] = await uow.inbox.claim("host:1:a.in1", 5)
        await uow.commit()
    async with UnitOfWork(runtime.sessionmaker) as uow:
        assert await uow.inbox.claim("host:2:b.in2", 5) == []  # still leased
        later = utcnow() + timedelta(minutes=5)
        [taken] = await uow.inbox.claim("host:2:b.in2", 5, now=later)
        await uow.commit()
    assert taken.id == mine.id
    async with UnitOfWork(runtime.sessionmaker) as uow:
        assert not await uow.inbox.finish(mine.id, "host:1:a.in1")  # no longer ours
        assert await uow.inbox.finish(mine.id, "host:2:b.in2")
        await uow.commit()


class SlowTelegram(FakeMessenger):
    """Delivers the message, then answers after the client gave up (a read timeout)."""

    fail_next: int = 0

    async def send(self, chat_id: str, reply: Reply) -> str | None:
        mid = await super().send(chat_id, reply)
        if self.fail_next:
            self.fail_next -= 1
            raise TransientError("read timeout after 5 s")
        return mid


async def test_a_slow_platform_reply_never_rolls_back_what_the_officer_was_told(
    runtime: Runtime,
) -> None:
    messenger = SlowTelegram()
    worker = await worker_for(runtime, messenger)
    await runtime.core.accept(message("u1", "/start", 1))
    await worker.drain()
    messenger.fail_next = 1
    await runtime.core.accept(message("u1", "yes", 2))  # consent; its reply "times out"
    await worker.drain()
    async with runtime.sessionmaker() as session:
        flow = (await session.execute(select(Conversation))).scalars().one()
        reply = (
            (
                await session.execute(
                    select(Outbox).where(Outbox.purpose == "reply").order_by(Outbox.id)
                )
            )
            .scalars()
            .all()[-1]
        )
    assert flow.step == "name"  # the consent was saved although the platform answered late
    assert reply.status == OutboxStatus.PENDING  # left to the outbox, which will retry it
    assert not any("went wrong" in s.reply.text for s in messenger.sent)
    sender = OutboxWorker(runtime.sessionmaker, {"fake": messenger}, clock=None)
    async with UnitOfWork(runtime.sessionmaker) as uow:  # the retry is due now
        await uow.outbox.retarget(reply.id, reply.chat_id, utcnow())
        await uow.commit()
    await sender.tick()
    # delivered twice: the platform did show the first, late, answer (at least once)
    assert sum("What is your name?" in s.reply.text for s in messenger.sent) == 2


async def test_replies_of_a_handled_row_are_recorded_as_sent(runtime: Runtime) -> None:
    messenger = FakeMessenger()
    worker = await worker_for(runtime, messenger)
    for n in range(3):
        await runtime.core.accept(message(f"u{n}", "/help", n))
    await worker.drain()
    async with runtime.sessionmaker() as session:
        statuses = (
            await session.execute(select(Outbox.status, func.count()).group_by(Outbox.status))
        ).all()
    assert dict(statuses) == {OutboxStatus.SENT: 3}
    assert len(messenger.sent) == 3


async def test_a_backlog_shares_a_transaction_and_one_failing_handler_keeps_nothing_of_its_own(
    runtime: Runtime,
) -> None:
    groups: list[int] = []
    process_many = runtime.core.process_many

    async def counted(batch: Any, *args: Any, **kwargs: Any) -> Any:
        groups.append(len(batch))
        return await process_many(batch, *args, **kwargs)

    @router.command("note_group_test")
    async def note(event: Incoming, ctx: Any) -> None:
        """Appends the message's number to what is kept for its sender (an effect per row)."""
        key = f"group_test:{event.user_id}"
        kept = await ctx.uow.kv.get(key)
        await ctx.uow.kv.put(key, f"{kept or ''}{event.args}")
        await ctx.reply("errors.generic")

    @router.command("boom_group_test")
    async def boom(event: Incoming, ctx: Any) -> None:
        await note(event, ctx)  # written, then rolled back with the whole group
        raise RuntimeError("a bug")

    runtime.core.process_many = counted  # type: ignore[method-assign]
    try:
        messenger = FakeMessenger()
        worker = await worker_for(runtime, messenger, concurrency=5)  # five senders fill it
        worker.retry_first = 0.02
        users = ["u1", "u2", "bad", "u3", "u4"]
        for n in (1, 2):  # each sender's first message, then their second
            for user in users:
                command = "boom_group_test" if (user, n) == ("bad", 1) else "note_group_test"
                await runtime.core.accept(message(user, f"/{command} {n}", n))
        await worker.drain()
        assert groups and groups[0] == 5  # the five first messages, in one transaction
        async with UnitOfWork(runtime.sessionmaker) as uow:
            kept = {user: await uow.kv.get(f"group_test:{user}") for user in users}
        # each effect once and in order; none of the failed handler's
        assert kept == {"u1": "12", "u2": "12", "bad": "2", "u3": "12", "u4": "12"}
        for user in ("u1", "u2", "u3", "u4"):
            assert len(messenger.to(user)) == 2  # one reply per message, no repeat
        statuses = {(r.update_key, r.status) for r in await rows(runtime)}
        assert ("bad:1", InboxStatus.POISON) in statuses
        assert sum(status == InboxStatus.DONE for _, status in statuses) == 9
        async with runtime.sessionmaker() as session:
            replies = (
                await session.execute(
                    select(Outbox.status, func.count())
                    .where(Outbox.purpose == "reply")
                    .group_by(Outbox.status)
                )
            ).all()
        assert dict(replies) == {OutboxStatus.SENT: 9}  # nothing queued by the failed handler
        assert len(messenger.to("bad")) == 2  # the apology for row 1, the reply to row 2
    finally:
        router.commands.pop("note_group_test", None)
        router.commands.pop("boom_group_test", None)


async def test_a_row_taken_by_another_worker_while_its_group_waits_is_left_to_it(
    runtime: Runtime,
) -> None:
    taken: list[Claimed] = []

    async def steal_first(event: Incoming) -> Incoming:
        """Another worker takes the oldest row (its lease looked expired) before the group's
        transaction begins."""
        if not taken:
            async with UnitOfWork(runtime.sessionmaker) as uow:
                later = utcnow() + timedelta(minutes=5)
                taken.extend(await uow.inbox.claim("host:2:b.in2", 1, now=later))
                await uow.commit()
        return event

    groups: list[int] = []
    process_many = runtime.core.process_many

    async def counted(batch: Any, *args: Any, **kwargs: Any) -> Any:
        groups.append(len(batch))
        return await process_many(batch, *args, **kwargs)

    runtime.core.process_many = counted  # type: ignore[method-assign]
    messenger = FakeMessenger()
    door = Door(messenger, prepare=steal_first)
    worker = InboxWorker(runtime.core, {"fake": door}, concurrency=3)  # three senders fill it
    for user in ("u1", "u2", "u3"):
        await runtime.core.accept(message(user, "/help", 1))
    assert await worker.idle()
    [stolen] = taken
    assert stolen.update_key == "u1:1"
    assert groups == [3]  # tried together, then (the claim lost) each alone
    assert messenger.to("u1") == []  # the other worker answers it
    assert len(messenger.to("u2")) == 1 and len(messenger.to("u3")) == 1
    by_key = {r.update_key: r for r in await rows(runtime)}
    assert by_key["u1:1"].status == InboxStatus.WORKING
    assert by_key["u1:1"].claimed_by == "host:2:b.in2"
    assert by_key["u2:1"].status == by_key["u3:1"].status == InboxStatus.DONE
    await worker.stop()


class HeldTelegram(FakeMessenger):
    """Holds the first reply to each chat of `held` until `release` is set (a platform pacing
    them, or a 429 waited out), then delivers it."""

    def __init__(self, held: set[str]) -> None:
        super().__init__()
        self.held = held
        self.waiting: set[str] = set()
        self.release = asyncio.Event()

    async def send(self, chat_id: str, reply: Reply) -> str | None:
        if chat_id in self.held:
            self.held.discard(chat_id)
            self.waiting.add(chat_id)
            await self.release.wait()
        return await super().send(chat_id, reply)


async def until(check: Any, within: float = 30.0) -> None:
    """Poll `check()` (a deadlock guard, not a timing: it is true at once or never)."""
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "never happened"
        await asyncio.sleep(0.01)


async def test_replies_waiting_on_the_platform_hold_neither_other_officers_nor_their_order(
    runtime: Runtime,
) -> None:
    slow = [f"slow{n}" for n in range(4)]  # as many as the worker may claim at once (2 x 2)
    messenger = HeldTelegram(set(slow))
    worker = await worker_for(runtime, messenger, concurrency=2)
    for user in slow:
        await runtime.core.accept(message(user, "/help", 1))
    await runtime.core.accept(message("slow0", "/start", 2))  # its reply must come second
    others = [f"u{n}" for n in range(6)]
    for user in others:
        await runtime.core.accept(message(user, "/help", 1))
    worker.start()
    try:
        await until(lambda: messenger.waiting == set(slow))
        # committed rows whose replies wait for the platform no longer hold claims back
        await until(lambda: all(messenger.to(user) for user in others))
        # and the same officer's next message is handled meanwhile; its reply waits its turn
        deadline = asyncio.get_running_loop().time() + 30
        while ("slow0:2", InboxStatus.DONE) not in {
            (r.update_key, r.status) for r in await rows(runtime)
        }:
            assert asyncio.get_running_loop().time() < deadline, "slow0's second row never handled"
            await asyncio.sleep(0.01)
        assert "Do you agree?" not in messenger.transcript("slow0")
    finally:
        messenger.release.set()
        await worker.stop()
    transcript = messenger.transcript("slow0")
    assert "/profile" in transcript and "Do you agree?" in transcript
    assert transcript.index("/profile") < transcript.index("Do you agree?")  # in turn
