"""Chat steps of outcomes: `/plan` (what the authority wants to learn, for which project),
`/outcome` (a stage reached with a scheme) and the satisfaction survey at the close of a pair.

Both flows keep their step in the database like every flow, answer in the officer's language,
take a typed answer or a pressed choice, and offer Back and Cancel; optional questions offer
Skip. What they store goes through `handlers.outcomes.service`, as the CLI does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal, TypedDict, cast

from handlers.core.context import Ctx
from handlers.core.date_phrases import day_text
from handlers.core.events import Incoming
from handlers.core.jobs import JobCtx, job
from handlers.core.ports import Messenger
from handlers.core.replies import Choice
from handlers.core.router import router
from handlers.core.taxonomy import fold
from handlers.core.typed_words import means
from handlers.delivery.outbox import officer_locale, preferred_identity, queue_to_officer
from handlers.outcomes import service
from handlers.outcomes.rules import (
    FINANCED,
    STAGES,
    clean_url,
    is_replication,
    parse_day,
    parse_figure,
)
from handlers.pairing.view import topic_label
from handlers.practices.flow import format_amount, parse_amount
from storage.models import LearningPlan, OfficerStatus

PLAN = "plan"
OUTCOME = "outcome"
SURVEY_COMMENT = "survey_comment"


class CommentState(TypedDict):
    """`Conversation.data` of `survey_comment`: the survey a free comment is for."""

    survey_id: int


CANCEL_WORDS = {"cancel", "annuler", "abbrechen", "cancelar", "annulla", "stop"}
BACK_WORDS = {"back", "retour", "zuruck", "atras", "indietro"}
SURVEY_WINDOW = timedelta(days=14)
"""Pairs closed this recently get the survey (older closes, from before the survey, do not)."""

AmountField = Literal["size_eur", "amount_eur"]
TextField = Literal["next_step", "sources", "method"]
DateField = Literal["target_date", "reached_on"]
FigureField = Literal["savings_mwh", "renewable_mwh", "co2_t"]


class StepsState(TypedDict, total=False):
    """`Conversation.data` of `plan` and `outcome` (one step engine): the answers so far."""

    scheme: str
    # /plan
    sector: str
    size_eur: int
    next_step: str
    target_date: str  # ISO day
    # /outcome
    stage: str
    amount_eur: int
    instrument: str
    sources: str
    reached_on: str  # ISO day
    evidence_url: str
    savings_mwh: float
    renewable_mwh: float
    co2_t: float
    method: str


Ask = Callable[[Ctx, StepsState], Awaitable[None]]
Take = Callable[[Ctx, StepsState, str | None, str], Awaitable[bool]]


@dataclass(frozen=True)
class Step:
    """One question: how to ask, how to take the answer, whether it may be skipped and when
    it is asked at all."""

    name: str
    ask: Ask
    take: Take
    optional: bool = False
    when: Callable[[StepsState], bool] = lambda data: True


def _nav(ctx: Ctx, prefix: str, optional: bool = False, back: bool = True) -> list[Choice]:
    nav = [Choice(f"{prefix}:skip", ctx.t("outcomes.skip"))] if optional else []
    if back:
        nav.append(Choice(f"{prefix}:back", ctx.t("outcomes.back")))
    return [*nav, Choice(f"{prefix}:cancel", ctx.t("outcomes.cancel"))]


def _scheme_label(ctx: Ctx, code: str) -> str:
    return ctx.content.taxonomy.label("instruments", code, ctx.locale)


def _sector_label(ctx: Ctx, code: str) -> str:
    return ctx.content.taxonomy.label("sectors", code, ctx.locale)


def _stage_label(ctx: Ctx, stage: str) -> str:
    return ctx.t(f"outcomes.stage_{stage}")


def plan_card(ctx: Ctx, plan: LearningPlan) -> str:
    """A plan as a few lines in the reader's language."""
    return ctx.t(
        "outcomes.plan_card",
        scheme=_scheme_label(ctx, plan.scheme),
        sector=_sector_label(ctx, plan.sector),
        size=format_amount(plan.size_eur, ctx.locale) if plan.size_eur else "—",
        step=plan.next_step,
        target=day_text(ctx.content.t, ctx.locale, plan.target_date) if plan.target_date else "—",
    )


