"""Outcomes use cases shared by chat, CLI and web: plans, outcome stages, the satisfaction
survey, the funders' figures and applications from authorities outside the programme.

Authorization lives here: an officer plans and records for their own authority only; a
coordinator (in chat, or `peerbot` on the server, which is the coordinators' tool) for any.
"""

from __future__ import annotations

import secrets
from collections import Counter, defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from handlers.outcomes.rules import (
    FINANCED,
    INDICATORS,
    KPI_KEYS,
    STAGES,
    STEP_ANSWERS,
    StageFact,
    check_application,
    clean_url,
    investment_breakdown,
    is_replication,
    next_stage,
    outcome_figures,
    stage_rank,
    tidy,
)
from storage.models import (
    Application,
    Invite,
    LearningPlan,
    Officer,
    OutcomeStage,
    SatisfactionSurvey,
)
from storage.uow import UnitOfWork

APPLICATIONS_PER_HOUR = 30
"""Stored applications per hour for the whole installation (every process): past it, the
form asks people to come back later."""
INVITE_DAYS = 30
KEEP_PENDING = timedelta(days=365)
"""A request nobody followed up is deleted after this long (the form's consent text says so)."""


class NotAllowed(Exception):
    """The caller may not do this (an officer acting for another authority)."""


class Invalid(ValueError):
    """A value was refused; `key` is the message key (outcomes.errors.<key>) saying why."""

    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


# -- learning plans --------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanDraft:
    """What a learner authority wants to learn and for which project."""

    scheme: str
    sector: str
    size_eur: int | None
    next_step: str
    target_date: date | None


def _authority_of(actor: Officer | None, authority_id: int | None, coordinator: bool) -> int:
    """The authority an action is for, refusing an officer acting for another one."""
    own = actor.authority_id if actor is not None else None
    wanted = authority_id if authority_id is not None else own
    if wanted is None:
        raise Invalid("no_authority")
    if not coordinator and wanted != own:
        raise NotAllowed(str(wanted))
    return wanted


def check_plan(draft: PlanDraft, schemes: Collection[str], sectors: Collection[str]) -> None:
    """Raise Invalid for a plan that cannot be kept (doors that validate inline call it too)."""
    if draft.scheme not in schemes:
        raise Invalid("unknown_scheme", scheme=draft.scheme)
    if draft.sector not in sectors:
        raise Invalid("unknown_sector", sector=draft.sector)
    if draft.size_eur is not None and draft.size_eur <= 0:
        raise Invalid("bad_amount")
    if not 3 <= len(draft.next_step.strip()) <= 1000:
        raise Invalid("bad_step")


async def set_plan(
    uow: UnitOfWork,
    actor: Officer | None,
    draft: PlanDraft,
    *,
    schemes: Collection[str],
    sectors: Collection[str],
    authority_id: int | None = None,
    coordinator: bool = False,
) -> LearningPlan:
    """Create or replace the learning plan of the actor's authority (or any, for a coordinator)."""
    target = _authority_of(actor, authority_id, coordinator)
    check_plan(draft, schemes, sectors)
    plan = await uow.plans.for_authority(target)
    if plan is None:
        plan = await uow.plans.add(
            LearningPlan(authority_id=target, scheme=draft.scheme, sector=draft.sector)
        )
    plan.officer_id = actor.id if actor is not None else plan.officer_id
    plan.scheme, plan.sector, plan.size_eur = draft.scheme, draft.sector, draft.size_eur
    plan.next_step, plan.target_date = draft.next_step.strip(), draft.target_date
    await uow.flush()
    return plan


async def plan_of(uow: UnitOfWork, authority_id: int | None) -> LearningPlan | None:
    """The learning plan of an authority, if it has one."""
    return await uow.plans.for_authority(authority_id) if authority_id is not None else None


# -- mentors see their learners' plans ------------------------------------------------------


