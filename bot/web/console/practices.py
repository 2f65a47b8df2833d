"""Good practices page: the programme's practices waiting for review; edit one with the chat
flow's rules (`handlers.practices.rules`), approve or reject (the author is told in their
chat)."""

from __future__ import annotations

from typing import Any

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


def _gid(page: Page) -> int:
    raw = page.request.match_info.get("gid", "")
    if not raw.isdigit():
        raise web.HTTPNotFound()
    return int(raw)


async def _edit_page(
    page: Page, form: service.PracticeForm, status: int = 200, **values: Any
) -> web.Response:
    tax = page.content.taxonomy
    return render(
        page,
        "practice_edit.html",
        status,
        g=form,
        sectors=[(c, tax.label("sectors", c, page.locale)) for c in tax.codes("sectors")],
        instruments=[
            (c, tax.label("instruments", c, page.locale)) for c in tax.codes("instruments")
        ],
        lengths=service.LENGTHS,
        **values,
    )


async def edit(page: Page) -> web.StreamResponse:
    """The edit form of a pending practice."""
    async with page.uow() as uow:
        found = await service.practice_form(uow, page.who, page.programme_id, _gid(page))
    return await _edit_page(page, found)


async def save(page: Page) -> web.StreamResponse:
    """Store the corrected practice; every refused field comes back with its reason."""
    form = await posted(page)
    gid = _gid(page)
    async with page.uow() as uow:
        current = await service.practice_form(uow, page.who, page.programme_id, gid)
    typed = service.PracticeForm(
        id=gid,
        title=str(form.get("title") or ""),
        sector=str(form.get("sector") or ""),
        instruments=tuple(str(v) for v in form.getall("instruments", [])),
        amount=str(form.get("amount") or ""),
        funding=str(form.get("funding") or ""),
        results=str(form.get("results") or ""),
        savings_mwh=str(form.get("savings_mwh") or ""),
        renewable_mwh=str(form.get("renewable_mwh") or ""),
        co2_t=str(form.get("co2_t") or ""),
        year=str(form.get("year") or ""),
        lessons=str(form.get("lessons") or ""),
        contact=str(form.get("contact") or ""),
        author=current.author,
        authority=current.authority,
    )
    async with page.uow() as uow:
        try:
            await service.edit_practice(
                uow, page.who, page.programme_id, typed, page.content.taxonomy, page.now()
            )
        except service.PracticeProblem as exc:
            errors = {
                k: page.content.t(page.locale, key, **values)
                for k, (key, values) in exc.fields.items()
            }
            return await _edit_page(page, typed, 400, errors=errors)
    raise see_other(page, "practices?done=edited")
