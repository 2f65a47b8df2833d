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
    from storage.repositories.announcements import AnnouncementRepo
    from storage.repositories.audience import AudienceRepo
    from storage.repositories.console import AuditRepo, ConsoleRepo, QuestionRepo
    from storage.repositories.conversations import ConversationRepo
    from storage.repositories.dashboard import DashboardTokenRepo
    from storage.repositories.dashboard_sessions import DashboardRevocation, DashboardSessionRepo
    from storage.repositories.demo import DemoRepo
    from storage.repositories.discussions import DiscussionRepo
    from storage.repositories.faq import FaqQueryRepo
    from storage.repositories.followups import IntroFollowUpRepo, PauseRepo
    from storage.repositories.group_edits import GroupEditRepo
    from storage.repositories.group_life import GroupLifeRepo
    from storage.repositories.groups import CycleRepo, GroupRepo
    from storage.repositories.inbox import InboxRepo
    from storage.repositories.ingress import IngressRepo
    from storage.repositories.invite_status import InviteListRepo
    from storage.repositories.invites import InviteRepo
    from storage.repositories.listings import ListingRepo
    from storage.repositories.officers import (
        AuthorityRepo,
        IdentityRepo,
        OfficerRepo,
        ProgrammeRepo,
        RosterRepo,
    )
    from storage.repositories.outbox import OutboxRepo
    from storage.repositories.outcomes import (
        ApplicationRepo,
        KpiRepo,
        LearningPlanRepo,
        OutcomeRepo,
        SurveyRepo,
    )
    from storage.repositories.pairs import CheckInRepo, MatchRepo, PairRepo, SpaceRepo
    from storage.repositories.practices import PracticeRepo
    from storage.repositories.privacy import PersonalDataRepo, PreConsentRepo
    from storage.repositories.reach import ReachRepo
    from storage.repositories.report import ReportRepo
    from storage.repositories.retention import RetentionRepo
    from storage.repositories.settings import KeyValueRepo
    from storage.repositories.stats import StatsRepo

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
        return uow._repository(self.cls)


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
    announcements: Repo[AnnouncementRepo] = Repo(
        "storage.repositories.announcements", "AnnouncementRepo"
    )
    audiences: Repo[AudienceRepo] = Repo("storage.repositories.audience", "AudienceRepo")
    audit: Repo[AuditRepo] = Repo("storage.repositories.console", "AuditRepo")
    checkins: Repo[CheckInRepo] = Repo("storage.repositories.pairs", "CheckInRepo")
    console: Repo[ConsoleRepo] = Repo("storage.repositories.console", "ConsoleRepo")
    dashboard_revocation: Repo[DashboardRevocation] = Repo(
        "storage.repositories.dashboard_sessions", "DashboardRevocation"
    )
    dashboard_sessions: Repo[DashboardSessionRepo] = Repo(
        "storage.repositories.dashboard_sessions", "DashboardSessionRepo"
    )
    dashboard_tokens: Repo[DashboardTokenRepo] = Repo(
        "storage.repositories.dashboard", "DashboardTokenRepo"
    )
    demo: Repo[DemoRepo] = Repo("storage.repositories.demo", "DemoRepo")
    discussions: Repo[DiscussionRepo] = Repo("storage.repositories.discussions", "DiscussionRepo")
    faq_queries: Repo[FaqQueryRepo] = Repo("storage.repositories.faq", "FaqQueryRepo")
    group_edits: Repo[GroupEditRepo] = Repo("storage.repositories.group_edits", "GroupEditRepo")
    group_life: Repo[GroupLifeRepo] = Repo("storage.repositories.group_life", "GroupLifeRepo")
    intro_followups: Repo[IntroFollowUpRepo] = Repo(
        "storage.repositories.followups", "IntroFollowUpRepo"
    )
    invite_lists: Repo[InviteListRepo] = Repo(
        "storage.repositories.invite_status", "InviteListRepo"
    )
    invites: Repo[InviteRepo] = Repo("storage.repositories.invites", "InviteRepo")
    listings: Repo[ListingRepo] = Repo("storage.repositories.listings", "ListingRepo")
    matches: Repo[MatchRepo] = Repo("storage.repositories.pairs", "MatchRepo")
    pairs: Repo[PairRepo] = Repo("storage.repositories.pairs", "PairRepo")
    pauses: Repo[PauseRepo] = Repo("storage.repositories.followups", "PauseRepo")
    personal_data: Repo[PersonalDataRepo] = Repo("storage.repositories.privacy", "PersonalDataRepo")
    practices: Repo[PracticeRepo] = Repo("storage.repositories.practices", "PracticeRepo")
    pre_consent: Repo[PreConsentRepo] = Repo("storage.repositories.privacy", "PreConsentRepo")
    questions: Repo[QuestionRepo] = Repo("storage.repositories.console", "QuestionRepo")
    reach: Repo[ReachRepo] = Repo("storage.repositories.reach", "ReachRepo")
    reports: Repo[ReportRepo] = Repo("storage.repositories.report", "ReportRepo")
    retention: Repo[RetentionRepo] = Repo("storage.repositories.retention", "RetentionRepo")
    roster: Repo[RosterRepo] = Repo("storage.repositories.officers", "RosterRepo")
    spaces: Repo[SpaceRepo] = Repo("storage.repositories.pairs", "SpaceRepo")
    stats: Repo[StatsRepo] = Repo("storage.repositories.stats", "StatsRepo")

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

    def _repository(self, repo_cls: type[R]) -> R:
        """The repository of that class bound to this unit's session (through the attributes
        above only, so that every repository has one typed name)."""
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
