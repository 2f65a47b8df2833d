"""Scheduled check-ins of active pairs: ask, remind, flag, escalate, record what was learned.

What is due lives in the database: `pair.next_checkin_at` (the nominal time, every
`programme.checkin_days` days from activation) and one `check_in` row per pair and period
(UNIQUE (pair_id, period)). The `checkins` job, ticked by the scheduler:

1. creates the check-in row of each pair whose time has come (compare-and-set on
   `next_checkin_at`, so two processes create it once). Missed due times are coalesced: after
   downtime across several due times a pair gets ONE catch-up check-in, never a burst
   (`MISFIRE_GRACE` = one period: a due time is only ever sent late, never dropped, and all
   earlier missed ones fold into it);
2. queues it to each officer at the first tick on a working day between 09:00 and 17:00 in
   THEIR time zone, at or after the due time (outbox key `checkin:<pair>:<period>:<officer>`:
   a restart or a second process never sends it twice);
3. reminds once, 3 days after it went out (again in working hours), when nobody answered;
4. flags the pair and tells the coordinators when two check-ins in a row went unanswered;
5. pauses an officer who left three check-ins in a row unanswered, instead of asking or
   reminding them again, and tells them how to come back (`handlers.officers.pausing`).

Answers ("We met", "Meeting planned", "Stuck, need help", "End this pair") are stored per
officer; "We met" asks what they learned; "Stuck" tells the coordinators at once.

A learner whose authority has a learning plan is asked about the plan's next step instead
("Your next step was X by <date>": done / under way / stuck, or end the pair); the answer is
stored here like any other (`step_done`, `step_under_way`, `stuck`) and handed to
`handlers.outcomes.steps`, which records it on the plan and offers the next step.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict, cast

from handlers.core.content import Content
from handlers.core.context import Ctx
from handlers.core.events import Incoming
from handlers.core.jobs import JobCtx, job
from handlers.core.ports import Messenger
from handlers.core.replies import Choice
from handlers.core.router import router
from handlers.core.typed_words import means
from handlers.delivery.outbox import BULK, queue_to_officer
from handlers.officers.pausing import pause_if_silent
from handlers.outcomes import steps as plan_steps
from handlers.outcomes.service import step_to_ask
from handlers.pairing.leaving import END, leave_pair
from handlers.pairing.view import (
    notify_coordinators,
    partner_of,
    topic_label,
    who,
    working_slot,
    zone,
)
from storage.models import CheckIn, Officer, OfficerStatus, Pair, PairStatus, Programme
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

ANSWERS = ("met", "planned", "stuck", "end")
STEP_ANSWERS = {"sdone": "done", "sway": "under_way", "sstuck": "stuck"}
"""Choice actions of the plan-step question and the plan answers they mean."""
REMIND_AFTER = timedelta(days=3)
LAPSE = timedelta(days=6)
"""A check-in still unanswered this long after it went out counts as missed."""
DEFAULT_DAYS = 14
LEARNED_FLOW = "checkin_learned"


class LearnedState(TypedDict):
    """`Conversation.data` of `checkin_learned`: the check-in 'what did you learn?' is for."""

    checkin_id: int


def at_work(now: datetime, officer: Officer) -> bool:
    """Whether it is a working day between 09:00 and 17:00 where the officer lives."""
    return working_slot(now, zone(officer)) == now.astimezone(UTC)


def period_length(programme: Programme | None) -> timedelta:
    days = programme.checkin_days if programme and programme.checkin_days else DEFAULT_DAYS
    return timedelta(days=max(1, days))


@job("checkins")
async def run_checkins(core: JobCtx, messengers: dict[str, Messenger]) -> int:
    """Create, send, remind and escalate what is due now; returns how many things it did."""
    now = core.clock.now()
    done = await create_due(core, now)
    done += await send_due(core, now)
    done += await remind_due(core, now)
    done += await flag_silent(core, now)
    return done


async def create_due(core: JobCtx, now: datetime) -> int:
    """One check-in row per pair whose time has come (missed periods folded into one)."""
    async with core.uow() as uow:
        due = [(p.id, p.next_checkin_at) for p in await uow.pairs.due_checkins(now)]
    created = 0
    for pair_id, seen in due:
        assert seen is not None
        async with core.uow() as uow:
            pair = await uow.pairs.get(pair_id)
            if pair is None:
                continue
            programme = await uow.programmes.get(pair.programme_id) if pair.programme_id else None
            step = period_length(programme)
            nominal, missed = seen, 0
            while nominal + step <= now:
                nominal, missed = nominal + step, missed + 1
            repo = uow.checkins
            period = await repo.last_period(pair_id) + 1 + missed
            if not await uow.pairs.advance_checkin(pair_id, seen, nominal + step):
                continue  # another process took this one
            created += await repo.create(pair_id, period, nominal)
            await uow.commit()
        if missed:
            log.info("pair %s: %d missed check-ins folded into period %d", pair_id, missed, period)
    return created


def checkin_key(pair: Pair, checkin: CheckIn, officer: Officer, suffix: str = "") -> str:
    """The outbox key of one officer's check-in (or reminder): queued once, ever."""
    return f"checkin:{pair.id}:{checkin.period}:{officer.id}{suffix}"