@dataclass(frozen=True)
class LearnerPlan:
    """A learner authority's plan as a mentor (or a coordinator) sees it, and why they may."""

    authority: str
    country: str
    via: str
    """`pair`, `group` or `programme` (a coordinator sees every plan of their programmes)."""
    ref_id: int | None
    plan: LearningPlan


async def learners_plans(
    uow: UnitOfWork,
    actor: Officer,
    *,
    coordinator: bool = False,
    programme_ids: Collection[int] = (),
) -> list[LearnerPlan]:
    """The plans an officer may see as a mentor: those of the learner authorities of the pairs
    they mentor and of the groups where they hold a mentor seat; a coordinator sees the plans
    of every authority of the programmes they coordinate."""
    links: list[tuple[str, int | None, int | None]]
    if coordinator:
        people = await uow.kpis.participants(programme_ids)
        links = [("programme", None, p.authority_id) for p in people if p.authority_id]
    else:
        links = [(via, ref, a) for via, ref, a in await uow.plans.mentored_by(actor.id)]
    ids = sorted({a for _, _, a in links if a is not None})
    plans = {p.authority_id: p for p in await uow.plans.list(ids)} if ids else {}
    names = {a.id: a for a in await uow.kpis.authorities(list(plans))} if plans else {}
    found, seen = [], set()
    for via, ref, authority_id in links:
        plan = plans.get(authority_id) if authority_id is not None else None
        if plan is None or (via, ref, authority_id) in seen or authority_id == actor.authority_id:
            continue
        seen.add((via, ref, authority_id))
        authority = names.get(plan.authority_id)
        found.append(
            LearnerPlan(
                authority.name if authority else "—",
                authority.country if authority else "",
                via,
                ref,
                plan,
            )
        )
    return found


async def plan_for_mentor(
    uow: UnitOfWork, actor: Officer, authority_id: int, *, coordinator: bool = False
) -> LearningPlan | None:
    """One learner authority's plan, for its mentor (pair or group) or a coordinator only."""
    if not coordinator and authority_id != actor.authority_id:
        mentored = {a for _, _, a in await uow.plans.mentored_by(actor.id)}
        if authority_id not in mentored:
            raise NotAllowed(str(authority_id))
    return await plan_of(uow, authority_id)


# -- the plan's next step, asked at check-ins -------------------------------------------------


async def own_plan(uow: UnitOfWork, officer: Officer) -> LearningPlan:
    """The plan of the officer's own authority (Invalid when there is none)."""
    plan = await plan_of(uow, officer.authority_id)
    if plan is None:
        raise Invalid("no_plan")
    return plan


async def step_to_ask(uow: UnitOfWork, officer: Officer) -> LearningPlan | None:
    """The plan whose next step a check-in of this learner asks about, if there is one."""
    plan = await plan_of(uow, officer.authority_id)
    return plan if plan is not None and plan.next_step.strip() else None


async def answer_plan_step(
    uow: UnitOfWork, officer: Officer, answer: str, now: datetime
) -> LearningPlan:
    """Record how the next step of the officer's own authority stands (done, under way,
    stuck); the step itself stays until a new one is set."""
    if answer not in STEP_ANSWERS:
        raise Invalid("bad_step_answer")
    plan = await own_plan(uow, officer)
    plan.step_status, plan.step_checked_at = answer, now
    await uow.flush()
    return plan


async def plan_stage(uow: UnitOfWork, plan: LearningPlan) -> str | None:
    """The most advanced stage the plan's authority recorded with the plan's scheme."""
    rows = [r for r in await uow.outcomes.list([plan.authority_id]) if r.scheme == plan.scheme]
    return max((r.stage for r in rows), key=stage_rank, default=None)


@dataclass(frozen=True)
class StageChoice:
    """Where the plan's project stands and the stage a done step may lead to (None when the
    next one needs its facts through /outcome, or when the last one is reached)."""

    scheme: str
    current: str | None
    next: str | None


