"""Figures at a glance for coordinators (`/stats`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from storage.models import FaqQuery, Officer, OfficerStatus, Outbox, Pair
from storage.repositories.base import Repository
from storage.repositories.officers import OfficerRepo


@dataclass(frozen=True)
class Glance:
    """Active officers, pairs by status, questions (and unanswered), messages still queued."""

    officers: int
    pairs: dict[str, int]
    questions: int
    unknown: int
    pending: int


class StatsRepo(Repository):
    """Counts over the programmes a coordinator runs."""

    async def glance(self, programme_ids: set[int]) -> Glance:
        mine = OfficerRepo(self.session).in_programmes(programme_ids)
        members = select(Officer.id).where(mine)

        async def count(*where: object) -> int:
            stmt = select(func.count()).select_from(FaqQuery).where(*where)  # type: ignore[arg-type]
            return int((await self.session.execute(stmt)).scalar_one())

        officers = (
            await self.session.execute(
                select(func.count())
                .select_from(Officer)
                .where(Officer.status == OfficerStatus.ACTIVE, mine)
            )
        ).scalar_one()
        by_status = (
            select(Pair.status, func.count())
            .where(Pair.learner_id.in_(members))
            .group_by(Pair.status)
        )
        pairs = {
            str(getattr(s, "value", s)): int(n) for s, n in await self.session.execute(by_status)
        }
        pending = (
            await self.session.execute(
                select(func.count())
                .select_from(Outbox)
                .where(Outbox.status.in_(["pending", "sending"]))
            )
        ).scalar_one()
        return Glance(
            officers=int(officers),
            pairs=pairs,
            questions=await count(FaqQuery.officer_id.in_(members)),
            unknown=await count(FaqQuery.outcome == "unknown", FaqQuery.officer_id.in_(members)),
            pending=int(pending),
        )
