"""What a form surface (the Slack plan modal) shows before it opens: the caller's language and
their authority's current plan, read without a write lock so it fits Slack's 3-second window.
The submitted form is not handled here: it goes through the inbox to `flow.submit_plan_form`.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.core.engine import Core
from handlers.core.events import Incoming
from handlers.core.ports import Messenger
from handlers.outcomes import service
from storage.models import OfficerStatus


@dataclass(frozen=True)
class PlanSurface:
    """The caller's language; whether they may plan (an active officer with an authority);
    the plan to prefill, if their authority has one."""

    locale: str
    may_plan: bool
    plan: service.PlanDraft | None = None


async def plan_surface(core: Core, event: Incoming, messenger: Messenger) -> PlanSurface:
    """Read (never write) the caller's authority plan."""
    async with core.uow() as uow:
        ctx = await core.context(event, messenger, uow, write=False)
        officer = ctx.officer
        if officer is None or officer.status != OfficerStatus.ACTIVE or not officer.authority_id:
            return PlanSurface(ctx.locale, False)
        plan = await service.plan_of(uow, officer.authority_id)
        if plan is None:
            return PlanSurface(ctx.locale, True)
        return PlanSurface(
            ctx.locale,
            True,
            service.PlanDraft(
                plan.scheme, plan.sector, plan.size_eur, plan.next_step, plan.target_date
            ),
        )