def _choices(content: Content, locale: str, checkin_id: int) -> list[Choice]:
    return [Choice(f"chk:{a}:{checkin_id}", content.t(locale, f"checkin.{a}")) for a in ANSWERS]


def _step_choices(content: Content, locale: str, checkin_id: int) -> list[Choice]:
    return [
        *(
            Choice(f"chk:{action}:{checkin_id}", content.t(locale, f"outcomes_plans.{answer}"))
            for action, answer in STEP_ANSWERS.items()
        ),
        Choice(f"chk:end:{checkin_id}", content.t(locale, "checkin.end")),
    ]


async def _people(uow: UnitOfWork, pair: Pair) -> list[Officer]:
    found = []
    for officer_id in (pair.learner_id, pair.mentor_id):
        officer = await uow.officers.get(officer_id) if officer_id else None
        if officer is not None and officer.status == OfficerStatus.ACTIVE:
            found.append(officer)
    return found


async def _content_of(core: JobCtx, uow: UnitOfWork, pair: Pair) -> Content:
    return await core.content.of_programme(uow, pair.programme_id)


async def send_due(core: JobCtx, now: datetime) -> int:
    """Queue due check-ins to each officer once their working hours have come."""
    queued = 0
    async with core.uow() as uow:
        ids = [c.id for c in await uow.checkins.unsent(now)]
    for checkin_id in ids:
        async with core.uow() as uow:
            repo = uow.checkins
            checkin = await repo.get(checkin_id)
            pair = await uow.pairs.get(checkin.pair_id) if checkin else None
            if checkin is None or checkin.sent_at is not None:
                continue
            if pair is None or pair.status != PairStatus.ACTIVE:
                checkin.sent_at = now  # the pair ended: nothing to ask any more
                await uow.commit()
                continue
            content = await _content_of(core, uow, pair)
            earlier = [c for c in await repo.recent(pair.id, 2) if c.period < checkin.period]
            catch_up = bool(earlier) and checkin.period - earlier[0].period > 1
            people = await _people(uow, pair)
            done = await repo.queued([checkin_key(pair, checkin, o) for o in people])
            waiting = False
            for officer in people:
                if checkin_key(pair, checkin, officer) in done:
                    continue
                if not at_work(now, officer):
                    waiting = True
                    continue
                if await pause_if_silent(uow, content, core.secret, pair, officer, checkin, False):
                    continue  # three earlier check-ins ignored: paused, told how to come back
                queued += await _ask(uow, core, content, pair, checkin, officer, catch_up)
            if not waiting:
                checkin.sent_at = now
            await uow.commit()
    return queued


async def _ask(
    uow: UnitOfWork,
    core: JobCtx,
    content: Content,
    pair: Pair,
    checkin: CheckIn,
    officer: Officer,
    catch_up: bool,
    reminder: bool = False,
) -> int:
    other_id = partner_of(pair, officer.id)
    other = await uow.officers.get(other_id) if other_id else None
    locale = content.t.resolve(officer.locale)
    key = "checkin.reminder" if reminder else ("checkin.catch_up" if catch_up else "checkin.ask")
    values = {
        "name": officer.name,
        "partner": who(other),
        "topic": topic_label(content, locale, pair.topic),
    }
    choices = _choices(content, locale, checkin.id)
    plan = await step_to_ask(uow, officer) if officer.id == pair.learner_id else None
    if plan is not None:
        key = "outcomes_plans.step_reminder" if reminder else "outcomes_plans.step_ask"
        values |= plan_steps.step_values(content, locale, plan)
        choices = _step_choices(content, locale, checkin.id)
    return int(
        await queue_to_officer(
            uow,
            content,
            core.secret,
            officer,
            key,
            idempotency_key=checkin_key(pair, checkin, officer, ":reminder" if reminder else ""),
            values=values,
            choices=choices,
            purpose="checkin",
            ref_id=checkin.id,
            priority=BULK,
        )
    )


