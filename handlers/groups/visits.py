"""Study visits: a member asks (who, where, dates, purpose), coordinators decide, the group is
told.

`/visit` opens a short flow kept in the conversation state (it survives restarts): who would
travel, where to, when, and why; then a summary to send or cancel. The request goes to the
coordinators of the group's programme with Approve / Decline; declining asks for the reason.
Every member of the group then hears the decision (with the reason when declined). The CLI
(`peerbot groups visits`, `peerbot groups visit-decide`) calls the same `decide_visit`, whose
authorization (a coordinator of that programme, or the operator) is checked once, here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, TypedDict, cast

from handlers.core.content import Content
from handlers.core.context import Ctx
from handlers.core.events import Incoming
from handlers.core.replies import Choice
from handlers.core.router import router
from handlers.core.taxonomy import fold
from handlers.delivery.outbox import officer_locale, preferred_identity, queue_to_officer
from handlers.groups.meetings import active_members, coordinates, role_in, tell_which, which_group
from handlers.groups.service import Refused
from storage.models import Officer, PeerGroup, StudyVisit
from storage.repositories.group_life import LIVE
from storage.uow import UnitOfWork

FLOW, DECLINE_FLOW = "study_visit", "study_visit_decline"
VisitStep = Literal["visitors", "place", "dates", "purpose"]
STEPS: tuple[VisitStep, ...] = ("visitors", "place", "dates", "purpose")


class VisitState(TypedDict, total=False):
    """`Conversation.data` of `study_visit`: the group, then each step's answer (`STEPS`)."""

    group: int
    visitors: str
    place: str
    dates: str
    purpose: str


class DeclineState(TypedDict):
    """`Conversation.data` of `study_visit_decline`: the visit a coordinator declines."""

    visit: int


LIMITS = {"visitors": 300, "place": 200, "dates": 100, "purpose": 2000, "reason": 1000}
CANCEL_WORDS = {"cancel", "annuler", "abbrechen", "cancelar", "annulla", "stop", "/cancel"}


def check_field(step: str, text: str) -> str | None:
    """The cleaned answer of a step, or None when it is empty or too long."""
    text = " ".join(text.split()) if step != "purpose" else text.strip()
    return text if 2 <= len(text) <= LIMITS[step] else None


async def request_visit(
    uow: UnitOfWork,
    content: Content,
    secret: bytes,
    group: PeerGroup,
    officer: Officer,
    fields: dict[str, str],
    now: datetime,
) -> StudyVisit:
    """Store a member's request and put it to the programme's coordinators."""
    if await role_in(uow, group, officer) not in ("mentor", "learner"):
        raise Refused("only members of the group ask for its study visits")
    if group.status not in LIVE:
        raise Refused(f"group #{group.id} is not running")
    clean = {step: check_field(step, str(fields.get(step, ""))) for step in STEPS}
    missing = [step for step, value in clean.items() if value is None]
    if missing:
        raise Refused(f"missing or too long: {', '.join(missing)}")
    visit = await uow.group_life.add_visit(
        StudyVisit(
            group_id=group.id,
            officer_id=officer.id,
            status="requested",
            created_at=now,
            **{k: str(v) for k, v in clean.items()},
        )
    )
    cycle = await uow.cycles.get(group.cycle_id)
    programme_id = cycle.programme_id if cycle else None
    coordinators = list(await uow.officers.coordinators(programme_id))
    for coordinator in coordinators:
        locale = officer_locale(coordinator, content, preferred_identity(coordinator))
        await queue_to_officer(
            uow,
            content,
            secret,
            coordinator,
            "groups.life.visit_request",
            idempotency_key=f"gvisit:{visit.id}:ask:{coordinator.id}",
            values=_values(content, locale, group, visit, officer),
            choices=[
                Choice(f"gsv:ok:{visit.id}", content.t(locale, "groups.life.visit_approve")),
                Choice(f"gsv:no:{visit.id}", content.t(locale, "groups.life.visit_decline")),
            ],
            purpose="study_visit",
            ref_id=visit.id,
        )
    return visit


