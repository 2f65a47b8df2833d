"""Pairs page: pairs grouped by state, each with its check-in history; nudge both officers,
reassign the learner to another mentor, or close a pair with a reason."""

from __future__ import annotations

from aiohttp import web

from bot.web.console.base import Page, posted, render, see_other
from bot.web.console.matching import worded_options
from handlers.pairing import service
from handlers.pairing.checkins import ANSWERS
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
    return render(page, "pairs.html", groups=[(s, g) for s, g in groups if g], answers=ANSWERS)


async def one(
    page: Page, status: int = 200, error: str | None = None, field: str = "reason"
) -> web.Response:
    """One pair with every check-in; while it runs: nudge, reassign and close."""
    pid = _id(page)
    async with page.uow() as uow:
        history = await service.pair_history(uow, page.who, page.programme_id, pid)
        rows = await service.pairs(uow, page.who, page.programme_id, page.now())
        pair = next((r for r in rows if r["id"] == pid), None)
        if pair is None:
            raise web.HTTPNotFound()
        live = pair["status"] in ("approved", "introduced", "active")
        options = (
            await service.mentor_choices(uow, page.who, page.programme_id, pid, page.now())
            if live
            else []
        )
    return render(
        page,
        "pair.html",
        status,
        pair=pair,
        history=history,
        reasons=service.CLOSE_REASONS,
        shown_reasons=(*service.CLOSE_REASONS, service.REASSIGNED),
        answers=ANSWERS,
        nudgeable=pair["status"] in ("introduced", "active"),
        options=worded_options(page, options),
        errors={field: error} if error else {},
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


async def nudge(page: Page) -> web.StreamResponse:
    """Remind both officers, in their languages, through the bot (once a day per pair)."""
    await posted(page)
    pid = _id(page)
    async with page.uow() as uow:
        try:
            queued = await service.nudge_pair(
                uow,
                page.content,
                page.runtime.core.secret,
                page.who,
                page.programme_id,
                pid,
                page.now(),
            )
        except service.NotEligible:
            raise see_other(page, f"pairs/{pid}?done=not_live") from None
    raise see_other(page, f"pairs/{pid}?done={'nudged' if queued else 'not_nudged'}")


async def reassign(page: Page) -> web.StreamResponse:
    """End the pair and pair its learner with the chosen mentor (approved at once)."""
    form = await posted(page)
    pid = _id(page)
    raw = str(form.get("mentor") or "")
    if not raw.isdigit() or len(raw) > 12:
        return await one(page, 400, page.t("swap_error_choose"), "mentor")
    async with page.uow() as uow:
        try:
            new = await service.reassign_pair(
                uow,
                page.content,
                page.runtime.core.secret,
                page.who,
                page.programme_id,
                pid,
                int(raw),
                page.now(),
            )
        except service.NotEligible:
            return await one(page, 400, page.t("swap_error_not_eligible"), "mentor")
    raise see_other(page, f"pairs/{new}?done=reassigned")
