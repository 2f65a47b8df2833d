"""An officer leaves a pair: declined at the introduction, or ended while it runs.

Both are one procedure: the pair moves (only from the states it may leave), the partner and
the coordinators are told, the officer gets an answer; what differs is data (`Leaving`).
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.core.context import Ctx
from handlers.pairing.view import notify_coordinators, topic_label, who
from storage.models import Officer, Pair, PairStatus


@dataclass(frozen=True)
class Leaving:
    """How a pair is left at one stage: its states, its words, what else follows."""

    verb: str
    """`declined` or `ended`: the close reason (`<verb>_by_<side>`) and idempotency keys."""
    leaves: tuple[PairStatus, ...]
    becomes: PairStatus
    partner_key: str
    """The partner's message; `{other_side}` is the partner's own side (learner, mentor)."""
    coordinators_key: str
    done_key: str
    too_late_key: str
    stop_checkins: bool = False
    learner_asks_again: bool = False
    """When the mentor leaves, the learner's request goes back to the next round."""


DECLINE = Leaving(
    verb="declined",
    leaves=(PairStatus.INTRODUCED,),
    becomes=PairStatus.DECLINED,
    partner_key="intro.partner_declined_{other_side}",
    coordinators_key="intro.declined_coordinators",
    done_key="intro.declined",
    too_late_key="intro.too_late",
    learner_asks_again=True,
)

END = Leaving(
    verb="ended",
    leaves=(PairStatus.ACTIVE,),
    becomes=PairStatus.CLOSED,
    partner_key="checkin.partner_ended",
    coordinators_key="checkin.ended_coordinators",
    done_key="checkin.ended",
    too_late_key="checkin.pair_ended",
    stop_checkins=True,
)


async def leave_pair(
    ctx: Ctx, pair: Pair, me: Officer, other: Officer | None, how: Leaving
) -> None:
    """Move the pair out of its stage for `me`; tell the partner, the coordinators and them."""
    now = ctx.clock.now()
    side = "learner" if pair.learner_id == me.id else "mentor"
    other_side = "mentor" if side == "learner" else "learner"
    partner = other.name if other else "—"
    extra = {"next_checkin_at": None} if how.stop_checkins else {}
    moved = await ctx.uow.pairs.move(
        pair.id,
        list(how.leaves),
        how.becomes,
        closed_at=now,
        close_reason=f"{how.verb}_by_{side}",
        updated_at=now,
        **extra,
    )
    if not moved:
        await ctx.reply(how.too_late_key, partner=partner)
        return
    topic = topic_label(ctx.content, ctx.locale, pair.topic)
    if how.learner_asks_again and side == "mentor" and pair.learner_id is not None:
        await ctx.uow.matches.request(pair.learner_id, pair.topic, now)
    if other is not None:
        await ctx.notify(
            other,
            how.partner_key.format(other_side=other_side),
            idempotency_key=f"pair:{pair.id}:{how.verb}:{other.id}",
            values={"partner": me.name, "topic": topic},
            purpose="pair",
            ref_id=pair.id,
        )
    learner, mentor = (me, other) if side == "learner" else (other, me)
    await notify_coordinators(
        ctx.uow,
        ctx.content,
        ctx.secret,
        pair.programme_id,
        how.coordinators_key,
        idempotency=f"pair:{pair.id}:{how.verb}",
        values={
            "id": pair.id,
            "who": who(me),
            "partner": who(other),
            "side": ctx.content.t("en", f"intro.side_{side}"),
            "learner": who(learner),
            "mentor": who(mentor),
            "topic": topic,
        },
        ref_id=pair.id,
    )
    await ctx.reply(how.done_key, partner=partner)
