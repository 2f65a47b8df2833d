"""The light half of the composition root: the store for a command that needs no bot.

`peerbot officers list` or an import opens the database here and hands a unit of work to a
service; it imports neither the adapters, the scheduler nor the catalogues (`bot.app`), so
such a command starts in well under a second.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from storage.db import make_engine, make_sessionmaker
from storage.errors import database_problem
from storage.uow import UnitOfWork

T = TypeVar("T")

__all__ = ["database_problem", "upgrade_database", "with_unit"]


async def upgrade_database(url: str) -> str:
    """Apply every pending migration (Alembic's full run); the head it reached."""
    from storage.migrate import upgrade

    return await upgrade(url)


async def with_unit(url: str, fn: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """Run `fn(uow)` on the database, brought to the shipped migrations first if behind."""
    from storage.versions import upgrade_if_behind

    engine = make_engine(url)
    try:
        await upgrade_if_behind(url, engine)
        async with UnitOfWork(make_sessionmaker(engine)) as uow:
            return await fn(uow)
    finally:
        await engine.dispose()
