"""Cross-cutting rules applied around every handler: roles and membership."""

from __future__ import annotations

from handlers.core.context import Ctx
from handlers.core.engine import QUESTIONS_WINDOW
from handlers.core.events import Incoming
from handlers.core.router import Next, Route, router
from storage.models import OfficerStatus


@router.use
async def require_role(event: Incoming, ctx: Ctx, route: Route, call_next: Next) -> None:
    """Coordinator routes check the stored role on every call; member routes need a profile."""
    if route.coordinator and not ctx.is_coordinator:
        await ctx.reply("errors.coordinators_only")
        return
    if route.member and (ctx.officer is None or ctx.officer.status != OfficerStatus.ACTIVE):
        await ctx.reply("errors.join_first")
        return
    await call_next()


QUESTION_ROUTES = {"text", "ask"}
QUESTIONS_PER_WINDOW = 20
WINDOW = QUESTIONS_WINDOW


@router.use
async def limit_questions(event: Incoming, ctx: Ctx, route: Route, call_next: Next) -> None:
    """At most 20 questions per 10 minutes per account, counted in the store (all processes)."""
    if route.name in QUESTION_ROUTES and not ctx.is_coordinator:
        asked = ctx.recent_questions  # read with the caller by the core
        if asked is None:
            asked = await ctx.uow.identities.questions_asked(
                ctx.identity.id, ctx.clock.now() - WINDOW
            )
        if asked >= QUESTIONS_PER_WINDOW:
            await ctx.reply("errors.slow_down")
            return
    await call_next()
