"""New shared send slots for rows that missed theirs.

Every claim reserves its rows' send slots in the shared pace (`outbox_pace`), so the senders
of every process together keep a platform's rate. A sender that stalls (a slow platform call, a
GC pause, a loaded host) wakes with rows whose slots went by while the other senders kept
sending on theirs. Sent now, one after another at the sender's own pace, those rows would be
added to the others' and, for as long as the catch-up lasts, exceed the shared rate (three
senders at 100/s: up to 1.5 times in a three-second window). A row whose slot is more than
`LATE` behind therefore goes back to the shared pace and takes a new slot, after every slot
reserved so far; its missed slot stays unused, which can only slow the senders down. The rows
of one stall wake together and share one reservation. A row takes a new slot once: late again,
its host is too loaded to keep any pace, and new slots would only leave more of them unused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

LATE = 0.25
"""How far behind its slot a row may still go (seconds): below it a sender's ordinary wake-up
delay, above it a stall. At a shared rate R, no window holds more than R x (window + LATE)."""


class LateSlots:
    """Hands new slots of one platform's shared pace to late rows, in the order they ask.

    `reserve(count)` reserves `count` consecutive slots and returns the first; `step` is the
    time between two slots."""

    def __init__(self, reserve: Callable[[int], Awaitable[float]], step: float) -> None:
        self.reserve = reserve
        self.step = step
        self._waiting: list[asyncio.Future[float]] = []

    async def slot(self) -> float:
        """A new slot (epoch seconds) for a late row; raises what the reservation raised."""
        waiter: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        if len(self._waiting) == 1:
            asyncio.create_task(self._reserve_soon())  # noqa: RUF006 - the waiters hold its result
        return await waiter

    async def _reserve_soon(self) -> None:
        await asyncio.sleep(0)  # the other rows woken late by the same stall join this batch
        batch, self._waiting = self._waiting, []
        live = [w for w in batch if not w.done()]
        if not live:
            return
        try:
            first = await self.reserve(len(live))
        except BaseException as exc:
            for waiter in live:
                if not waiter.done():
                    waiter.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for index, waiter in enumerate(live):
            if not waiter.done():
                waiter.set_result(first + index * self.step)
