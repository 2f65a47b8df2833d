"""The unit of work: one session, explicit commit, rollback when the block ends."""

from __future__ import annotations

import importlib
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.repositories.base import Repository

if TYPE_CHECKING:
    from storage.models import Base
    from storage.repositories.conversations import ConversationRepo
    from storage.repositories.groups import CycleRepo, GroupRepo
    from storage.repositories.inbox import InboxRepo
    from storage.repositories.ingress import IngressRepo
    from storage.repositories.officers import (
        AuthorityRepo,
        IdentityRepo,
        OfficerRepo,
        ProgrammeRepo,
    )
    from storage.repositories.outbox import OutboxRepo
    from storage.repositories.outcomes import (
        ApplicationRepo,
        KpiRepo,
        LearningPlanRepo,
        OutcomeRepo,
        SurveyRepo,
    )
    from storage.repositories.settings import KeyValueRepo

SessionFactory = async_sessionmaker[AsyncSession]
"""What opens database sessions: callers outside storage name it without naming SQLAlchemy."""

R = TypeVar("R", bound=Repository)


class Repo(Generic[R]):
    """A repository as a typed attribute of the unit of work, its module imported on first
    use: a command that reads one listing then imports neither every repository nor the ORM
    models behind them (a third of a second of start-up)."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name
        self.cls: type[R] | None = None

    @overload
    def __get__(self, uow: None, owner: type[Any]) -> Repo[R]: ...
    @overload
    def __get__(self, uow: UnitOfWork, owner: type[Any]) -> R: ...
    def __get__(self, uow: UnitOfWork | None, owner: type[Any]) -> Repo[R] | R:
        if uow is None:
            return self
        if self.cls is None:
            found: type[R] = getattr(importlib.import_module(self.module), self.name)
            self.cls = found
        return uow.get(self.cls)


_OFFICERS = "storage.repositories.officers"
_OUTCOMES = "storage.repositories.outcomes"
_GROUPS = "storage.repositories.groups"


class SharedTransaction(Exception):
    """A unit of work sharing its transaction with others tried to roll back alone."""


class UnitOfWork:
    """`async with UnitOfWork(sm) as uow: ...; await uow.commit()`; uncommitted work rolls back."""

    session: AsyncSession

    officers: Repo[OfficerRepo] = Repo(_OFFICERS, "OfficerRepo")
    identities: Repo[IdentityRepo] = Repo(_OFFICERS, "IdentityRepo")
    authorities: Repo[AuthorityRepo] = Repo(_OFFICERS, "AuthorityRepo")
    programmes: Repo[ProgrammeRepo] = Repo(_OFFICERS, "ProgrammeRepo")
    conversations: Repo[ConversationRepo] = Repo(
        "storage.repositories.conversations", "ConversationRepo"
    )
    outbox: Repo[OutboxRepo] = Repo("storage.repositories.outbox", "OutboxRepo")
    ingress: Repo[IngressRepo] = Repo("storage.repositories.ingress", "IngressRepo")
    inbox: Repo[InboxRepo] = Repo("storage.repositories.inbox", "InboxRepo")
    kv: Repo[KeyValueRepo] = Repo("storage.repositories.settings", "KeyValueRepo")
    plans: Repo[LearningPlanRepo] = Repo(_OUTCOMES, "LearningPlanRepo")
    outcomes: Repo[OutcomeRepo] = Repo(_OUTCOMES, "OutcomeRepo")
    surveys: Repo[SurveyRepo] = Repo(_OUTCOMES, "SurveyRepo")
    applications: Repo[ApplicationRepo] = Repo(_OUTCOMES, "ApplicationRepo")
    kpis: Repo[KpiRepo] = Repo(_OUTCOMES, "KpiRepo")
    cycles: Repo[CycleRepo] = Repo(_GROUPS, "CycleRepo")
    groups: Repo[GroupRepo] = Repo(_GROUPS, "GroupRepo")

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._repos: dict[type[Repository], Repository] = {}
        self._held = False

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._sessionmaker()
        self._repos = {}
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back what was not committed without expiring loaded objects,
        # so results read inside the block stay usable after it.
        await self.session.close()

    def get(self, repo_cls: type[R]) -> R:
        """The repository of that class bound to this unit's session."""
        repo = self._repos.get(repo_cls)
        if repo is None:
            repo = self._repos[repo_cls] = repo_cls(self.session)
        return repo  # type: ignore[return-value]

    async def ping(self) -> None:
        """Raise if the database cannot be reached (a round trip, nothing read)."""
        await self.session.execute(text("SELECT 1"))

    def add(self, entity: Base) -> None:
        """Track a new row; it is written at the next flush or commit."""
        self.session.add(entity)

    async def flush(self) -> None:
        """Write pending changes now (to read generated ids) without committing."""
        await self.session.flush()

    async def commit(self) -> None:
        """Make the work of this unit durable (while commits are held: only written, durable
        with the shared transaction's commit)."""
        if self._held:
            await self.session.flush()
            return
        await self.session.commit()

    async def rollback(self) -> None:
        """Drop the uncommitted work of this unit (while commits are held it cannot: the
        others' work would go with it; this raises, and the shared transaction rolls back)."""
        if self._held:
            raise SharedTransaction("a unit of work sharing a transaction cannot roll back alone")
        await self.session.rollback()

    def hold_commits(self, held: bool = True) -> None:
        """Several units of work share this transaction (the inbox handles a backlog's rows
        in one): while held, `commit` only writes and `rollback` raises, so the transaction
        commits, or rolls back, as one."""
        self._held = held

    async def next_unit(self) -> None:
        """Start another unit of work in this transaction: write what is pending and forget
        the objects loaded, so it reads rows afresh as a transaction of its own would (an
        UPDATE that bypassed loaded objects would otherwise leave them stale)."""
        await self.session.flush()
        self.session.expunge_all()
