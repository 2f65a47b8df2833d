"""Due-work functions the scheduler ticks; what is due lives in the database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from datetime import timedelta

    from handlers.core.clock import Clock
    from handlers.core.content import ContentStore
    from handlers.core.ports import Messenger
    from storage.uow import UnitOfWork


class JobCtx(Protocol):
    """What due work may use of the core: units of work, each programme's content, the
    clock, the button secret and how long handled updates are kept. Not the router, the
    inbox or the reply sinks: a job answers nobody, it queues what it sends in the outbox."""

    @property
    def secret(self) -> bytes: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def content(self) -> ContentStore: ...
    @property
    def inbox_retention(self) -> timedelta: ...
    def uow(self) -> UnitOfWork: ...


Job = Callable[["JobCtx", "dict[str, Messenger]"], Awaitable[int]]
JOBS: dict[str, Job] = {}


def job(name: str) -> Callable[[Job], Job]:
    """Register a due-work function under a stable name (its scheduler job id)."""

    def register(fn: Job) -> Job:
        JOBS[name] = fn
        return fn

    return register
