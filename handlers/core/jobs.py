"""Due-work functions the scheduler ticks; what is due lives in the database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from handlers.core.engine import Core
    from handlers.core.ports import Messenger

Job = Callable[["Core", "dict[str, Messenger]"], Awaitable[int]]
JOBS: dict[str, Job] = {}


def job(name: str) -> Callable[[Job], Job]:
    """Register a due-work function under a stable name (its scheduler job id)."""

    def register(fn: Job) -> Job:
        JOBS[name] = fn
        return fn

    return register