# -- shared answers --------------------------------------------------------------------------


def _choice_value(choice: str | None, tag: str) -> str | None:
    return choice[len(tag) + 1 :] if choice and choice.startswith(f"{tag}:") else None


def _scheme_step(prefix: str, first: bool) -> Step:
    async def ask(ctx: Ctx, data: StepsState) -> None:
        tax = ctx.content.taxonomy
        choices = [
            Choice(f"{prefix}:sch:{c}", tax.label("instruments", c, ctx.locale))
            for c in tax.codes("instruments")
        ]
        await ctx.reply(
            f"outcomes.{prefix}_ask_scheme", choices=[*choices, *_nav(ctx, prefix, back=not first)]
        )

    async def take(ctx: Ctx, data: StepsState, choice: str | None, text: str) -> bool:
        tax = ctx.content.taxonomy
        code = _choice_value(choice, "sch") or tax.match("instruments", text)
        if code not in tax.codes("instruments"):
            await ctx.reply("outcomes.unclear", answer=text[:60])
            return False
        data["scheme"] = code
        return True

    return Step("scheme", ask, take)


async def _ask_sector(ctx: Ctx, data: StepsState) -> None:
    tax = ctx.content.taxonomy
    choices = [
        Choice(f"pln:sec:{c}", tax.label("sectors", c, ctx.locale)) for c in tax.codes("sectors")
    ]
    await ctx.reply("outcomes.pln_ask_sector", choices=[*choices, *_nav(ctx, "pln")])


async def _take_sector(ctx: Ctx, data: StepsState, choice: str | None, text: str) -> bool:
    tax = ctx.content.taxonomy
    code = _choice_value(choice, "sec") or tax.match("sectors", text)
    if code not in tax.codes("sectors"):
        await ctx.reply("outcomes.unclear", answer=text[:60])
        return False
    data["sector"] = code
    return True


def _amount_step(prefix: str, name: AmountField, optional: bool, when: Any = None) -> Step:
    async def ask(ctx: Ctx, data: StepsState) -> None:
        await ctx.reply(f"outcomes.{prefix}_ask_{name}", choices=_nav(ctx, prefix, optional))

    async def take(ctx: Ctx, data: StepsState, choice: str | None, text: str) -> bool:
        amount = parse_amount(text)
        if amount is None or amount <= 0:
            await ctx.reply("outcomes.amount_unclear", answer=text[:60])
            return False
        data[name] = amount
        return True

    return Step(name, ask, take, optional, when or (lambda data: True))


def _text_step(
    prefix: str, name: TextField, low: int, high: int, optional: bool, when: Any = None
) -> Step:
    async def ask(ctx: Ctx, data: StepsState) -> None:
        await ctx.reply(f"outcomes.{prefix}_ask_{name}", choices=_nav(ctx, prefix, optional))

    async def take(ctx: Ctx, data: StepsState, choice: str | None, text: str) -> bool:
        value = text.strip()
        if not low <= len(value) <= high or value.startswith("/"):
            await ctx.reply("outcomes.length", low=low, high=high)
            return False
        data[name] = value
        return True

    return Step(name, ask, take, optional, when or (lambda data: True))


def _date_step(prefix: str, name: DateField, optional: bool, future: bool) -> Step:
    async def ask(ctx: Ctx, data: StepsState) -> None:
        today = [] if future else [Choice(f"{prefix}:today", ctx.t("outcomes.today"))]
        await ctx.reply(
            f"outcomes.{prefix}_ask_{name}", choices=[*today, *_nav(ctx, prefix, optional)]
        )

    async def take(ctx: Ctx, data: StepsState, choice: str | None, text: str) -> bool:
        today = ctx.clock.now().date()
        day = today if choice == "today" else parse_day(text, today)
        if day is None:
            await ctx.reply("outcomes.date_unclear", answer=text[:30])
            return False
        if future and day < today:
            await ctx.reply("outcomes.date_past")
            return False
        if not future and day > today:
            await ctx.reply("outcomes.date_future")
            return False
        data[name] = day.isoformat()
        return True

    return Step(name, ask, take, optional)


