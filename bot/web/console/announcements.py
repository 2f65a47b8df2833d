"""Announcements page: compose (text, translations side by side, audience filter) with the
recipient count by platform and language, send through the same service as
`peerbot broadcast create`, and follow each one's delivery report with who was not reached."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.web import HEADERS
from bot.web.console.base import UI_LANGS, Page, posted, render, see_other
from handlers.announcements import service


async def _reach(page: Page, audience: str) -> tuple[service.Reach | None, list[str]]:
    async with page.uow() as uow:
        try:
            return (
                await service.reach(
                    uow, page.who, page.programme_id, audience, page.content.taxonomy
                ),
                [],
            )
        except service.AudienceProblem as exc:
            return None, exc.parts


async def _page(page: Page, status: int = 200, **values: Any) -> web.Response:
    audience = str(values.pop("audience", None) or page.request.query.get("audience") or "")
    found, problems = await _reach(page, audience)
    errors = dict(values.pop("errors", {}))
    if problems:
        errors["audience"] = page.t("audience_error", parts=", ".join(problems))
    async with page.uow() as uow:
        sent = await service.recent(uow, page.who, page.programme_id)
    return render(
        page,
        "announcements.html",
        status,
        reach=found,
        audience=audience,
        errors=errors,
        sent=sent,
        ui_langs=UI_LANGS,
        **values,
    )


async def show(page: Page) -> web.StreamResponse:
    """The compose form (with the count for `?audience=`) and the latest announcements."""
    return await _page(page)


async def reach_json(page: Page) -> web.StreamResponse:
    """The live recipient count for the compose form's script."""
    found, problems = await _reach(page, page.request.query.get("audience", ""))
    if found is None:
        return web.json_response(
            {"error": page.t("audience_error", parts=", ".join(problems))}, headers=HEADERS
        )
    return web.json_response(
        {
            "total": found.total,
            "text": page.t("reach_total", count=found.total),
            "by_platform": found.by_platform,
            "by_language": found.by_language,
            "not_reached": found.not_reached,
        },
        headers=HEADERS,
    )


def _typed(form: Any) -> tuple[str, str, str, dict[str, str], dict[str, Any]]:
    text = str(form.get("text") or "")
    lang = str(form.get("lang") or "en")
    audience = str(form.get("audience") or "")
    translations = {code: str(form.get(f"tr_{code}") or "") for code in UI_LANGS}
    return (
        text,
        lang,
        audience,
        translations,
        {
            "typed": text,
            "typed_lang": lang,
            "typed_tr": translations,
        },
    )


async def count(page: Page) -> web.StreamResponse:
    """The form again, as typed, with the recipient count (without the script)."""
    form = await posted(page)
    _, _, audience, _, values = _typed(form)
    return await _page(page, audience=audience, **values)


async def send(page: Page) -> web.StreamResponse:
    """Queue the announcement; on a problem the form comes back with the error by the field."""
    form = await posted(page)
    text, lang, audience, translations, values = _typed(form)
    if lang not in UI_LANGS:
        return await _page(
            page, 400, audience=audience, errors={"lang": page.t("lang_error")}, **values
        )
    async with page.uow() as uow:
        try:
            ann_id = await service.send(
                uow,
                page.who,
                page.programme_id,
                text=text,
                audience_text=audience,
                taxonomy=page.content.taxonomy,
                now=page.now(),
                lang=lang,
                translations=translations,
            )
        except service.AudienceProblem:
            return await _page(page, 400, audience=audience, **values)
        except ValueError:
            return await _page(
                page, 400, audience=audience, errors={"text": page.t("text_error")}, **values
            )
    raise see_other(page, f"announcements/{ann_id}")


async def report(page: Page) -> web.StreamResponse:
    """One announcement's delivery report."""
    raw = page.request.match_info.get("aid", "")
    if not raw.isdigit():
        raise web.HTTPNotFound()
    async with page.uow() as uow:
        found = await service.report(uow, page.who, page.programme_id, int(raw))
    return render(page, "announcement.html", r=found)