async def stage_after_step(uow: UnitOfWork, officer: Officer) -> StageChoice:
    """What a done step may advance: the stage after the current one, unless it is 'financed'
    (that needs the amount, instrument and sources: /outcome asks for them)."""
    plan = await own_plan(uow, officer)
    current = await plan_stage(uow, plan)
    following = next_stage(current)
    return StageChoice(plan.scheme, current, None if following == FINANCED else following)


async def advance_plan_stage(
    uow: UnitOfWork, officer: Officer, stage: str, *, schemes: Collection[str], today: date
) -> OutcomeStage:
    """Record that the officer's own plan reached `stage`, the one after its current stage
    (refused when that is not the next stage, or when it needs the facts of 'financed')."""
    choice = await stage_after_step(uow, officer)
    if choice.next is None or stage != choice.next:
        raise Invalid("stage_not_next", stage=stage)
    return await record_outcome(
        uow, officer, OutcomeDraft(choice.scheme, stage, today), schemes=schemes, today=today
    )


async def set_next_step(
    uow: UnitOfWork, officer: Officer, step: str, target_date: date | None, today: date
) -> LearningPlan:
    """Replace the next step (and its target date) of the officer's own plan."""
    plan = await own_plan(uow, officer)
    if not 3 <= len(step.strip()) <= 1000:
        raise Invalid("bad_step")
    if target_date is not None and target_date < today:
        raise Invalid("past_target")
    plan.next_step, plan.target_date = step.strip(), target_date
    plan.step_status, plan.officer_id = None, officer.id
    await uow.flush()
    return plan


# -- outcome stages --------------------------------------------------------------------------


@dataclass(frozen=True)
class OutcomeDraft:
    """A stage reached with a scheme, with what the funders want to know about it."""

    scheme: str
    stage: str
    reached_on: date
    evidence_url: str | None = None
    amount_eur: int | None = None
    instrument: str | None = None
    sources: str | None = None
    savings_mwh: float | None = None
    renewable_mwh: float | None = None
    co2_t: float | None = None
    method: str | None = None


def check_outcome(draft: OutcomeDraft, schemes: Collection[str], today: date) -> None:
    """Raise Invalid for a stage the funders could not use."""
    if draft.scheme not in schemes:
        raise Invalid("unknown_scheme", scheme=draft.scheme)
    if draft.stage not in STAGES:
        raise Invalid("unknown_stage", stage=draft.stage)
    if draft.reached_on > today + timedelta(days=1):
        raise Invalid("future_date")
    if draft.evidence_url and clean_url(draft.evidence_url) is None:
        raise Invalid("bad_link")
    if draft.stage == FINANCED:
        if not draft.amount_eur or draft.amount_eur <= 0:
            raise Invalid("financed_needs_amount")
        if draft.instrument not in schemes:
            raise Invalid("financed_needs_instrument")
        if not (draft.sources or "").strip():
            raise Invalid("financed_needs_sources")
    elif draft.amount_eur is not None:
        raise Invalid("amount_only_when_financed")
    figures = (draft.savings_mwh, draft.renewable_mwh, draft.co2_t)
    if any(f is not None and f < 0 for f in figures):
        raise Invalid("bad_figure")
    if any(f is not None for f in figures) and len((draft.method or "").strip()) < 5:
        raise Invalid("figures_need_method")


