"""The unit of work: one session, explicit commit, rollback when the block ends."""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Base
from storage.repositories.base import Repository
from storage.repositories.conversations import ConversationRepo
from storage.repositories.groups import CycleRepo, GroupRepo
from storage.repositories.inbox import InboxRepo
from storage.repositories.ingress import IngressRepo
from storage.repositories.officers import AuthorityRepo, IdentityRepo, OfficerRepo, ProgrammeRepo
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


class UnitOfWork:
    """`async with UnitOfWork(sm) as uow: ...; await uow.commit()`; uncommitted work rolls back."""

    session: AsyncSession

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._repos: dict[type[Repository], Repository] = {}

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._sessionmaker()
        self._repos = {}
        self.officers = self.get(OfficerRepo)
        self.identities = self.get(IdentityRepo)
        self.authorities = self.get(AuthorityRepo)
        self.programmes = self.get(ProgrammeRepo)
        self.conversations = self.get(ConversationRepo)
        self.outbox = self.get(OutboxRepo)
        self.ingress = self.get(IngressRepo)
        self.inbox = self.get(InboxRepo)
        self.kv = self.get(KeyValueRepo)
        self.plans = self.get(LearningPlanRepo)
        self.outcomes = self.get(OutcomeRepo)
        self.surveys = self.get(SurveyRepo)
        self.applications = self.get(ApplicationRepo)
        self.kpis = self.get(KpiRepo)
        self.cycles = self.get(CycleRepo)
        self.groups = self.get(GroupRepo)
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
        """Make the work of this unit durable."""
        await self.session.commit()

    async def rollback(self) -> None:
        """Drop the uncommitted work of this unit."""
        await self.session.rollback()