def _figure_step(name: FigureField) -> Step:
    async def ask(ctx: Ctx, data: StepsState) -> None:
        await ctx.reply(f"outcomes.otc_ask_{name}", choices=_nav(ctx, "otc", optional=True))

    async def take(ctx: Ctx, data: StepsState, choice: str | None, text: str) -> bool:
        value = parse_figure(text)
        if value is None:
            await ctx.reply("outcomes.figure_unclear", answer=text[:30])
            return False
        data[name] = value
        return True

    return Step(name, ask, take, optional=True)


# -- /plan -----------------------------------------------------------------------------------


async def _save_plan(ctx: Ctx, data: StepsState) -> None:
    target = data.get("target_date")
    draft = service.PlanDraft(
        scheme=data["scheme"],
        sector=data["sector"],
        size_eur=data.get("size_eur"),
        next_step=data["next_step"],
        target_date=date.fromisoformat(target) if target else None,
    )
    await ctx.clear_state()
    await _store_plan(ctx, draft)


async def _store_plan(ctx: Ctx, draft: service.PlanDraft) -> None:
    """Save a plan from the chat's steps or the Slack modal, and show it (or why not)."""
    tax = ctx.content.taxonomy
    try:
        plan = await service.set_plan(
            ctx.uow,
            ctx.officer,
            draft,
            schemes=tax.codes("instruments"),
            sectors=tax.codes("sectors"),
        )
    except service.Invalid as exc:
        await ctx.reply(f"outcomes.errors.{exc.key}", **exc.values)
        return
    await ctx.reply("outcomes.plan_saved", card=plan_card(ctx, plan))


PLAN_STEPS: list[Step] = [
    _scheme_step("pln", first=True),
    Step("sector", _ask_sector, _take_sector),
    _amount_step("pln", "size_eur", optional=True),
    _text_step("pln", "next_step", 3, 1000, optional=False),
    _date_step("pln", "target_date", optional=True, future=True),
]


@router.command("plan", member=True)
async def start_plan(event: Incoming, ctx: Ctx) -> None:
    """Show the authority's learning plan and (re)write it in a few questions."""
    if ctx.officer is None or ctx.officer.authority_id is None:
        await ctx.reply("outcomes.errors.no_authority")
        return
    plan = await service.plan_of(ctx.uow, ctx.officer.authority_id)
    if plan is not None:
        await ctx.reply("outcomes.plan_current", card=plan_card(ctx, plan))
    await ctx.reply("outcomes.plan_intro")
    await _go(ctx, PLAN, "pln", PLAN_STEPS, {}, 0, _save_plan)


# -- /outcome --------------------------------------------------------------------------------


async def _ask_stage(ctx: Ctx, data: StepsState) -> None:
    choices = [Choice(f"otc:stg:{s}", _stage_label(ctx, s)) for s in STAGES]
    await ctx.reply(
        "outcomes.otc_ask_stage",
        scheme=_scheme_label(ctx, data["scheme"]),
        choices=[*choices, *_nav(ctx, "otc")],
    )


async def _take_stage(ctx: Ctx, data: StepsState, choice: str | None, text: str) -> bool:
    stage = _choice_value(choice, "stg")
    if stage is None and text.strip():
        typed = fold(text)
        stage = next((s for s in STAGES if fold(_stage_label(ctx, s)) == typed), None)
    if stage not in STAGES:
        await ctx.reply("outcomes.unclear", answer=text[:60])
        return False
    data["stage"] = stage
    return True


