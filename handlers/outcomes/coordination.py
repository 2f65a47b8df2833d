"""The outcomes use cases of a programme's coordinator in the console: the applications to
decide, the plans and stages of the programme's authorities, and the programme's figures.

Each checks first that the coordinator runs the programme (`handlers.audit.authorize`), then
that the authority or request is the programme's (else `NotAllowed`, which the console turns
into 404), calls the same use case as chat and `peerbot` (`handlers.outcomes.service`), and
writes the audit entry in the same transaction.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from handlers.audit.service import Coordinator, NotAllowed, UnitOfWork, authorize, record
from handlers.outcomes import service
from handlers.outcomes.rules import stage_rank
from storage.models import Application, LearningPlan, OutcomeStage


@dataclass
class AuthorityOutcomes:
    """An authority of the programme with its plan and its stages, per scheme in order."""

    authority_id: int
    name: str
    country: str
    plan: LearningPlan | None = None
    stages: list[OutcomeStage] = field(default_factory=list)

    @property
    def current(self) -> dict[str, str]:
        """The most advanced stage per scheme."""
        found: dict[str, str] = {}
        for row in self.stages:
            found[row.scheme] = row.stage
        return found


async def _authorities(uow: UnitOfWork, programme_id: int) -> dict[int, tuple[str, str]]:
    """The authorities of the programme's participants (as the figures count them)."""
    return {
        p.authority_id: (p.authority, p.country)
        for p in await uow.kpis.participants({programme_id})
        if p.authority_id is not None
    }


async def programme_outcomes(
    uow: UnitOfWork, who: Coordinator, programme_id: int
) -> list[AuthorityOutcomes]:
    """Every authority of the programme, by name, with its plan and stages."""
    authorize(who, programme_id)
    mine = await _authorities(uow, programme_id)
    found = {a: AuthorityOutcomes(a, name, country) for a, (name, country) in mine.items()}
    for plan in await uow.plans.list(list(mine)) if mine else []:
        found[plan.authority_id].plan = plan
    for row in await uow.outcomes.list(list(mine)) if mine else []:
        found[row.authority_id].stages.append(row)
    for one in found.values():
        one.stages.sort(key=lambda r: (r.scheme, stage_rank(r.stage)))
    return sorted(found.values(), key=lambda a: (a.name.casefold(), a.country))


async def _programme_authority(uow: UnitOfWork, programme_id: int, authority_id: int) -> str:
    mine = await _authorities(uow, programme_id)
    if authority_id not in mine:
        raise NotAllowed(f"authority {authority_id}")
    return mine[authority_id][0]


async def set_plan(
    uow: UnitOfWork,
    who: Coordinator,
    programme_id: int,
    authority_id: int,
    draft: service.PlanDraft,
    *,
    schemes: Collection[str],
    sectors: Collection[str],
    now: datetime,
) -> LearningPlan:
    """Set or replace the plan of an authority of the programme (`service.Invalid` says why
    not)."""
    authorize(who, programme_id)
    name = await _programme_authority(uow, programme_id, authority_id)
    plan = await service.set_plan(
        uow,
        None,
        draft,
        schemes=schemes,
        sectors=sectors,
        authority_id=authority_id,
        coordinator=True,
    )
    await record(
        uow,
        who,
        programme_id,
        "outcomes.plan",
        now,
        authority=name,
        scheme=draft.scheme,
        sector=draft.sector,
    )
    return plan


async def record_stage(
    uow: UnitOfWork,
    who: Coordinator,
    programme_id: int,
    authority_id: int,
    draft: service.OutcomeDraft,
    *,
    schemes: Collection[str],
    today: date,
    now: datetime,
) -> OutcomeStage:
    """Record (or correct) a stage of an authority of the programme."""
    authorize(who, programme_id)
    name = await _programme_authority(uow, programme_id, authority_id)
    row = await service.record_outcome(
        uow,
        None,
        draft,
        schemes=schemes,
        today=today,
        authority_id=authority_id,
        coordinator=True,
    )
    row.recorded_by_id = who.officer_id
    await uow.flush()
    await record(
        uow,
        who,
        programme_id,
        "outcomes.stage",
        now,
        authority=name,
        scheme=draft.scheme,
        stage=draft.stage,
        amount_eur=draft.amount_eur,
    )
    return row


async def figures(uow: UnitOfWork, who: Coordinator, programme_id: int) -> service.Kpis:
    """The funders' figures of the programme (the report's, for this programme only)."""
    authorize(who, programme_id)
    return await service.programme_kpis(uow, {programme_id})


async def applications(uow: UnitOfWork, who: Coordinator, programme_id: int) -> list[Application]:
    """The requests of no programme (pending, or decided with `peerbot`) and those decided in
    this programme, newest first."""
    authorize(who, programme_id)
    return list(await uow.applications.for_programme(programme_id))


async def _decidable(uow: UnitOfWork, programme_id: int, application_id: int) -> Application:
    """A request this programme may decide: pending, or already decided here (then the
    service says so); another programme's decided request is not found."""
    row = await uow.applications.get(application_id)
    if row is None or (row.status != "pending" and row.programme_id != programme_id):
        raise NotAllowed(f"application {application_id}")
    return row


async def accept(
    uow: UnitOfWork,
    who: Coordinator,
    programme_id: int,
    application_id: int,
    by: str,
    now: datetime,
) -> service.Accepted:
    """Accept a request as `peerbot applications accept` does: its authority gets an invite."""
    authorize(who, programme_id)
    await _decidable(uow, programme_id, application_id)
    done = await service.accept_application(uow, application_id, by, now, programme_id=programme_id)
    await record(
        uow,
        who,
        programme_id,
        "application.accept",
        now,
        application=application_id,
        authority=done.authority,
        country=done.country,
    )
    return done


async def decline(
    uow: UnitOfWork,
    who: Coordinator,
    programme_id: int,
    application_id: int,
    reason: str,
    now: datetime,
) -> Application:
    """Decline a request with a reason."""
    authorize(who, programme_id)
    await _decidable(uow, programme_id, application_id)
    row = await service.decline_application(
        uow, application_id, reason, now, programme_id=programme_id
    )
    await record(
        uow,
        who,
        programme_id,
        "application.decline",
        now,
        application=application_id,
        authority=row.authority,
        reason=row.decline_reason,
    )
    return row


def invite_links(code: str, telegram_bot: str | None) -> dict[str, Any]:
    """The ways to use an invite code, as `peerbot applications accept` prints them."""
    return {
        "code": code,
        "telegram": f"https://t.me/{telegram_bot or '<your_bot>'}?start={code}",
        "slack": f"/peerbot join {code}",
    }