async def remind_due(core: JobCtx, now: datetime) -> int:
    """One reminder per officer, 3 days after their check-in, when nobody answered."""
    queued = 0
    async with core.uow() as uow:
        ids = [c.id for c in await uow.checkins.awaiting_reminder(now - REMIND_AFTER)]
    for checkin_id in ids:
        async with core.uow() as uow:
            checkin = await uow.checkins.get(checkin_id)
            pair = await uow.pairs.get(checkin.pair_id) if checkin else None
            if checkin is None or checkin.answered_at is not None or checkin.reminded_at:
                continue
            if pair is None or pair.status != PairStatus.ACTIVE:
                checkin.reminded_at = now
                await uow.commit()
                continue
            content = await _content_of(core, uow, pair)
            people = await _people(uow, pair)
            keys = [checkin_key(pair, checkin, o, ":reminder") for o in people]
            done = await uow.checkins.queued(keys)
            waiting = False
            for officer in people:
                if checkin_key(pair, checkin, officer, ":reminder") in done:
                    continue
                if not at_work(now, officer):
                    waiting = True
                    continue
                if await pause_if_silent(uow, content, core.secret, pair, officer, checkin, True):
                    continue  # this one and the two before ignored: paused instead of reminded
                queued += await _ask(uow, core, content, pair, checkin, officer, False, True)
            if not waiting:
                checkin.reminded_at = now
            await uow.commit()
    return queued


async def flag_silent(core: JobCtx, now: datetime) -> int:
    """Flag pairs whose last two check-ins went unanswered; tell the coordinators once."""
    flagged = 0
    async with core.uow() as uow:
        lapsed = [(c.pair_id, c.period) for c in await uow.checkins.lapsed(now - LAPSE)]
    for pair_id, period in lapsed:
        async with core.uow() as uow:
            recent = list(await uow.checkins.recent(pair_id, 2))
            pair = await uow.pairs.get(pair_id)
            if pair is None or pair.flagged or len(recent) < 2 or recent[0].period != period:
                continue
            if any(c.answered_at is not None or c.sent_at is None for c in recent):
                continue
            pair.flagged = True
            content = await _content_of(core, uow, pair)
            learner = await uow.officers.get(pair.learner_id) if pair.learner_id else None
            mentor = await uow.officers.get(pair.mentor_id) if pair.mentor_id else None
            await notify_coordinators(
                uow,
                content,
                core.secret,
                pair.programme_id,
                "checkin.flagged",
                idempotency=f"pair:{pair.id}:flag:{period}",
                values={
                    "id": pair.id,
                    "learner": who(learner),
                    "mentor": who(mentor),
                    "topic": topic_label(content, "en", pair.topic),
                    "count": len(recent),
                },
                ref_id=pair.id,
            )
            await uow.commit()
            flagged += 1
    return flagged


# -- answers ---------------------------------------------------------------------------------


@router.choice("chk")
async def press_checkin(event: Incoming, ctx: Ctx) -> None:
    """An officer answers a check-in."""
    _, action, arg = ((event.choice or "") + "::").split(":", 2)
    arg = arg.rstrip(":")
    checkin = await ctx.uow.checkins.lock(int(arg)) if arg.isdigit() else None
    pair = await ctx.uow.pairs.get(checkin.pair_id) if checkin else None
    me = ctx.officer
    if (
        checkin is None
        or pair is None
        or me is None
        or me.id not in (pair.learner_id, pair.mentor_id)
    ):
        await ctx.reply("errors.expired_choice")
        return
    other_id = partner_of(pair, me.id)
    other = await ctx.uow.officers.get(other_id) if other_id else None
    partner = other.name if other else "—"
    if pair.status != PairStatus.ACTIVE:
        await ctx.reply("checkin.pair_ended", partner=partner)
        return
    if action == "end":
        await ctx.reply(
            "checkin.end_sure",
            partner=partner,
            choices=[
                Choice(f"chk:endyes:{checkin.id}", ctx.t("checkin.end_yes")),
                Choice(f"chk:endno:{checkin.id}", ctx.t("checkin.end_no")),
            ],
        )
        return
    if action == "endno":
        await ctx.reply("checkin.end_kept", partner=partner)
        return
    if action == "endyes":
        record(checkin, pair, me, "end", ctx.clock.now())
        await leave_pair(ctx, pair, me, other, END)
        return
    if action in STEP_ANSWERS:
        answer = STEP_ANSWERS[action]
        code = "stuck" if answer == "stuck" else f"step_{answer}"
        record(checkin, pair, me, code, ctx.clock.now())
        if answer == "stuck":
            await tell_stuck(ctx, pair, checkin, me, other)
        await plan_steps.after_answer(ctx, answer)
        return
    if action not in ANSWERS:
        await ctx.reply("errors.expired_choice")
        return
    record(checkin, pair, me, action, ctx.clock.now())
    if action == "met":
        learned: LearnedState = {"checkin_id": checkin.id}
        await ctx.set_state(LEARNED_FLOW, "text", learned)
        await ctx.reply("checkin.what_learned", partner=partner)
    elif action == "planned":
        await ctx.reply("checkin.thanks_planned", partner=partner)
    elif action == "stuck":
        await tell_stuck(ctx, pair, checkin, me, other)
        await ctx.reply("checkin.stuck_noted")