async def _ask_instrument(ctx: Ctx, data: StepsState) -> None:
    tax = ctx.content.taxonomy
    first = [data["scheme"]]
    codes = first + [c for c in tax.codes("instruments") if c not in first]
    choices = [Choice(f"otc:ins:{c}", tax.label("instruments", c, ctx.locale)) for c in codes]
    await ctx.reply("outcomes.otc_ask_instrument", choices=[*choices, *_nav(ctx, "otc")])


async def _take_instrument(ctx: Ctx, data: StepsState, choice: str | None, text: str) -> bool:
    tax = ctx.content.taxonomy
    code = _choice_value(choice, "ins") or tax.match("instruments", text)
    if code not in tax.codes("instruments"):
        await ctx.reply("outcomes.unclear", answer=text[:60])
        return False
    data["instrument"] = code
    return True


async def _ask_evidence(ctx: Ctx, data: StepsState) -> None:
    await ctx.reply("outcomes.otc_ask_evidence", choices=_nav(ctx, "otc", optional=True))


async def _take_evidence(ctx: Ctx, data: StepsState, choice: str | None, text: str) -> bool:
    url = clean_url(text)
    if url is None:
        await ctx.reply("outcomes.errors.bad_link")
        return False
    data["evidence_url"] = url
    return True


def _financed(data: StepsState) -> bool:
    return data.get("stage") == FINANCED


def _has_figures(data: StepsState) -> bool:
    return any(data.get(k) is not None for k in ("savings_mwh", "renewable_mwh", "co2_t"))


async def _save_outcome(ctx: Ctx, data: StepsState) -> None:
    draft = service.OutcomeDraft(
        scheme=data["scheme"],
        stage=data["stage"],
        reached_on=date.fromisoformat(data["reached_on"]),
        evidence_url=data.get("evidence_url"),
        amount_eur=data.get("amount_eur") if _financed(data) else None,
        instrument=data.get("instrument") if _financed(data) else None,
        sources=data.get("sources") if _financed(data) else None,
        savings_mwh=data.get("savings_mwh"),
        renewable_mwh=data.get("renewable_mwh"),
        co2_t=data.get("co2_t"),
        method=data.get("method") if _has_figures(data) else None,
    )
    await ctx.clear_state()
    try:
        row = await service.record_outcome(
            ctx.uow,
            ctx.officer,
            draft,
            schemes=ctx.content.taxonomy.codes("instruments"),
            today=ctx.clock.now().date(),
        )
    except service.Invalid as exc:
        await ctx.reply(f"outcomes.errors.{exc.key}", **exc.values)
        return
    await ctx.reply(
        "outcomes.outcome_saved",
        scheme=_scheme_label(ctx, row.scheme),
        stage=_stage_label(ctx, row.stage),
        day=day_text(ctx.content.t, ctx.locale, row.reached_on),
    )
    if is_replication(row.stage, row.pair_id, row.practice_id):
        await ctx.reply("outcomes.replication_noted", scheme=_scheme_label(ctx, row.scheme))


OUTCOME_STEPS: list[Step] = [
    _scheme_step("otc", first=True),
    Step("stage", _ask_stage, _take_stage),
    _amount_step("otc", "amount_eur", optional=False, when=_financed),
    Step("instrument", _ask_instrument, _take_instrument, when=_financed),
    _text_step("otc", "sources", 3, 600, optional=False, when=_financed),
    _date_step("otc", "reached_on", optional=False, future=False),
    Step("evidence_url", _ask_evidence, _take_evidence, optional=True),
    _figure_step("savings_mwh"),
    _figure_step("renewable_mwh"),
    _figure_step("co2_t"),
    _text_step("otc", "method", 5, 1000, optional=False, when=_has_figures),
]


@router.command("outcome", member=True)
async def start_outcome(event: Incoming, ctx: Ctx) -> None:
    """Record a stage the caller's authority reached with a financing scheme."""
    if ctx.officer is None or ctx.officer.authority_id is None:
        await ctx.reply("outcomes.errors.no_authority")
        return
    await ctx.reply("outcomes.outcome_intro")
    await _go(ctx, OUTCOME, "otc", OUTCOME_STEPS, {}, 0, _save_outcome)


