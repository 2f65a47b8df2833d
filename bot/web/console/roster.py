"""Roster page: the programme's officers and invites, and a CSV import previewed before it is
applied (the same checks and writer as `peerbot officers import`)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.web.console.base import Page, posted, render
from handlers.officers import service
from handlers.officers.roster import RosterPreview

MAX_UPLOAD = 5 * 1024 * 1024


async def _page(page: Page, status: int = 200, **values: Any) -> web.Response:
    async with page.uow() as uow:
        officers = await service.roster(uow, page.who, page.programme_id)
        invites = await service.invites(uow, page.who, page.programme_id, page.now())
    return render(page, "roster.html", status, officers=officers, invites=invites, **values)


async def show(page: Page) -> web.StreamResponse:
    """The roster, its invites and the upload form."""
    return await _page(page)


async def _preview(page: Page, text: str) -> RosterPreview:
    async with page.uow() as uow:
        programme = await uow.programmes.by_slug(page.slug)
        assert programme is not None
        return await service.preview_roster(uow, page.who, programme, text, page.content.taxonomy)


async def preview(page: Page) -> web.StreamResponse:
    """Check an uploaded CSV and show what applying it would do; nothing is written."""
    form = await posted(page)
    upload = form.get("roster")
    data: bytes = b""
    if isinstance(upload, web.FileField):
        data = upload.file.read(MAX_UPLOAD + 1)
    elif isinstance(upload, str):
        data = upload.encode()
    if not data.strip():
        data = str(form.get("csv") or "").encode()
    if not data.strip():
        return await _page(page, 400, errors={"roster": page.t("roster_error_empty")})
    if len(data) > MAX_UPLOAD:
        return await _page(page, 400, errors={"roster": page.t("roster_error_large")})
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return await _page(page, 400, errors={"roster": page.t("roster_error_encoding")})
    found = await _preview(page, text)
    return render(page, "roster_preview.html", preview=found, csv=text)


async def apply(page: Page) -> web.StreamResponse:
    """Import the previewed CSV (sent back by the preview form) and show the result."""
    form = await posted(page)
    text = str(form.get("csv") or "")
    if not text.strip():
        return await _page(page, 400, errors={"roster": page.t("roster_error_empty")})
    async with page.uow() as uow:
        programme = await uow.programmes.by_slug(page.slug)
        assert programme is not None
        report = await service.import_roster(
            uow, page.who, programme, text, page.content.taxonomy, page.now()
        )
    return await _page(page, imported=report)
