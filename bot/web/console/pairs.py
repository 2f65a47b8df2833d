"""Pairs page: pairs grouped by state, each with its check-in history; close one with a
reason."""

from __future__ import annotations

from aiohttp import web

from bot.web.console.base import Page, posted, render, see_other
from handlers.pairing import service
from handlers.pairing.view import STATES


def _id(page: Page) -> int:
    raw = page.request.match_info.get("pid", "")
    if not raw.isdigit():
        raise web.HTTPNotFound()
    return int(raw)


async def show(page: Page) -> web.StreamResponse:
    """Pairs by state (proposals are on the matching page)."""
    async with page.uow() as uow:
        rows = await service.pairs(uow, page.who, page.programme_id, page.now())
    groups = [(s, [r for r in rows if r["state"] == s]) for s in STATES if s != "proposed"]
    return render(page, "pairs.html", groups=[(s, g) for s, g in groups if g])


async def one(page: Page, status: int = 200, error: str | None = None) -> web.Response:
    """One pair with every check-in and the close form while it is live."""
    pid = _id(page)
    async with page.uow() as uow:
        history = await service.pair_history(uow, page.who, page.programme_id, pid)
        rows = await service.pairs(uow, page.who, page.programme_id, page.now())
    pair = next((r for r in rows if r["id"] == pid), None)
    if pair is None:
        raise web.HTTPNotFound()
    return render(
        page,
        "pair.html",
        status,
        pair=pair,
        history=history,
        reasons=service.CLOSE_REASONS,
        errors={"reason": error} if error else {},
        done=page.request.query.get("done", ""),
    )


async def close(page: Page) -> web.StreamResponse:
    """Close a live pair with the chosen reason."""
    form = await posted(page)
    pid = _id(page)
    reason = str(form.get("reason") or "")
    async with page.uow() as uow:
        try:
            closed = await service.close_pair(
                uow, page.who, page.programme_id, pid, reason, page.now()
            )
        except ValueError:
            return await one(page, 400, page.t("close_error"))
    raise see_other(page, f"pairs/{pid}?done={'closed' if closed else 'not_live'}")
