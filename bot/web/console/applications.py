"""Applications page: the expressions of interest sent through the public `/apply` form, new
ones first; a coordinator accepts one (its authority gets an invite, as with `peerbot
applications accept`, and the page shows the link to send) or declines it with a reason."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.web.console.base import Page, posted, render, see_other
from handlers.audit.service import NotAllowed
from handlers.outcomes import coordination
from handlers.outcomes.service import Invalid

STATUSES = ("pending", "accepted", "declined")


async def _page(page: Page, status: int = 200, **values: Any) -> web.Response:
    async with page.uow() as uow:
        rows = await coordination.applications(uow, page.who, page.programme_id)
    by_status = {s: [r for r in rows if r.status == s] for s in STATUSES}
    return render(page, "applications.html", status, by_status=by_status, **values)


async def show(page: Page) -> web.StreamResponse:
    """New, accepted and declined requests."""
    return await _page(page)


def _application_id(page: Page) -> int:
    raw = page.request.match_info.get("aid", "")
    if not raw.isdigit():
        raise NotAllowed("application")
    return int(raw)


def _refusal(page: Page, exc: Invalid) -> str:
    return page.content.t(page.locale, f"outcomes.errors.{exc.key}", **exc.values)


async def accept(page: Page) -> web.StreamResponse:
    """Accept a request and show its invite link once, to copy into the reply."""
    await posted(page)
    application_id = _application_id(page)
    async with page.uow() as uow:
        try:
            done = await coordination.accept(
                uow,
                page.who,
                page.programme_id,
                application_id,
                page.viewer.officer.name,
                page.now(),
            )
        except Invalid as exc:
            return await _page(page, 409, refused=_refusal(page, exc))
        await uow.commit()
    links = coordination.invite_links(done.code, page.runtime.settings.telegram_bot_username)
    return await _page(page, accepted=done, links=links)


async def decline(page: Page) -> web.StreamResponse:
    """Decline a request with a reason (the reason is required)."""
    form = await posted(page)
    application_id = _application_id(page)
    reason = str(form.get("reason") or "")
    async with page.uow() as uow:
        try:
            await coordination.decline(
                uow, page.who, page.programme_id, application_id, reason, page.now()
            )
        except Invalid as exc:
            if exc.key != "bad_reason":
                return await _page(page, 409, refused=_refusal(page, exc))
            return await _page(
                page,
                400,
                errors={f"reason-{application_id}": _refusal(page, exc)},
                typed_reason={application_id: reason},
            )
        await uow.commit()
    raise see_other(page, "applications?done=declined")