# -- the step engine shared by both flows ----------------------------------------------------

FLOWS: dict[str, tuple[str, list[Step], Callable[[Ctx, StepsState], Awaitable[None]]]] = {
    PLAN: ("pln", PLAN_STEPS, _save_plan),
    OUTCOME: ("otc", OUTCOME_STEPS, _save_outcome),
}
PREFIXES = {prefix: flow for flow, (prefix, _, _) in FLOWS.items()}


async def _go(
    ctx: Ctx,
    flow: str,
    prefix: str,
    steps: list[Step],
    data: StepsState,
    index: int,
    done: Callable[[Ctx, StepsState], Awaitable[None]],
    direction: int = 1,
) -> None:
    """Ask the question at `index` (passing over those that do not apply), or finish."""
    while 0 <= index < len(steps) and not steps[index].when(data):
        index += direction
    index = max(0, index)
    if index >= len(steps):
        await done(ctx, data)
        return
    await ctx.set_state(flow, steps[index].name, data)
    await steps[index].ask(ctx, data)


async def _advance(ctx: Ctx, flow: str, choice: str | None, text: str) -> None:
    prefix, steps, done = FLOWS[flow]
    index_of = {s.name: i for i, s in enumerate(steps)}
    state = await ctx.state()
    if state is None or state.flow != flow or state.step not in index_of or ctx.officer is None:
        await ctx.reply("errors.expired_choice")
        return
    data, index = cast(StepsState, dict(state.data)), index_of[state.step]
    step, word = steps[index], fold(text)
    if choice == "cancel" or (not choice and word in CANCEL_WORDS):
        await ctx.clear_state()
        await ctx.reply("outcomes.cancelled")
        return
    if choice == "back" or (not choice and word in BACK_WORDS):
        await _go(ctx, flow, prefix, steps, data, index - 1, done, direction=-1)
        return
    if step.optional and (choice == "skip" or (not choice and means(ctx.content.t, "skip", text))):
        cast(dict[str, Any], data).pop(step.name, None)  # the step's own key
        await _go(ctx, flow, prefix, steps, data, index + 1, done)
        return
    if not choice and not text.strip():
        await step.ask(ctx, data)
        return
    if await step.take(ctx, data, choice, text):
        await _go(ctx, flow, prefix, steps, data, index + 1, done)
    else:
        await ctx.set_state(flow, step.name, data)


@router.flow(PLAN)
async def answer_plan(event: Incoming, ctx: Ctx) -> None:
    """Take a typed answer to the pending `/plan` question."""
    await _advance(ctx, PLAN, None, event.text)


@router.choice("pln")
async def press_plan(event: Incoming, ctx: Ctx) -> None:
    """Take a pressed choice of the pending `/plan` question."""
    await _advance(ctx, PLAN, (event.choice or "").partition(":")[2], "")


@router.flow(OUTCOME)
async def answer_outcome(event: Incoming, ctx: Ctx) -> None:
    """Take a typed answer to the pending `/outcome` question."""
    await _advance(ctx, OUTCOME, None, event.text)


@router.choice("otc")
async def press_outcome(event: Incoming, ctx: Ctx) -> None:
    """Take a pressed choice of the pending `/outcome` question."""
    await _advance(ctx, OUTCOME, (event.choice or "").partition(":")[2], "")


# -- the satisfaction survey -----------------------------------------------------------------


