"""Group check-ins at the programme's cadence, and a group's health from the answers.

Every `checkin_days` after a group was introduced, each member is asked how the group is going
(going well / slow / stuck). One row per (group, member, period) is written first (unique), so a
question is asked once whatever the number of schedulers; a "stuck" answer is passed on to the
coordinators. The health of a group is what its latest answered period says: stuck when anyone
is stuck, slow when anyone is slow, good otherwise, silent when a period went unanswered.

A learner member whose authority has a learning plan is asked about the plan's next step
instead (done / under way / stuck); the answer is the member's check-in answer (a done or
under-way step counts as going well) and goes on to `handlers.outcomes.steps`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from handlers.core.context import Ctx
from handlers.core.events import Incoming
from handlers.core.jobs import JobCtx, job
from handlers.core.ports import Messenger
from handlers.core.replies import Choice
from handlers.core.router import router
from handlers.delivery.outbox import officer_locale, preferred_identity, queue_to_officer
from handlers.outcomes import steps as plan_steps
from handlers.outcomes.service import step_to_ask
from handlers.pairing.view import notify_coordinators
from storage.models import GroupCheckIn, OfficerStatus, PeerGroup
from storage.uow import UnitOfWork

ANSWERS = ("good", "slow", "stuck")
STEP_ANSWERS = ("done", "under_way", "stuck")
BATCH = 200


def health(checkins: Sequence[GroupCheckIn]) -> str:
    """'new' (nothing asked yet), 'silent', 'stuck', 'slow' or 'good'."""
    if not checkins:
        return "new"
    periods = sorted({c.period for c in checkins if c.sent_at is not None}, reverse=True)
    for period in periods:
        answers = {c.answer for c in checkins if c.period == period and c.answer}
        if not answers:
            return "silent"
        for state in ("stuck", "slow", "good"):
            if state in answers:
                return state
        return "good"  # a plan's step done or under way
    return "new"


async def _due_checkins(uow: UnitOfWork, group: PeerGroup, now: datetime) -> None:
    """Create this period's check-ins of a group's active members (each once)."""
    if group.introduced_at is None:
        return
    cycle = await uow.cycles.get(group.cycle_id)
    programme = await uow.cycles.programme(cycle.programme_id if cycle else None)
    every = timedelta(days=programme.checkin_days if programme else 14)
    period = int((now - group.introduced_at) / every)
    if period < 1:
        return
    for _, officer in await uow.groups.members(group.id):
        if officer is not None and officer.status == OfficerStatus.ACTIVE:
            await uow.groups.add_checkin(group.id, officer.id, period, now)


@job("group_checkins")
async def run_group_checkins(core: JobCtx, messengers: dict[str, Messenger]) -> int:
    """Create the check-ins that are due and ask them."""
    now = core.clock.now()
    asked = 0
    after = 0
    while True:  # every running group, a page at a time
        async with core.uow() as uow:
            page = await uow.groups.running(BATCH, after)
            for group in page:
                await _due_checkins(uow, group, now)
            await uow.commit()
        if len(page) < BATCH:
            break
        after = page[-1].id
    async with core.uow() as uow:
        for checkin in await uow.groups.unsent_checkins(now, BATCH):
            if not await uow.groups.mark_checkin_sent(checkin.id, now):
                continue
            asked_group = await uow.groups.get(checkin.group_id)
            officer = await uow.officers.get(checkin.officer_id)
            if asked_group is None or officer is None:
                continue
            cycle = await uow.cycles.get(asked_group.cycle_id)
            content = await core.content.of_programme(uow, cycle.programme_id if cycle else None)
            locale = officer_locale(officer, content, preferred_identity(officer))
            scheme = content.taxonomy.label("instruments", asked_group.scheme, locale)
            key, values = "groups.checkin.ask", {"scheme": scheme}
            choices = [
                Choice(f"gck:{checkin.id}:{a}", content.t(locale, f"groups.checkin.{a}"))
                for a in ANSWERS
            ]
            seats = await uow.groups.members(asked_group.id)
            learner = any(m.role == "learner" and m.officer_id == officer.id for m, _ in seats)
            plan = await step_to_ask(uow, officer) if learner else None
            if plan is not None:
                key = "outcomes_plans.group_step_ask"
                values = {**plan_steps.step_values(content, locale, plan), "group": scheme}
                choices = [
                    Choice(f"gck:{checkin.id}:{a}", content.t(locale, f"outcomes_plans.{a}"))
                    for a in STEP_ANSWERS
                ]
            asked += await queue_to_officer(
                uow,
                content,
                core.secret,
                officer,
                key,
                idempotency_key=f"gcheckin:{checkin.id}",
                values=values,
                choices=choices,
                purpose="group_checkin",
                ref_id=asked_group.id,
            )
        await uow.commit()
    return asked


@router.choice("gck")
async def answer_checkin(event: Incoming, ctx: Ctx) -> None:
    """A member says how their group is going."""
    _, checkin_id, answer = (event.choice or "").split(":", 2)
    checkin = await ctx.uow.groups.get_checkin(int(checkin_id))
    if (
        checkin is None
        or ctx.officer is None
        or checkin.officer_id != ctx.officer.id
        or answer not in (*ANSWERS, *STEP_ANSWERS)
    ):
        await ctx.reply("errors.expired_choice")
        return
    checkin.answer, checkin.answered_at = answer, ctx.clock.now()
    await ctx.uow.group_life.touch(checkin.group_id, ctx.clock.now())
    group = await ctx.uow.groups.get(checkin.group_id)
    if answer == "stuck" and group is not None:
        cycle = await ctx.uow.cycles.get(group.cycle_id)
        await notify_coordinators(
            ctx.uow,
            ctx.content,
            ctx.secret,
            cycle.programme_id if cycle else None,
            "groups.checkin.coordinator_stuck",
            idempotency=f"gcheckin:{checkin.id}:stuck",
            values={
                "id": group.id,
                "scheme": ctx.content.taxonomy.label("instruments", group.scheme, "en"),
                "who": ctx.officer.name,
            },
            ref_id=group.id,
        )
    if answer in STEP_ANSWERS and await step_to_ask(ctx.uow, ctx.officer) is not None:
        await plan_steps.after_answer(ctx, answer)
        return
    await ctx.reply(f"groups.checkin.thanks_{answer}", edit=True)
