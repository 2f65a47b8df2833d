"""The SQLite writer lock: one holder; urgent waiters go before ordinary ones; cancels pass it on."""

from __future__ import annotations

import asyncio

import pytest

from handlers.core.writer import WriterLock


async def _take(lock: WriterLock, name: str, order: list[str], urgent: bool = False) -> None:
    async with lock.hold(urgent):
        order.append(name)
        await asyncio.sleep(0)


async def test_urgent_waiters_go_before_ordinary_ones_each_in_arrival_order() -> None:
    lock = WriterLock()
    order: list[str] = []
    release = asyncio.Event()

    async def first() -> None:
        async with lock.hold():
            order.append("holder")
            await release.wait()

    holder = asyncio.create_task(first())
    await asyncio.sleep(0)
    waiters = [
        asyncio.create_task(_take(lock, "a", order)),
        asyncio.create_task(_take(lock, "b", order)),
        asyncio.create_task(_take(lock, "urgent1", order, urgent=True)),
        asyncio.create_task(_take(lock, "urgent2", order, urgent=True)),
    ]
    await asyncio.sleep(0)
    assert lock.locked() and order == ["holder"]
    release.set()
    await asyncio.gather(holder, *waiters)
    assert order == ["holder", "urgent1", "urgent2", "a", "b"]
    assert not lock.locked()


async def test_only_one_holder_at_a_time() -> None:
    lock = WriterLock()
    inside = 0
    most = 0

    async def work(urgent: bool) -> None:
        nonlocal inside, most
        async with lock.hold(urgent):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.001)
            inside -= 1

    await asyncio.gather(*(work(n % 3 == 0) for n in range(30)))
    assert most == 1 and not lock.locked()


async def test_a_cancelled_waiter_neither_keeps_nor_loses_the_lock() -> None:
    lock = WriterLock()
    order: list[str] = []
    release = asyncio.Event()

    async def first() -> None:
        async with lock.hold():
            await release.wait()

    holder = asyncio.create_task(first())
    await asyncio.sleep(0)
    gone = asyncio.create_task(_take(lock, "gone", order, urgent=True))
    later = asyncio.create_task(_take(lock, "later", order))
    await asyncio.sleep(0)
    gone.cancel()
    release.set()
    await holder
    with pytest.raises(asyncio.CancelledError):
        await gone
    await asyncio.wait_for(later, 5)  # a lock kept by the cancelled task would hang here
    assert order == ["later"] and not lock.locked()


async def test_a_waiter_cancelled_right_after_being_handed_the_lock_passes_it_on() -> None:
    lock = WriterLock()
    order: list[str] = []
    release = asyncio.Event()

    async def first() -> None:
        async with lock.hold():
            await release.wait()

    holder = asyncio.create_task(first())
    await asyncio.sleep(0)
    handed = asyncio.create_task(_take(lock, "handed", order))
    later = asyncio.create_task(_take(lock, "later", order))
    await asyncio.sleep(0)
    release.set()
    await asyncio.sleep(0)  # the holder leaves and hands the lock to `handed`, not yet running
    assert holder.done() and not handed.done()
    handed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await handed
    await asyncio.wait_for(later, 5)  # a lock kept by the cancelled task would hang here
    assert order == ["later"] and not lock.locked()
