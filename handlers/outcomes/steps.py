"""A learning plan's next step at check-in time: the question, what each answer leads to, and
the short flow that sets the next step.

Pair and group check-ins (`handlers.pairing.checkins`, `handlers.groups.checkins`) ask a learner
whose authority has a plan about the plan's step instead of "did you meet"; they store the
answer on their own check-in row and hand over here. A done step may move the project to the
next outcome stage (through `service.advance_plan_stage`); every answer offers to set the next
step, which is kept in the database like every flow.
"""

from __future__ import annotations

from datetime import date
from typing import Any, TypedDict, cast

from handlers.core.content import Content
from handlers.core.context import Ctx
from handlers.core.date_phrases import day_text
from handlers.core.events import Incoming
from handlers.core.replies import Choice
from handlers.core.router import router
from handlers.core.taxonomy import fold
from handlers.core.typed_words import means
from handlers.outcomes import service
from handlers.outcomes.rules import STAGES, parse_day
from storage.models import LearningPlan

FLOW = "plan_step"
TAG = "pstp"


class NextStepState(TypedDict, total=False):
    """`Conversation.data` of `plan_step`: the typed next step, once given (then its day)."""

    step: str


CANCEL_WORDS = {"cancel", "annuler", "abbrechen", "cancelar", "annulla", "stop"}


def step_values(content: Content, locale: str, plan: LearningPlan) -> dict[str, str]:
    """The plan's step and its target day, as the check-in question shows them."""
    target = (
        day_text(content.t, locale, plan.target_date)
        if plan.target_date
        else content.t(locale, "outcomes_plans.no_date")
    )
    return {
        "step": plan.next_step,
        "target": target,
        "scheme": content.taxonomy.label("instruments", plan.scheme, locale),
    }


def stage_label(content: Content, locale: str, stage: str | None) -> str:
    if stage is None:
        return content.t(locale, "outcomes_plans.stage_none")
    return content.t(locale, f"outcomes.stage_{stage}")


async def after_answer(ctx: Ctx, answer: str) -> None:
    """Record the answer on the plan and say what comes next (called by both check-ins)."""
    if ctx.officer is None:
        return
    try:
        plan = await service.answer_plan_step(ctx.uow, ctx.officer, answer, ctx.clock.now())
    except service.Invalid as exc:
        await ctx.reply(f"outcomes.errors.{exc.key}", **exc.values)
        return
    if answer == "done":
        await ask_stage(ctx)
        return
    values: dict[str, Any] = step_values(ctx.content, ctx.locale, plan)
    await ctx.reply(
        f"outcomes_plans.{answer}_noted",
        **values,
        choices=[
            Choice(f"{TAG}:new", ctx.t("outcomes_plans.new_step")),
            Choice(f"{TAG}:keep", ctx.t("outcomes_plans.keep_step")),
        ],
    )


async def ask_stage(ctx: Ctx) -> None:
    """A done step: has the project reached the next stage? (or /outcome for 'financed')."""
    assert ctx.officer is not None
    choice = await service.stage_after_step(ctx.uow, ctx.officer)
    scheme = ctx.content.taxonomy.label("instruments", choice.scheme, ctx.locale)
    current = stage_label(ctx.content, ctx.locale, choice.current)
    if choice.next is None:
        last = choice.current == STAGES[-1]
        await ctx.reply(
            "outcomes_plans.done_last" if last else "outcomes_plans.done_record",
            scheme=scheme,
            stage=current,
            choices=[Choice(f"{TAG}:new", ctx.t("outcomes_plans.new_step"))],
        )
        return
    await ctx.reply(
        "outcomes_plans.done_first" if choice.current is None else "outcomes_plans.done_stage",
        scheme=scheme,
        stage=current,
        next=stage_label(ctx.content, ctx.locale, choice.next),
        choices=[
            Choice(f"{TAG}:adv:{choice.next}", ctx.t("outcomes_plans.advance_yes")),
            Choice(f"{TAG}:same", ctx.t("outcomes_plans.advance_no")),
        ],
    )


@router.choice(TAG)
async def press_step(event: Incoming, ctx: Ctx) -> None:
    """Advance the stage, keep it, set a new step or keep the old one."""
    _, action, arg = ((event.choice or "") + "::").split(":", 2)
    arg = arg.rstrip(":")
    if ctx.officer is None:
        await ctx.reply("errors.expired_choice")
        return
    if action == "adv":
        try:
            row = await service.advance_plan_stage(
                ctx.uow,
                ctx.officer,
                arg,
                schemes=ctx.content.taxonomy.codes("instruments"),
                today=ctx.clock.now().date(),
            )
        except service.Invalid as exc:
            await ctx.reply(f"outcomes.errors.{exc.key}", **exc.values)
            return
        await ctx.reply(
            "outcomes_plans.stage_recorded",
            scheme=ctx.content.taxonomy.label("instruments", row.scheme, ctx.locale),
            stage=stage_label(ctx.content, ctx.locale, row.stage),
        )
        await start_new_step(ctx)
    elif action in ("same", "new"):
        await start_new_step(ctx)
    elif action == "keep":
        await ctx.reply("outcomes_plans.kept")
    elif action == "skip":
        await _take(ctx, None, skip=True)
    elif action == "cancel":
        await ctx.clear_state()
        await ctx.reply("outcomes_plans.kept")
    else:
        await ctx.reply("errors.expired_choice")


async def start_new_step(ctx: Ctx) -> None:
    """Ask for the next step (then its target day)."""
    asking: NextStepState = {}
    await ctx.set_state(FLOW, "step", asking)
    await ctx.reply(
        "outcomes_plans.ask_step", choices=[Choice(f"{TAG}:cancel", ctx.t("outcomes.cancel"))]
    )


@router.flow(FLOW)
async def answer_step(event: Incoming, ctx: Ctx) -> None:
    """A typed next step, or its target day."""
    await _take(ctx, event.text)


async def _take(ctx: Ctx, text: str | None, skip: bool = False) -> None:
    state = await ctx.state()
    if state is None or state.flow != FLOW or ctx.officer is None:
        await ctx.reply("errors.expired_choice")
        return
    data = cast(NextStepState, dict(state.data))
    typed = (text or "").strip()
    if not skip and fold(typed) in CANCEL_WORDS:
        await ctx.clear_state()
        await ctx.reply("outcomes_plans.kept")
        return
    if state.step == "step":
        if skip or not 3 <= len(typed) <= 1000 or typed.startswith("/"):
            await ctx.reply("outcomes.errors.bad_step")
            return
        data["step"] = typed
        await ctx.set_state(FLOW, "date", data)
        await ctx.reply(
            "outcomes_plans.ask_date",
            choices=[
                Choice(f"{TAG}:skip", ctx.t("outcomes.skip")),
                Choice(f"{TAG}:cancel", ctx.t("outcomes.cancel")),
            ],
        )
        return
    today = ctx.clock.now().date()
    day: date | None = None
    if not skip and not means(ctx.content.t, "skip", typed):
        day = parse_day(typed, today)
        if day is None:
            await ctx.reply("outcomes.date_unclear", answer=typed[:30])
            return
    try:
        plan = await service.set_next_step(ctx.uow, ctx.officer, data.get("step", ""), day, today)
    except service.Invalid as exc:
        await ctx.reply(f"outcomes.errors.{exc.key}", **exc.values)
        return
    await ctx.clear_state()
    values = step_values(ctx.content, ctx.locale, plan)
    await ctx.reply("outcomes_plans.step_saved", step=values["step"], target=values["target"])