def _values(
    content: Content, locale: str, group: PeerGroup, visit: StudyVisit, who: Officer | None
) -> dict[str, Any]:
    authority = who.authority.name if who and who.authority else "—"
    return {
        "id": group.id,
        "scheme": content.taxonomy.label("instruments", group.scheme, locale),
        "who": f"{who.name} ({authority})" if who else "—",
        "visitors": visit.visitors,
        "place": visit.place,
        "dates": visit.dates,
        "purpose": visit.purpose,
        "reason": visit.reason or "",
    }


async def decide_visit(
    uow: UnitOfWork,
    content: Content,
    secret: bytes,
    visit_id: int,
    actor: Officer | None,
    approve: bool,
    reason: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Approve or decline a request (a reason is required to decline); the group is told."""
    visit = await uow.group_life.get_visit(visit_id)
    group = await uow.groups.get(visit.group_id) if visit else None
    if visit is None or group is None:
        raise Refused(f"no study visit request #{visit_id}")
    if actor is not None and not await coordinates(uow, group, actor):
        raise Refused("only the programme's coordinators decide study visits")
    reason = " ".join((reason or "").split())[: LIMITS["reason"]] or None
    if not approve and reason is None:
        raise Refused("say why the visit is declined")
    status = "approved" if approve else "declined"
    if not await uow.group_life.decide_visit(
        visit.id, status, actor.id if actor else None, reason, now
    ):
        raise Refused(f"study visit #{visit.id} was already {visit.status}")
    visit.status, visit.reason = status, reason
    asker = await uow.officers.get(visit.officer_id) if visit.officer_id else None
    for _, member in await active_members(uow, group.id):
        locale = officer_locale(member, content, preferred_identity(member))
        await queue_to_officer(
            uow,
            content,
            secret,
            member,
            f"groups.life.visit_{status}",
            idempotency_key=f"gvisit:{visit.id}:{status}:{member.id}",
            values=_values(content, locale, group, visit, asker),
            purpose="study_visit",
            ref_id=visit.id,
        )
    return visit_json(visit)


def visit_json(visit: StudyVisit) -> dict[str, Any]:
    return {
        "id": visit.id,
        "group": visit.group_id,
        "visitors": visit.visitors,
        "place": visit.place,
        "dates": visit.dates,
        "purpose": visit.purpose,
        "status": visit.status,
        "reason": visit.reason,
        "created_at": visit.created_at.isoformat(),
        "decided_at": visit.decided_at.isoformat() if visit.decided_at else None,
    }


async def list_visits(uow: UnitOfWork, group_id: int | None = None) -> list[dict[str, Any]]:
    return [visit_json(v) for v in await uow.group_life.visits(group_id)]


# -- chat ---------------------------------------------------------------------------------


@router.command("visit", member=True)
async def start_visit(event: Incoming, ctx: Ctx) -> None:
    """Ask for a study visit for one's group."""
    group, _ = await which_group(ctx, event.args)
    if group is None or group.status not in LIVE:
        await tell_which(ctx, "/visit")
        return
    if await role_in(ctx.uow, group, ctx.officer) not in ("mentor", "learner"):
        await ctx.reply("groups.life.not_allowed")
        return
    asking: VisitState = {"group": group.id}
    await ctx.set_state(FLOW, STEPS[0], asking)
    await ctx.reply("groups.life.visit_intro")
    await ctx.reply(f"groups.life.visit_ask_{STEPS[0]}")


@router.flow(FLOW)
async def type_visit(event: Incoming, ctx: Ctx) -> None:
    """An answer inside the study visit request."""
    state = await ctx.state()
    if state is None or ctx.officer is None:
        return
    if fold(event.text.strip()) in CANCEL_WORDS:
        await ctx.clear_state()
        await ctx.reply("groups.life.visit_cancelled")
        return
    data, step = cast(VisitState, dict(state.data)), state.step
    if step not in STEPS:
        await _summary(ctx, data)
        return
    answer = check_field(step, event.text)
    if answer is None:
        await ctx.reply("groups.life.visit_too_long", max=LIMITS[step])
        return
    data[cast(VisitStep, step)] = answer
    following = STEPS.index(step) + 1
    if following < len(STEPS):
        await ctx.set_state(FLOW, STEPS[following], data)
        await ctx.reply(f"groups.life.visit_ask_{STEPS[following]}")
        return
    await ctx.set_state(FLOW, "confirm", data)
    await _summary(ctx, data)


async def _summary(ctx: Ctx, data: VisitState) -> None:
    answers: dict[str, Any] = {step: data.get(step, "—") for step in STEPS}
    await ctx.reply(
        "groups.life.visit_summary",
        choices=[
            Choice("gsv:send", ctx.t("groups.life.visit_send")),
            Choice("gsv:cancel", ctx.t("groups.life.visit_cancel")),
        ],
        **answers,
    )


@router.choice("gsv")
async def press_visit(event: Incoming, ctx: Ctx) -> None:
    """Send or cancel one's request; a coordinator approves or declines one."""
    _, action, arg = ((event.choice or "") + "::").split(":", 2)
    arg = arg.rstrip(":")
    if action in ("send", "cancel"):
        await _send_or_cancel(ctx, action)
        return
    if ctx.officer is None or not arg.isdigit() or action not in ("ok", "no"):
        await ctx.reply("errors.expired_choice")
        return
    visit = await ctx.uow.group_life.get_visit(int(arg))
    group = await ctx.uow.groups.get(visit.group_id) if visit else None
    if visit is None or group is None or not await coordinates(ctx.uow, group, ctx.officer):
        await ctx.reply("groups.life.not_allowed")
        return
    if visit.status != "requested":
        await ctx.reply(
            "groups.life.visit_already", status=ctx.t(f"groups.life.status_{visit.status}")
        )
        return
    if action == "no":
        declining: DeclineState = {"visit": visit.id}
        await ctx.set_state(DECLINE_FLOW, "reason", declining)
        await ctx.reply("groups.life.visit_why_decline", place=visit.place)
        return
    await decide_visit(
        ctx.uow, ctx.content, ctx.secret, visit.id, ctx.officer, True, None, ctx.clock.now()
    )
    await ctx.reply("groups.life.visit_decided_approved", id=group.id, place=visit.place)


async def _send_or_cancel(ctx: Ctx, action: str) -> None:
    state = await ctx.state()
    if state is None or state.flow != FLOW or state.step != "confirm" or ctx.officer is None:
        await ctx.reply("errors.expired_choice")
        return
    await ctx.clear_state()
    if action == "cancel":
        await ctx.reply("groups.life.visit_cancelled")
        return
    data = cast(VisitState, state.data)
    group = await ctx.uow.groups.get(int(data.get("group", 0)))
    if group is None:
        await ctx.reply("groups.life.no_group")
        return
    try:
        await request_visit(
            ctx.uow,
            ctx.content,
            ctx.secret,
            group,
            ctx.officer,
            {s: str(data.get(s, "")) for s in STEPS},
            ctx.clock.now(),
        )
    except Refused:
        await ctx.reply("groups.life.not_allowed")
        return
    await ctx.reply("groups.life.visit_sent")


@router.flow(DECLINE_FLOW)
async def type_decline_reason(event: Incoming, ctx: Ctx) -> None:
    """The coordinator's reason for declining a study visit."""
    state = await ctx.state()
    await ctx.clear_state()
    visit_id = int(cast(DeclineState, state.data).get("visit", 0)) if state else 0
    if fold(event.text.strip()) in CANCEL_WORDS:
        await ctx.reply("groups.life.visit_undecided")
        return
    try:
        await decide_visit(
            ctx.uow,
            ctx.content,
            ctx.secret,
            visit_id,
            ctx.officer,
            False,
            event.text,
            ctx.clock.now(),
        )
    except Refused:
        await ctx.reply("groups.life.not_allowed")
        return
    await ctx.reply("groups.life.visit_decided_declined")
