"""Good practices page: the programme's practices waiting for review; approve or reject
(the author is told in their chat)."""

from __future__ import annotations

from aiohttp import web

from bot.web.console.base import Page, posted, render, see_other
from handlers.practices import service


async def show(page: Page) -> web.StreamResponse:
    """Pending practices of the programme's officers."""
    async with page.uow() as uow:
        rows = await service.pending(uow, page.who, page.programme_id)
    return render(page, "practices.html", practices=rows, done=page.request.query.get("done", ""))


async def decide(page: Page) -> web.StreamResponse:
    """Approve or reject one practice."""
    form = await posted(page)
    raw = page.request.match_info.get("gid", "")
    action = str(form.get("action") or "")
    if not raw.isdigit() or action not in ("approve", "reject"):
        raise web.HTTPBadRequest(text="bad request")
    async with page.uow() as uow:
        await service.review_practice(
            uow,
            page.content,
            page.runtime.core.secret,
            page.who,
            page.programme_id,
            int(raw),
            action == "approve",
            page.now(),
        )
    raise see_other(page, f"practices?done={'approved' if action == 'approve' else 'rejected'}")