def record(checkin: CheckIn, pair: Pair, officer: Officer, answer: str, now: datetime) -> None:
    """Store an officer's answer; the check-in counts as answered, a silent flag is lifted."""
    answers: dict[str, Any] = dict(checkin.answers or {})
    mine = dict(answers.get(str(officer.id), {}))
    mine.update(answer=answer, at=now.isoformat())
    answers[str(officer.id)] = mine
    checkin.answers = answers
    checkin.answer = answer
    checkin.answered_at = checkin.answered_at or now
    if answer != "stuck":
        pair.flagged = False


async def tell_stuck(
    ctx: Ctx, pair: Pair, checkin: CheckIn, me: Officer, other: Officer | None
) -> None:
    """'Stuck, need help': the coordinators get the pair's context at once."""
    learner = me if pair.learner_id == me.id else other
    mentor = other if pair.learner_id == me.id else me
    since = pair.activated_at or pair.created_at
    await notify_coordinators(
        ctx.uow,
        ctx.content,
        ctx.secret,
        pair.programme_id,
        "checkin.stuck_coordinators",
        idempotency=f"checkin:{pair.id}:{checkin.period}:stuck:{me.id}",
        values={
            "id": pair.id,
            "who": who(me),
            "learner": who(learner),
            "mentor": who(mentor),
            "topic": topic_label(ctx.content, "en", pair.topic),
            "days": (ctx.clock.now() - since).days,
            "period": checkin.period,
            "history": await history_line(ctx.uow, pair),
        },
        ref_id=pair.id,
    )


async def history_line(uow: UnitOfWork, pair: Pair) -> str:
    """The pair's last answers, newest first: 'period 3: stuck; period 2: met'."""
    rows = await uow.checkins.recent(pair.id, 4)
    parts = [f"{c.period}: {c.answer or '—'}" for c in rows]
    return "; ".join(parts) or "—"


@router.flow(LEARNED_FLOW)
async def take_learned(event: Incoming, ctx: Ctx) -> None:
    """The free-text answer to 'what did you learn?'."""
    state = await ctx.state()
    await ctx.clear_state()
    checkin_id = int(cast(LearnedState, state.data)["checkin_id"]) if state else None
    checkin = await ctx.uow.checkins.lock(checkin_id) if checkin_id is not None else None
    text = event.text.strip()
    skipped = means(ctx.content.t, "skip", text)
    if checkin is None or ctx.officer is None or not text or skipped:
        await ctx.reply("checkin.thanks_met")
        return
    answers = dict(checkin.answers or {})
    mine = dict(answers.get(str(ctx.officer.id), {}))
    mine["learned"] = text[:2000]
    answers[str(ctx.officer.id)] = mine
    checkin.answers = answers
    line = f"{ctx.officer.name}: {text[:2000]}"
    checkin.outcome = f"{checkin.outcome}\n{line}" if checkin.outcome else line
    await ctx.reply("checkin.thanks_learned")


# -- privacy ---------------------------------------------------------------------------------


async def officer_answers(uow: UnitOfWork, officer_id: int) -> list[dict[str, Any]]:
    """An officer's own check-in answers, for `/export` (GDPR Art. 15 and 20)."""
    found = []
    for checkin in await uow.checkins.of_officer(officer_id):
        mine = (checkin.answers or {}).get(str(officer_id))
        if mine:
            found.append({"pair_id": checkin.pair_id, "period": checkin.period, **mine})
    return found


async def erase_officer_answers(uow: UnitOfWork, officer: Officer) -> int:
    """Remove what an officer wrote at check-ins (for `/forget`); returns check-ins touched.

    Their answer codes stay anonymous in the pair's history; their words and name go.
    """
    touched = 0
    prefix = f"{officer.name}: "
    for checkin in await uow.checkins.of_officer(officer.id):
        answers = dict(checkin.answers or {})
        mine = answers.pop(str(officer.id), None)
        lines = (checkin.outcome or "").split("\n")
        kept = [line for line in lines if line and not line.startswith(prefix)]
        if mine is None and len(kept) == len([x for x in lines if x]):
            continue
        checkin.answers = answers
        checkin.outcome = "\n".join(kept) or None
        touched += 1
    await uow.flush()
    return touched
