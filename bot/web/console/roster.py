"""Roster page: the programme's officers and invites, and a CSV import previewed before it is
applied (the same checks and writer as `peerbot officers import`); one officer's page to edit
their profile (the roster's field rules) and pause or resume them."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.web.console.base import Page, posted, render, see_other
from handlers.officers import service
from handlers.officers.edit import FIELDS, Problem
from handlers.officers.pausing import parse_day
from handlers.officers.roster import RosterPreview

MAX_UPLOAD = 5 * 1024 * 1024


async def _page(page: Page, status: int = 200, **values: Any) -> web.Response:
    async with page.uow() as uow:
        officers = await service.roster(uow, page.who, page.programme_id)
        invites = await service.invites(uow, page.who, page.programme_id, page.now())
    bot = page.runtime.settings.telegram_bot_username
    links = {i.id: service.telegram_link(bot, i.code) for i in invites}
    return render(
        page,
        "roster.html",
        status,
        officers=officers,
        invites=invites,
        links=links,
        bot_link=f"https://t.me/{bot}" if bot else None,
        done=page.request.query.get("done", ""),
        **values,
    )


async def show(page: Page) -> web.StreamResponse:
    """The roster, its invites and the upload form."""
    return await _page(page)


async def show_with(page: Page, status: int, **values: Any) -> web.Response:
    """The roster page with a form's errors (the invite form posts elsewhere)."""
    return await _page(page, status, **values)


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


def _officer_id(page: Page) -> int:
    raw = page.request.match_info.get("oid", "")
    if not raw.isdigit() or len(raw) > 12:
        raise web.HTTPNotFound()
    return int(raw)


def worded(page: Page, problems: dict[str, Problem]) -> dict[str, str]:
    """Each field's problem in the coordinator's language."""
    return {f: page.t(f"edit_error_{p.key}", **p.values) for f, p in problems.items()}


async def officer(page: Page, status: int = 200, **values: Any) -> web.Response:
    """One officer: the profile form, and pause or resume."""
    oid = _officer_id(page)
    async with page.uow() as uow:
        found = await service.officer_view(uow, page.who, page.programme_id, oid)
    return render(
        page,
        "officer.html",
        status,
        o=found,
        fields=FIELDS,
        typed=values.pop("typed", found.values),
        done=page.request.query.get("done", ""),
        **values,
    )


async def save_officer(page: Page) -> web.StreamResponse:
    """Save the profile; every refused field is shown next to it, with what was typed."""
    form = await posted(page)
    oid = _officer_id(page)
    typed = {f: str(form.get(f) or "") for f in FIELDS}
    async with page.uow() as uow:
        problems = await service.edit_officer(
            uow, page.who, page.programme_id, oid, typed, page.content.taxonomy, page.now()
        )
    if problems:
        return await officer(page, 400, errors=worded(page, problems), typed=typed)
    raise see_other(page, f"roster/officers/{oid}?done=saved")


async def pause(page: Page) -> web.StreamResponse:
    """Pause the officer until a date (as `/pause until DATE` reads it) or until resumed."""
    form = await posted(page)
    oid = _officer_id(page)
    text = str(form.get("until") or "").strip()[:40]
    until = parse_day(text) if text else None
    if text and until is None:
        return await officer(page, 400, errors={"until": page.t("pause_error_date")})
    async with page.uow() as uow:
        try:
            paused = await service.pause_officer(
                uow,
                page.content,
                page.runtime.core.secret,
                page.who,
                page.programme_id,
                oid,
                until,
                page.now(),
            )
        except ValueError:
            return await officer(page, 400, errors={"until": page.t("pause_error_when")})
    raise see_other(page, f"roster/officers/{oid}?done={'paused' if paused else 'not_active'}")


async def resume(page: Page) -> web.StreamResponse:
    """Bring the officer back from a pause."""
    await posted(page)
    oid = _officer_id(page)
    async with page.uow() as uow:
        resumed = await service.resume_officer(
            uow,
            page.content,
            page.runtime.core.secret,
            page.who,
            page.programme_id,
            oid,
            page.now(),
        )
    raise see_other(page, f"roster/officers/{oid}?done={'resumed' if resumed else 'not_paused'}")
