"""Good practices: what mentors' authorities financed and can share."""

from __future__ import annotations

import builtins
import functools
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import String, case, cast, event, func, literal, or_, select
from sqlalchemy.orm import ORMExecuteState, Session

from storage.models import Authority, GoodPractice
from storage.repositories.base import Repository

PENDING = "pending"
APPROVED = "approved"
REJECTED = "rejected"
STATUSES = (PENDING, APPROVED, REJECTED)


CITED_TABLES = frozenset({"good_practice", "authority"})
"""What an FAQ citation shows: a practice and its authority's name."""
_changes = 0
"""Bumped when this process writes a practice or an authority (see `cited_version`)."""


def _changed() -> None:
    global _changes
    _changes += 1


@event.listens_for(Session, "before_flush")
def _flushing(session: Session, context: Any, instances: Any) -> None:
    for group in (session.new, session.dirty, session.deleted):
        if any(isinstance(o, (GoodPractice, Authority)) for o in group):
            _changed()
            return


@event.listens_for(Session, "do_orm_execute")
def _executing(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) in CITED_TABLES:
            _changed()


class PracticeRepo(Repository):
    """Good practices and their review status."""

    def cited_version(self) -> tuple[object, int]:
        """What a cached citation is valid for: this database (its engine) as this process
        last changed its practices and authorities. Writes by other processes are not seen
        here; a cache keyed on this must also expire after a few seconds."""
        return self.session.get_bind(), _changes

    async def get(self, practice_id: int) -> GoodPractice | None:
        return await self.session.get(GoodPractice, practice_id)

    async def lock(self, practice_id: int) -> GoodPractice | None:
        """The practice, its row locked until the transaction ends and read fresh, so two
        coordinators reviewing it at once take turns and the second sees the first's verdict."""
        stmt = (
            select(GoodPractice)
            .where(GoodPractice.id == practice_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add(self, practice: GoodPractice) -> GoodPractice:
        self.session.add(practice)
        await self.session.flush()
        return practice

    async def list(
        self,
        status: str | None = None,
        officer_ids: Collection[int] | None = None,
    ) -> Sequence[GoodPractice]:
        stmt = select(GoodPractice).order_by(GoodPractice.id)
        if status is not None:
            stmt = stmt.where(GoodPractice.status == status)
        if officer_ids is not None:
            stmt = stmt.where(GoodPractice.officer_id.in_(list(officer_ids)))
        return (await self.session.execute(stmt)).scalars().all()

    async def find(self, authority_id: int | None, title: str) -> GoodPractice | None:
        """The practice of an authority with this title (case-insensitive)."""
        stmt = select(GoodPractice).where(
            func.lower(GoodPractice.title) == title.strip().lower(),
            GoodPractice.authority_id.is_(None)
            if authority_id is None
            else GoodPractice.authority_id == authority_id,
        )
        return (await self.session.execute(stmt.limit(1))).scalar_one_or_none()

    async def cited_for(
        self, instruments: Collection[str], limit: int
    ) -> builtins.list[tuple[GoodPractice, Authority | None]]:
        """Approved practices using any of these instruments, with their authority: most
        instruments in common first, then the most recent, at most `limit` (one query; the
        instruments are matched in the JSON list's text, the same on SQLite and PostgreSQL)."""
        codes = tuple(sorted(set(instruments)))
        if not codes or limit <= 0:
            return []
        stmt = _cited_statement(codes, limit)
        return [(p, a) for p, a in (await self.session.execute(stmt)).all()]


@functools.lru_cache(maxsize=256)
def _cited_statement(codes: tuple[str, ...], limit: int) -> Any:
    """The statement of `cited_for`, built once per set of instruments (every answer that
    cites practices asks it, and building it cost more than running it)."""
    listed = cast(GoodPractice.instruments, String)
    uses = [listed.like(f'%"{_escaped(code)}"%', escape="\\") for code in codes]
    common = sum((case((u, 1), else_=0) for u in uses), literal(0))
    return (
        select(GoodPractice, Authority)
        .outerjoin(Authority, Authority.id == GoodPractice.authority_id)
        .where(GoodPractice.status == APPROVED, or_(*uses))
        .order_by(common.desc(), func.coalesce(GoodPractice.year, 0).desc(), GoodPractice.id)
        .limit(limit)
    )


def _escaped(code: str) -> str:
    """A code inside a LIKE pattern: `_` and `%` are wildcards there."""
    return code.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")
