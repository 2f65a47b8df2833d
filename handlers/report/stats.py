"""Coordinator views of the programme: figures at a glance."""

from __future__ import annotations

from handlers.core.context import Ctx
from handlers.core.events import Incoming
from handlers.core.router import router


@router.command("stats", coordinator=True)
async def stats(event: Incoming, ctx: Ctx) -> None:
    """Officers, pairs, questions and outbox figures."""
    glance = await ctx.uow.stats.glance(set(ctx.coordinates))
    await ctx.reply(
        "stats.summary",
        officers=glance.officers,
        pairs=", ".join(f"{k} {v}" for k, v in sorted(glance.pairs.items())) or "0",
        questions=glance.questions,
        unknown=glance.unknown,
        pending=glance.pending,
    )
