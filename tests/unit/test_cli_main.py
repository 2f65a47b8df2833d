"""`bot.cli.main`'s helpers: a command's result is never formatted by asyncio on the way out."""

from __future__ import annotations

from bot.cli.main import arun


class Recorded:
    """A result that counts how often it is formatted (a listing of 20,000 rows costs 0.1 s)."""

    formatted = 0

    def __repr__(self) -> str:
        Recorded.formatted += 1
        return "Recorded()"


async def produce() -> Recorded:
    return Recorded()


def test_arun_returns_the_result_without_formatting_it() -> None:
    Recorded.formatted = 0
    assert isinstance(arun(produce()), Recorded)
    assert Recorded.formatted == 0
