"""Coordinator views of the programme: figures at a glance."""

from __future__ import annotations

from sqlalchemy import func, select

from handlers.core.context import Ctx
from handlers.core.events import Incoming
from handlers.core.router import router
from storage.models import FaqQuery, Officer, OfficerStatus, Outbox, Pair


@router.command("stats", coordinator=True)
async def stats(event: Incoming, ctx: Ctx) -> None:
    """Officers, pairs, questions and outbox figures."""
    session = ctx.uow.session

    async def count(stmt: object) -> int:
        return int((await session.execute(stmt)).scalar_one())  # type: ignore[call-overload]

    mine = ctx.uow.officers.in_programmes(set(ctx.coordinates))
    members = select(Officer.id).where(mine)
    officers = await count(
        select(func.count())
        .select_from(Officer)
        .where(Officer.status == OfficerStatus.ACTIVE, mine)
    )
    by_status = select(Pair.status, func.count()).where(Pair.learner_id.in_(members))
    pairs = dict(
        (str(getattr(s, "value", s)), n)
        for s, n in (await session.execute(by_status.group_by(Pair.status)))
    )
    questions = await count(
        select(func.count()).select_from(FaqQuery).where(FaqQuery.officer_id.in_(members))
    )
    unknown = await count(
        select(func.count())
        .select_from(FaqQuery)
        .where(FaqQuery.outcome == "unknown", FaqQuery.officer_id.in_(members))
    )
    pending = await count(
        select(func.count()).select_from(Outbox).where(Outbox.status.in_(["pending", "sending"]))
    )
    await ctx.reply(
        "stats.summary",
        officers=officers,
        pairs=", ".join(f"{k} {v}" for k, v in sorted(pairs.items())) or "0",
        questions=questions,
        unknown=unknown,
        pending=pending,
    )
