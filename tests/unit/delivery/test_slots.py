"""New shared slots for late rows: one reservation per stall, handed out in order."""

from __future__ import annotations

import asyncio

import pytest

from handlers.delivery.slots import LateSlots


async def test_rows_late_together_share_one_reservation_in_the_order_they_asked() -> None:
    asked: list[int] = []

    async def reserve(count: int) -> float:
        asked.append(count)
        return 100.0

    late = LateSlots(reserve, 0.5)
    slots = await asyncio.gather(*(late.slot() for _ in range(3)))
    assert slots == [100.0, 100.5, 101.0]
    assert asked == [3]
    assert await late.slot() == 100.0 and asked == [3, 1]  # a later stall reserves anew


async def test_a_failed_reservation_reaches_every_row_that_waited_for_it() -> None:
    async def reserve(count: int) -> float:
        raise ConnectionError("database gone")

    late = LateSlots(reserve, 0.5)
    found = await asyncio.gather(late.slot(), late.slot(), return_exceptions=True)
    assert [type(f) for f in found] == [ConnectionError, ConnectionError]
    with pytest.raises(ConnectionError):
        await late.slot()
