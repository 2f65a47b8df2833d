"""Mentors see the learning plans of the authorities they mentor: one line in the pair's (or
group's) introduction, and `/plans` at any time. Who may see what is decided in
`service.learners_plans` (the pair's or group's mentor; a coordinator for their programmes)."""

from __future__ import annotations

from handlers.core.content import Content
from handlers.core.context import Ctx
from handlers.core.date_phrases import day_text
from handlers.core.events import Incoming
from handlers.core.router import router
from handlers.outcomes import service
from handlers.practices.flow import format_amount
from storage.models import LearningPlan
from storage.uow import UnitOfWork

MAX_SHOWN = 30
"""Plans listed in one message (a chat message has a length limit)."""


def _plan_values(content: Content, locale: str, plan: LearningPlan) -> dict[str, str]:
    tax = content.taxonomy
    return {
        "scheme": tax.label("instruments", plan.scheme, locale),
        "sector": tax.label("sectors", plan.sector, locale),
        "size": format_amount(plan.size_eur, locale) if plan.size_eur else "—",
        "step": plan.next_step or "—",
        "target": (
            day_text(content.t, locale, plan.target_date)
            if plan.target_date
            else content.t(locale, "outcomes_plans.no_date")
        ),
    }


def plan_line(content: Content, locale: str, authority: str, plan: LearningPlan | None) -> str:
    """ "Lyon's learning plan: EPC for public lighting, about EUR 2,500,000. Next step: …" plus
    a line break, or "" without a plan."""
    if plan is None:
        return ""
    return content.t(
        locale,
        "outcomes_plans.mentor_plan",
        authority=authority,
        **_plan_values(content, locale, plan),
    )


async def learner_plan_line(
    uow: UnitOfWork, content: Content, locale: str, authority_id: int | None, authority: str
) -> str:
    """The introduction's line for a mentor: the learner authority's plan, if it has one."""
    plan = await service.plan_of(uow, authority_id)
    return plan_line(content, locale, authority, plan)


@router.command("plans", member=True)
async def show_plans(event: Incoming, ctx: Ctx) -> None:
    """The learning plans of the authorities the caller mentors (coordinators: all of theirs)."""
    if ctx.officer is None:
        await ctx.reply("errors.expired_choice")
        return
    coordinator = ctx.is_coordinator
    found = await service.learners_plans(
        ctx.uow, ctx.officer, coordinator=coordinator, programme_ids=ctx.coordinates
    )
    if not found:
        mentoring = coordinator or bool(await ctx.uow.plans.mentored_by(ctx.officer.id))
        await ctx.reply(
            "outcomes_plans.plans_none" if mentoring else "outcomes_plans.plans_not_mentor"
        )
        return
    items = []
    for seen in found[:MAX_SHOWN]:
        via = ctx.t(f"outcomes_plans.via_{seen.via}", id=seen.ref_id or "")
        status = seen.plan.step_status
        state = (
            ctx.t("outcomes_plans.plans_state", answer=ctx.t(f"outcomes_plans.{status}"))
            if status
            else ""
        )
        authority = f"{seen.authority}, {seen.country}" if seen.country else seen.authority
        items.append(
            ctx.t(
                "outcomes_plans.plans_item",
                authority=authority,
                via=via,
                state=state,
                **_plan_values(ctx.content, ctx.locale, seen.plan),
            )
        )
    head = "outcomes_plans.plans_head_coordinator" if coordinator else "outcomes_plans.plans_head"
    await ctx.send(ctx.t(head) + "\n" + "\n".join(items))