async def record_outcome(
    uow: UnitOfWork,
    actor: Officer | None,
    draft: OutcomeDraft,
    *,
    schemes: Collection[str],
    today: date,
    authority_id: int | None = None,
    coordinator: bool = False,
) -> OutcomeStage:
    """Record (or correct) a stage of an authority with a scheme; a scheme the authority learnt
    in a pair is linked to that pair and to the mentor's practice, one learnt in a learning group
    to the practice of a mentor of the group (a replication once adopted)."""
    target = _authority_of(actor, authority_id, coordinator)
    check_outcome(draft, schemes, today)
    row = await uow.outcomes.find(target, draft.scheme, draft.stage)
    if row is None:
        row = await uow.outcomes.add(
            OutcomeStage(
                authority_id=target,
                scheme=draft.scheme,
                stage=draft.stage,
                reached_on=draft.reached_on,
            )
        )
    row.reached_on = draft.reached_on
    row.evidence_url = (draft.evidence_url or "").strip() or None
    row.amount_eur, row.instrument = draft.amount_eur, draft.instrument
    row.sources = (draft.sources or "").strip() or None
    row.savings_mwh, row.renewable_mwh, row.co2_t = (
        draft.savings_mwh,
        draft.renewable_mwh,
        draft.co2_t,
    )
    row.method = (draft.method or "").strip() or None
    row.recorded_by_id = actor.id if actor is not None else None
    pair = await uow.outcomes.learnt_in_pair(target, draft.scheme)
    if pair is not None:
        row.pair_id = pair.id
        practice = (
            await uow.outcomes.mentor_practice(pair.mentor_id, draft.scheme)
            if pair.mentor_id
            else None
        )
        row.practice_id = practice.id if practice else None
    else:  # learnt in a learning group: the practice of a mentor of that group
        for mentor_id in await uow.outcomes.group_mentors(target, draft.scheme):
            practice = await uow.outcomes.mentor_practice(mentor_id, draft.scheme)
            if practice is not None:
                row.practice_id = practice.id
                break
    await uow.flush()
    return row


def outcome_json(row: OutcomeStage) -> dict[str, Any]:
    """One stage as `peerbot outcomes list --json` prints it."""
    return {
        "id": row.id,
        "scheme": row.scheme,
        "stage": row.stage,
        "reached_on": row.reached_on.isoformat(),
        "evidence_url": row.evidence_url,
        "amount_eur": row.amount_eur,
        "instrument": row.instrument,
        "sources": row.sources,
        "savings_mwh_per_year": row.savings_mwh,
        "renewable_mwh_per_year": row.renewable_mwh,
        "co2_t_per_year": row.co2_t,
        "method": row.method,
        "pair_id": row.pair_id,
        "practice_id": row.practice_id,
        "replication": is_replication(row.stage, row.pair_id, row.practice_id),
    }