@job("satisfaction_surveys")
async def send_surveys(core: JobCtx, messengers: dict[str, Messenger]) -> int:
    """Ask each side of a pair that closed (after running) for a score and a comment, once."""
    now = core.clock.now()
    async with core.uow() as uow:
        ids = [p.id for p in await uow.surveys.closed_pairs_without_survey(now - SURVEY_WINDOW)]
    queued = 0
    for pair_id in ids:
        async with core.uow() as uow:
            pair = await uow.surveys.pair(pair_id)
            if pair is None:
                continue
            slug = await uow.surveys.programme_slug(pair.programme_id)
            content = core.content.for_programme(slug)
            for officer_id, other_id in (
                (pair.learner_id, pair.mentor_id),
                (pair.mentor_id, pair.learner_id),
            ):
                officer = await uow.officers.get(officer_id) if officer_id else None
                if officer is None or officer.status == OfficerStatus.LEFT:
                    continue
                survey = await uow.surveys.open(pair.id, officer.id, now)
                if survey is None:
                    continue
                other = await uow.officers.get(other_id) if other_id else None
                locale = officer_locale(officer, content, preferred_identity(officer))
                queued += await queue_to_officer(
                    uow,
                    content,
                    core.secret,
                    officer,
                    "outcomes.survey_ask",
                    idempotency_key=f"survey:{survey.id}",
                    values={
                        "name": officer.name,
                        "partner": other.name if other else "—",
                        "topic": topic_label(content, locale, pair.topic),
                    },
                    choices=[Choice(f"sat:{survey.id}:{n}", str(n)) for n in range(1, 6)],
                    purpose="survey",
                    ref_id=survey.id,
                )
            await uow.commit()
    return queued


@job("application_retention")
async def forget_stale_applications(core: JobCtx, messengers: dict[str, Messenger]) -> int:
    """Requests to join that nobody followed up within a year are deleted, as promised."""
    async with core.uow() as uow:
        gone = await service.forget_stale_applications(uow, core.clock.now())
        await uow.commit()
    return gone


@router.choice("sat")
async def press_score(event: Incoming, ctx: Ctx) -> None:
    """A score pressed in the survey: stored, then one free comment is invited."""
    _, survey_id, score = ((event.choice or "").split(":") + ["", ""])[:3]
    if ctx.officer is None or not survey_id.isdigit() or not score.isdigit():
        await ctx.reply("errors.expired_choice")
        return
    try:
        await service.answer_survey(
            ctx.uow, ctx.officer, int(survey_id), int(score), ctx.clock.now()
        )
    except (service.NotAllowed, service.Invalid):
        await ctx.reply("errors.expired_choice")
        return
    commenting: CommentState = {"survey_id": int(survey_id)}
    await ctx.set_state(SURVEY_COMMENT, "comment", commenting)
    await ctx.reply(
        "outcomes.survey_ask_comment",
        score=score,
        choices=[Choice("satc:skip", ctx.t("outcomes.skip"))],
    )


@router.flow(SURVEY_COMMENT)
async def take_comment(event: Incoming, ctx: Ctx) -> None:
    """The survey's free comment (a Skip word ends it without one)."""
    state = await ctx.state()
    await ctx.clear_state()
    text = event.text.strip()
    if (
        state is not None
        and ctx.officer is not None
        and text
        and not means(ctx.content.t, "skip", text)
    ):
        with contextlib.suppress(service.NotAllowed):
            await service.comment_survey(
                ctx.uow, ctx.officer, int(cast(CommentState, state.data)["survey_id"]), text
            )
    await ctx.reply("outcomes.survey_thanks")


@router.choice("satc")
async def skip_comment(event: Incoming, ctx: Ctx) -> None:
    """Skip pressed instead of writing a comment."""
    state = await ctx.state()
    if state is not None and state.flow == SURVEY_COMMENT:
        await ctx.clear_state()
    await ctx.reply("outcomes.survey_thanks")


@router.form("plan")
async def submit_plan_form(ctx: Ctx, answers: dict[str, Any]) -> None:
    """A whole plan at once (the Slack modal, checked there): saved as `/plan` saves it."""
    from handlers.outcomes import forms

    if ctx.officer is None or ctx.officer.authority_id is None:
        await ctx.reply("outcomes.errors.no_authority")
        return
    typed = {k: str(v) for k, v in answers.items() if k in forms.PLAN_FIELDS and v is not None}
    draft, problems = forms.read_plan(typed, ctx.clock.now().date())
    if draft is None:
        problem = next(iter(problems.values()))
        await ctx.reply(problem.key, **problem.values)
        return
    await _store_plan(ctx, draft)
