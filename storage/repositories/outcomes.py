"""Learning plans, outcome stages, satisfaction surveys, applications, and the facts the
funders' figures are computed from."""

from __future__ import annotations

import builtins
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import aliased

from storage.models import (
    Application,
    Authority,
    FaqQuery,
    GoodPractice,
    GroupMember,
    Invite,
    LearningCycle,
    LearningPlan,
    Officer,
    OutcomeStage,
    Pair,
    PairStatus,
    PeerGroup,
    Programme,
    SatisfactionSurvey,
)
from storage.repositories.base import Repository
from storage.repositories.officers import participating


class LearningPlanRepo(Repository):
    """One plan per authority."""

    async def for_authority(self, authority_id: int) -> LearningPlan | None:
        stmt = select(LearningPlan).where(LearningPlan.authority_id == authority_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add(self, plan: LearningPlan) -> LearningPlan:
        self.session.add(plan)
        await self.session.flush()
        return plan

    async def list(self, authority_ids: Collection[int] | None = None) -> Sequence[LearningPlan]:
        stmt = select(LearningPlan).order_by(LearningPlan.id)
        if authority_ids is not None:
            stmt = stmt.where(LearningPlan.authority_id.in_(list(authority_ids)))
        return (await self.session.execute(stmt)).scalars().all()

    async def mentored_by(self, officer_id: int) -> builtins.list[tuple[str, int, int]]:
        """(`pair` or `group`, its id, learner authority id) for every live pair this officer
        mentors and every running group where they hold a mentor seat."""
        learner = aliased(Officer)
        pairs = (
            select(Pair.id, learner.authority_id)
            .join(learner, learner.id == Pair.learner_id)
            .where(
                Pair.mentor_id == officer_id,
                Pair.status.in_((PairStatus.APPROVED, PairStatus.INTRODUCED, PairStatus.ACTIVE)),
                learner.authority_id.is_not(None),
            )
            .order_by(Pair.id)
        )
        mentor_seat = aliased(GroupMember)
        seats = (
            select(GroupMember.group_id, GroupMember.authority_id)
            .join(mentor_seat, mentor_seat.group_id == GroupMember.group_id)
            .join(PeerGroup, PeerGroup.id == GroupMember.group_id)
            .where(
                mentor_seat.officer_id == officer_id,
                mentor_seat.role == "mentor",
                GroupMember.role == "learner",
                PeerGroup.status.in_(("introduced", "active")),
            )
            .distinct()
            .order_by(GroupMember.group_id, GroupMember.authority_id)
        )
        found = [("pair", p, a) for p, a in (await self.session.execute(pairs)).all() if a]
        found += [("group", g, a) for g, a in (await self.session.execute(seats)).all()]
        return found


class OutcomeRepo(Repository):
    """Outcome stages per authority and scheme."""

    async def find(self, authority_id: int, scheme: str, stage: str) -> OutcomeStage | None:
        stmt = select(OutcomeStage).where(
            OutcomeStage.authority_id == authority_id,
            OutcomeStage.scheme == scheme,
            OutcomeStage.stage == stage,
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add(self, row: OutcomeStage) -> OutcomeStage:
        self.session.add(row)
        await self.session.flush()
        return row

    async def list(self, authority_ids: Collection[int] | None = None) -> Sequence[OutcomeStage]:
        stmt = select(OutcomeStage).order_by(
            OutcomeStage.authority_id, OutcomeStage.scheme, OutcomeStage.reached_on, OutcomeStage.id
        )
        if authority_ids is not None:
            stmt = stmt.where(OutcomeStage.authority_id.in_(list(authority_ids)))
        return (await self.session.execute(stmt)).scalars().all()

    async def learnt_in_pair(self, authority_id: int, scheme: str) -> Pair | None:
        """The latest pair (both sides accepted) in which an officer of this authority learnt
        this scheme as the learner."""
        stmt = (
            select(Pair)
            .join(Officer, Officer.id == Pair.learner_id)
            .where(
                Officer.authority_id == authority_id,
                Pair.topic == scheme,
                Pair.activated_at.is_not(None),
            )
            .order_by(Pair.activated_at.desc(), Pair.id.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def group_mentors(self, authority_id: int, scheme: str) -> builtins.list[int]:
        """Officers holding a mentor seat in a group on this scheme that met, where this
        authority held a learner seat (latest group first)."""
        learner_seat, mentor_seat = aliased(GroupMember), aliased(GroupMember)
        stmt = (
            select(mentor_seat.officer_id)
            .join(PeerGroup, PeerGroup.id == mentor_seat.group_id)
            .join(learner_seat, learner_seat.group_id == PeerGroup.id)
            .where(
                learner_seat.authority_id == authority_id,
                learner_seat.role == "learner",
                mentor_seat.role == "mentor",
                mentor_seat.officer_id.is_not(None),
                PeerGroup.scheme == scheme,
                PeerGroup.introduced_at.is_not(None),
            )
            .order_by(PeerGroup.introduced_at.desc(), mentor_seat.id)
        )
        found = (await self.session.execute(stmt)).scalars().all()
        return [int(o) for o in dict.fromkeys(found) if o is not None]

    async def mentor_practice(self, mentor_id: int, scheme: str) -> GoodPractice | None:
        """The mentor's approved practice using this scheme (the one being replicated)."""
        mentor = await self.session.get(Officer, mentor_id)
        if mentor is None:
            return None
        owner = (
            GoodPractice.officer_id == mentor_id
            if mentor.authority_id is None
            else or_(
                GoodPractice.officer_id == mentor_id,
                GoodPractice.authority_id == mentor.authority_id,
            )
        )
        stmt = (
            select(GoodPractice)
            .where(owner, GoodPractice.status == "approved")
            .order_by(GoodPractice.id)
        )
        for practice in (await self.session.execute(stmt)).scalars():
            if scheme in (practice.instruments or []):
                return practice
        return None


class SurveyRepo(Repository):
    """Satisfaction surveys sent at the close of a pair."""

    async def closed_pairs_without_survey(self, since: datetime) -> Sequence[Pair]:
        """Pairs that really ran (both accepted) and closed since then, with a side not asked."""
        asked = select(func.count()).where(SatisfactionSurvey.pair_id == Pair.id).scalar_subquery()
        stmt = (
            select(Pair)
            .where(
                Pair.status == PairStatus.CLOSED,
                Pair.activated_at.is_not(None),
                Pair.closed_at >= since,
                asked < 2,
            )
            .order_by(Pair.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def open(self, pair_id: int, officer_id: int, now: datetime) -> SatisfactionSurvey | None:
        """A new survey row, or None when this officer was already asked about this pair."""
        inserted = await self.session.execute(
            self.insert_ignore(
                SatisfactionSurvey.__table__,  # type: ignore[arg-type]
                {"pair_id": pair_id, "officer_id": officer_id, "sent_at": now},
                ["pair_id", "officer_id"],
            ).returning(SatisfactionSurvey.id)
        )
        new_id = inserted.scalar_one_or_none()
        return await self.session.get(SatisfactionSurvey, new_id) if new_id else None

    async def pair(self, pair_id: int) -> Pair | None:
        return await self.session.get(Pair, pair_id)

    async def programme_slug(self, programme_id: int | None) -> str | None:
        programme = await self.session.get(Programme, programme_id) if programme_id else None
        return programme.slug if programme else None

    async def get(self, survey_id: int) -> SatisfactionSurvey | None:
        return await self.session.get(SatisfactionSurvey, survey_id)

    async def answered(self, pair_ids: Collection[int]) -> Sequence[SatisfactionSurvey]:
        stmt = (
            select(SatisfactionSurvey)
            .where(
                SatisfactionSurvey.pair_id.in_(list(pair_ids)),
                SatisfactionSurvey.score.is_not(None),
            )
            .order_by(SatisfactionSurvey.id)
        )
        return (await self.session.execute(stmt)).scalars().all()


class ApplicationRepo(Repository):
    """Expressions of interest from the public form, and the invites accepting them makes."""

    async def add(self, row: Application) -> Application:
        self.session.add(row)
        await self.session.flush()
        return row

    async def get(self, application_id: int) -> Application | None:
        return await self.session.get(Application, application_id)

    async def lock(self, application_id: int) -> Application | None:
        stmt = (
            select(Application)
            .where(Application.id == application_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def list(self, status: str | None = None) -> Sequence[Application]:
        stmt = select(Application).order_by(Application.id)
        if status is not None:
            stmt = stmt.where(Application.status == status)
        return (await self.session.execute(stmt)).scalars().all()

    async def for_programme(self, programme_id: int, limit: int = 500) -> Sequence[Application]:
        """The requests of no programme (pending ones, and those decided with `peerbot`) and
        those this programme's coordinators decided, newest first."""
        stmt = (
            select(Application)
            .where(
                or_(
                    Application.status == "pending",
                    Application.programme_id.is_(None),
                    Application.programme_id == programme_id,
                )
            )
            .order_by(Application.id.desc())
            .limit(limit)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def pending_for(self, email: str) -> Application | None:
        stmt = select(Application).where(
            func.lower(Application.email) == email.lower(), Application.status == "pending"
        )
        return (await self.session.execute(stmt.limit(1))).scalar_one_or_none()

    async def count_since(self, since: datetime) -> int:
        stmt = select(func.count()).select_from(Application).where(Application.created_at >= since)
        return int(await self.session.scalar(stmt) or 0)

    async def forget_pending_before(self, cutoff: datetime) -> int:
        """Delete requests nobody followed up since before `cutoff`; returns how many."""
        result = await self.session.execute(
            delete(Application).where(
                Application.status == "pending", Application.created_at < cutoff
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def add_invite(self, invite: Invite) -> Invite:
        self.session.add(invite)
        await self.session.flush()
        return invite


@dataclass(frozen=True)
class Participant:
    """An officer counted in the figures, with their authority."""

    officer_id: int
    authority_id: int | None
    authority: str
    country: str


@dataclass(frozen=True)
class PairFact:
    """A pair that really ran (both sides accepted), with both sides' authorities."""

    id: int
    topic: str
    learner_id: int | None
    mentor_id: int | None
    learner_authority_id: int | None
    mentor_authority_id: int | None


class KpiRepo(Repository):
    """The raw facts behind the funders' figures, limited to a set of programmes."""

    async def participants(self, programme_ids: Collection[int]) -> list[Participant]:
        """Consenting officers of these programmes who coordinate none of them (as the report
        counts participants), with their authority."""
        ids = set(programme_ids)
        if not ids:
            return []
        stmt = (
            select(Officer.id, Officer.authority_id, Authority.name, Authority.country)
            .outerjoin(Authority, Authority.id == Officer.authority_id)
            .where(*participating(ids))
            .order_by(Officer.id)
        )
        rows = (await self.session.execute(stmt)).all()
        return [Participant(r[0], r[1], r[2] or "", r[3] or "") for r in rows]

    async def pairs(self, programme_ids: Collection[int]) -> list[PairFact]:
        """Pairs of these programmes whose both sides accepted (active, or closed after)."""
        learner = select(Officer.authority_id).where(Officer.id == Pair.learner_id)
        mentor = select(Officer.authority_id).where(Officer.id == Pair.mentor_id)
        stmt = (
            select(
                Pair.id,
                Pair.topic,
                Pair.learner_id,
                Pair.mentor_id,
                learner.scalar_subquery(),
                mentor.scalar_subquery(),
            )
            .where(
                Pair.programme_id.in_(list(programme_ids)),
                or_(
                    Pair.status == PairStatus.ACTIVE,
                    and_(Pair.status == PairStatus.CLOSED, Pair.activated_at.is_not(None)),
                ),
            )
            .order_by(Pair.id)
        )
        return [PairFact(*r) for r in (await self.session.execute(stmt)).all()]

    async def group_seats(self, programme_ids: Collection[int]) -> list[tuple[int, int]]:
        """(group id, authority id) of every seat in a learning group of these programmes that
        was introduced (a group only proposed or rejected never met)."""
        stmt = (
            select(PeerGroup.id, GroupMember.authority_id)
            .join(GroupMember, GroupMember.group_id == PeerGroup.id)
            .join(LearningCycle, LearningCycle.id == PeerGroup.cycle_id)
            .where(
                LearningCycle.programme_id.in_(list(programme_ids)),
                PeerGroup.introduced_at.is_not(None),
            )
            .distinct()
        )
        return [(int(g), int(a)) for g, a in (await self.session.execute(stmt)).all()]

    async def practice_sectors(self, practice_ids: Collection[int]) -> dict[int, str]:
        """The sector of each of these practices (the investments' breakdown by sector)."""
        if not practice_ids:
            return {}
        stmt = select(GoodPractice.id, GoodPractice.sector).where(
            GoodPractice.id.in_(list(practice_ids))
        )
        return {int(i): str(s) for i, s in (await self.session.execute(stmt)).all()}

    async def approved_practices(self, authority_ids: Collection[int]) -> Sequence[GoodPractice]:
        stmt = (
            select(GoodPractice)
            .where(
                GoodPractice.authority_id.in_(list(authority_ids)),
                GoodPractice.status == "approved",
            )
            .order_by(GoodPractice.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def questions_answered(self, programme_ids: Collection[int]) -> dict[int, int]:
        """Per participant of these programmes: questions the FAQ answered (directly or by a
        picked suggestion, not marked unhelpful) plus those a coordinator answered."""
        ids = set(programme_ids)
        if not ids:
            return {}
        officers = select(Officer.id).where(*participating(ids))
        answered = or_(
            and_(
                FaqQuery.outcome.in_(("answer", "picked")),
                or_(FaqQuery.feedback.is_(None), FaqQuery.feedback != "no"),
            ),
            FaqQuery.answered_at.is_not(None),
        )
        stmt = (
            select(FaqQuery.officer_id, func.count())
            .where(FaqQuery.officer_id.in_(officers), answered)
            .group_by(FaqQuery.officer_id)
        )
        rows = (await self.session.execute(stmt)).all()
        return {int(o): int(n) for o, n in rows if o is not None}

    async def authorities(self, authority_ids: Collection[int]) -> Sequence[Authority]:
        stmt = select(Authority).where(Authority.id.in_(list(authority_ids))).order_by(Authority.id)
        return (await self.session.execute(stmt)).scalars().all()