async def list_outcomes(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Every authority with a plan or a stage: its plan and its stages per scheme, in order."""
    plans = {p.authority_id: p for p in await uow.plans.list()}
    rows = list(await uow.outcomes.list())
    ids = sorted(set(plans) | {r.authority_id for r in rows})
    names = {a.id: a for a in await uow.kpis.authorities(ids)}
    found = []
    for authority_id in ids:
        authority = names.get(authority_id)
        plan = plans.get(authority_id)
        mine = sorted(
            (r for r in rows if r.authority_id == authority_id),
            key=lambda r: (r.scheme, stage_rank(r.stage)),
        )
        latest: dict[str, str] = {}
        for r in mine:
            latest[r.scheme] = r.stage
        found.append(
            {
                "authority_id": authority_id,
                "authority": authority.name if authority else None,
                "country": authority.country if authority else None,
                "plan": plan_json(plan) if plan else None,
                "stage_by_scheme": latest,
                "stages": [outcome_json(r) for r in mine],
            }
        )
    return found


def plan_json(plan: LearningPlan) -> dict[str, Any]:
    return {
        "scheme": plan.scheme,
        "sector": plan.sector,
        "size_eur": plan.size_eur,
        "next_step": plan.next_step,
        "target_date": plan.target_date.isoformat() if plan.target_date else None,
    }


# -- the satisfaction survey -----------------------------------------------------------------


async def answer_survey(
    uow: UnitOfWork, officer: Officer, survey_id: int, score: int, now: datetime
) -> SatisfactionSurvey:
    """Store an officer's score (1-5) on their own survey; answering again corrects it."""
    survey = await uow.surveys.get(survey_id)
    if survey is None or survey.officer_id != officer.id:
        raise NotAllowed(str(survey_id))
    if not 1 <= score <= 5:
        raise Invalid("bad_score")
    survey.score, survey.answered_at = score, now
    await uow.flush()
    return survey


async def comment_survey(
    uow: UnitOfWork, officer: Officer, survey_id: int, comment: str
) -> SatisfactionSurvey:
    """Store the one free comment of an officer's survey."""
    survey = await uow.surveys.get(survey_id)
    if survey is None or survey.officer_id != officer.id:
        raise NotAllowed(str(survey_id))
    survey.comment = comment.strip()[:2000] or None
    await uow.flush()
    return survey


# -- the funders' figures --------------------------------------------------------------------


@dataclass
class Kpis:
    """The programme's indicators, in total and per authority (one row each)."""

    totals: dict[str, Any]
    by_authority: list[dict[str, Any]] = field(default_factory=list)
    investments_by_instrument: dict[str, int | float] = field(default_factory=dict)
    """investments_eur by the instrument recorded at 'financed' (adds up to the total)."""
    investments_by_sector: dict[str, int | float] = field(default_factory=dict)
    """investments_eur by sector (`rules.investment_breakdown` says how it is found)."""


async def programme_kpis(uow: UnitOfWork, programme_ids: Collection[int]) -> Kpis:
    """Every indicator of `rules.INDICATORS` for these programmes (nothing of another is read)."""
    people = await uow.kpis.participants(programme_ids)
    pairs = await uow.kpis.pairs(programme_ids) if programme_ids else []
    officer_authority = {p.officer_id: p.authority_id for p in people}
    authorities: dict[int, tuple[str, str]] = {
        p.authority_id: (p.authority, p.country) for p in people if p.authority_id is not None
    }
    ids = sorted(authorities)
    officers_per = Counter(p.authority_id for p in people if p.authority_id is not None)
    pairs_per: Counter[int] = Counter()
    for pair in pairs:
        pairs_per.update({a for a in (pair.learner_authority_id, pair.mentor_authority_id) if a})
    mentors = {p.mentor_authority_id for p in pairs if p.mentor_authority_id is not None}
    seats = await uow.kpis.group_seats(programme_ids) if programme_ids else []
    groups_per = Counter(authority for _, authority in seats)
    practices = Counter(p.authority_id for p in await uow.kpis.approved_practices(ids))
    answered = await uow.kpis.questions_answered(programme_ids)
    questions_per: Counter[int] = Counter()
    for officer_id, n in answered.items():
        owner = officer_authority.get(officer_id)
        if owner is not None:
            questions_per[owner] += n
    stages = [
        StageFact(
            r.authority_id,
            r.scheme,
            r.stage,
            r.amount_eur,
            r.savings_mwh,
            r.renewable_mwh,
            r.co2_t,
            r.pair_id,
            r.practice_id,
            r.instrument,
        )
        for r in await uow.outcomes.list(ids)
    ]
    figures = outcome_figures(stages)
    breakdown = await _investment_breakdown(uow, ids, stages)
    scores: dict[int, list[int]] = defaultdict(list)
    all_scores: list[int] = []
    for survey in await uow.surveys.answered([p.id for p in pairs]):
        if survey.officer_id in officer_authority and survey.score is not None:
            all_scores.append(survey.score)
            owner = officer_authority[survey.officer_id]
            if owner is not None:
                scores[owner].append(survey.score)
    outcome_keys = (
        "investments_eur",
        "energy_savings_mwh_per_year",
        "renewable_mwh_per_year",
        "co2_avoided_t_per_year",
        "replications",
    )
    rows = []
    for authority_id in ids:
        name, country = authorities[authority_id]
        mine = figures.get(authority_id, {})
        marks = scores.get(authority_id, [])
        rows.append(
            {
                "authority_id": authority_id,
                "authority": name,
                "country": country,
                "authorities_engaged": 1,
                "officers": officers_per[authority_id],
                "countries": country,
                "learning_groups": groups_per[authority_id],
                "pairs": pairs_per[authority_id],
                "schemes": practices[authority_id],
                "mentor_authorities": int(authority_id in mentors),
                "questions_answered": questions_per[authority_id],
                **{k: tidy(mine.get(k, 0.0)) for k in outcome_keys},
                "satisfaction_mean": round(sum(marks) / len(marks), 2) if marks else None,
                "satisfaction_n": len(marks),
                **{
                    f"investments_by_{part}": _tidy_sorted(
                        breakdown.get(authority_id, {}).get(part, {})
                    )
                    for part in BREAKDOWNS
                },
            }
        )
    totals: dict[str, Any] = {
        "authorities_engaged": len(ids),
        "officers": len(people),
        "countries": len({c for _, c in authorities.values() if c}),
        "learning_groups": len({group for group, _ in seats}),
        "pairs": len(pairs),
        "schemes": sum(practices.values()),
        "mentor_authorities": len(mentors),
        "questions_answered": sum(answered.values()),
        **{k: tidy(sum(f.get(k, 0.0) for f in figures.values())) for k in outcome_keys},
        "satisfaction_mean": round(sum(all_scores) / len(all_scores), 2) if all_scores else None,
        "satisfaction_n": len(all_scores),
    }
    assert tuple(totals) == KPI_KEYS, "the totals follow rules.INDICATORS"
    summed: dict[str, dict[str, float]] = {part: {} for part in BREAKDOWNS}
    for parts in breakdown.values():
        for part in BREAKDOWNS:
            for code, amount in parts[part].items():
                summed[part][code] = summed[part].get(code, 0.0) + amount
    return Kpis(
        totals,
        rows,
        investments_by_instrument=_tidy_sorted(summed["instrument"]),
        investments_by_sector=_tidy_sorted(summed["sector"]),
    )


BREAKDOWNS = ("instrument", "sector")
"""The parts investments_eur is broken down by (`investments_by_<part>`)."""


def _tidy_sorted(amounts: dict[str, float]) -> dict[str, int | float]:
    return {code: tidy(amounts[code]) for code in sorted(amounts) if amounts[code]}


async def _investment_breakdown(
    uow: UnitOfWork, ids: Collection[int], stages: list[StageFact]
) -> dict[int, dict[str, dict[str, float]]]:
    """Investments by instrument and sector per authority: the sector of the authority's plan
    when it is about the same scheme, else of the replicated practice."""
    plans = {p.authority_id: p for p in await uow.plans.list(ids)} if ids else {}
    practice_ids = {s.practice_id for s in stages if s.practice_id is not None}
    practice_sector = await uow.kpis.practice_sectors(practice_ids)

    def sector_of(stage: StageFact) -> str | None:
        plan = plans.get(stage.authority_id)
        if plan is not None and plan.scheme == stage.scheme:
            return plan.sector
        return practice_sector.get(stage.practice_id) if stage.practice_id else None

    return investment_breakdown(stages, sector_of)


def indicator_rows() -> list[dict[str, str]]:
    """The definitions: each indicator, its unit, the funders' names and how it is computed."""
    return [
        {"key": i.key, "unit": i.unit, "frameworks": i.frameworks, "method": i.method}
        for i in INDICATORS
    ]


# -- applications from outside the programme -------------------------------------------------


@dataclass
class Submission:
    """What became of a submitted form: `stored`, `invalid` (errors by field), `ignored` (the
    honeypot was filled: answered like success, nothing kept), `duplicate` or `busy`."""

    status: str
    errors: dict[str, str] = field(default_factory=dict)
    application_id: int | None = None


async def submit_application(
    uow: UnitOfWork,
    form: dict[str, str],
    locale: str,
    now: datetime,
    country_of: Callable[[str], str | None],
) -> Submission:
    """Check a public expression of interest strictly and store it only when it is valid."""
    check = check_application(form, country_of)
    if check.errors.get("form") == "spam":
        return Submission("ignored")
    if not check.ok:
        return Submission("invalid", check.errors)
    if await uow.applications.pending_for(check.values["email"]):
        return Submission("duplicate")
    if await uow.applications.count_since(now - timedelta(hours=1)) >= APPLICATIONS_PER_HOUR:
        return Submission("busy")
    row = await uow.applications.add(
        Application(
            authority=check.values["authority"],
            country=check.values["country"],
            contact_name=check.values["contact_name"],
            email=check.values["email"],
            wants=check.values["wants"],
            locale=locale,
            consent_at=now,
            status="pending",
            created_at=now,
        )
    )
    return Submission("stored", application_id=row.id)


async def forget_stale_applications(uow: UnitOfWork, now: datetime) -> int:
    """Delete the pending requests older than `KEEP_PENDING`; returns how many."""
    return await uow.applications.forget_pending_before(now - KEEP_PENDING)


def application_json(row: Application) -> dict[str, Any]:
    return {
        "id": row.id,
        "authority": row.authority,
        "country": row.country,
        "contact_name": row.contact_name,
        "email": row.email,
        "wants": row.wants,
        "locale": row.locale,
        "status": row.status,
        "created_at": row.created_at.isoformat(),
        "consent_at": row.consent_at.isoformat(),
        "accepted_at": row.accepted_at.isoformat() if row.accepted_at else None,
        "invite_code": row.invite_code,
        "declined_at": row.declined_at.isoformat() if row.declined_at else None,
        "decline_reason": row.decline_reason,
    }


async def list_applications(uow: UnitOfWork, status: str | None = None) -> list[dict[str, Any]]:
    return [application_json(r) for r in await uow.applications.list(status)]


@dataclass(frozen=True)
class Accepted:
    """An accepted application: the authority it joins as and its one-time invite code."""

    application_id: int
    authority_id: int
    authority: str
    country: str
    code: str
    email: str
    locale: str


async def accept_application(
    uow: UnitOfWork,
    application_id: int,
    by: str,
    now: datetime,
    days: int = INVITE_DAYS,
    programme_id: int | None = None,
) -> Accepted:
    """Accept a pending application: the authority is created if new and gets an invite code
    (as `peerbot invites create` makes). Accepting twice is refused. `programme_id` is the
    programme whose coordinator accepted it in the console."""
    row = await uow.applications.lock(application_id)
    if row is None:
        raise Invalid("no_application", id=application_id)
    if row.status != "pending":
        raise Invalid("not_pending", id=application_id, status=row.status)
    authority = await uow.authorities.get_or_create(row.authority, row.country)
    code = secrets.token_urlsafe(9)
    await uow.applications.add_invite(
        Invite(
            code=code,
            purpose="join",
            authority_id=authority.id,
            expires_at=now + timedelta(days=days),
            created_at=now,
        )
    )
    row.status, row.accepted_at, row.accepted_by = "accepted", now, by[:200]
    row.authority_id, row.invite_code = authority.id, code
    row.programme_id = programme_id
    await uow.flush()
    return Accepted(
        row.id, authority.id, authority.name, authority.country, code, row.email, row.locale
    )


REASON_LIMITS = (3, 1000)


async def decline_application(
    uow: UnitOfWork,
    application_id: int,
    reason: str,
    now: datetime,
    programme_id: int | None = None,
) -> Application:
    """Decline a pending application with a reason (kept with it, for the coordinators; the
    requester is written to by a person). Deciding twice is refused."""
    text = " ".join(reason.split())
    low, high = REASON_LIMITS
    if not low <= len(text) <= high:
        raise Invalid("bad_reason", low=low, high=high)
    row = await uow.applications.lock(application_id)
    if row is None:
        raise Invalid("no_application", id=application_id)
    if row.status != "pending":
        raise Invalid("not_pending", id=application_id, status=row.status)
    row.status, row.declined_at, row.decline_reason = "declined", now, text
    row.programme_id = (
        programme_id  # who declined it is in the audit log (console) or nowhere (CLI)
    )
    await uow.flush()
    return row
