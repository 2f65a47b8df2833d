"""One writer at a time on SQLite, with a lane for records that must not wait.

A reply already delivered to the platform but not yet recorded as sent is sent again if the
process dies (the outbox takes its row back). With a plain FIFO lock the record queued behind
every handler transaction waiting for SQLite's single writer (measured under a burst: several
replies unrecorded at any moment, so several duplicates per crash). Likewise a platform waiting
for its acknowledgement (a webhook's update stored in the inbox) should not wait for a queue of
handlers. Urgent holders go before every ordinary waiter, so they wait for at most the one
transaction that is running.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator


class WriterLock:
    """A mutex whose urgent waiters are served before the others, each lane in arrival order."""

    def __init__(self) -> None:
        self._held = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    def locked(self) -> bool:
        """Held by someone now."""
        return self._held

    @contextlib.asynccontextmanager
    async def hold(self, urgent: bool = False) -> AsyncIterator[None]:
        """Hold the lock for the block; `urgent` waits only for the current holder."""
        if self._held or self._urgent or (self._normal and not urgent):
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            (self._urgent if urgent else self._normal).append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._release()  # handed over just before the cancel: pass it on
                else:
                    with contextlib.suppress(ValueError):
                        (self._urgent if urgent else self._normal).remove(waiter)
                raise
        else:
            self._held = True
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        """Hand the lock to the next live waiter (urgent first), else free it."""
        for lane in (self._urgent, self._normal):
            while lane:
                waiter = lane.popleft()
                if not waiter.done():
                    waiter.set_result(None)  # stays held: ownership moves to the waiter
                    return
        self._held = False
