"""Settings page (name and languages, as `peerbot programme rename`; check-in cadence, Slack
channel and Telegram forum chat), the audit log, and the console's own language."""

from __future__ import annotations

from aiohttp import web

from bot.web import HEADERS
from bot.web.auth import secure_request
from bot.web.console.base import LANG_COOKIE, UI_LANGS, Page, posted, render, see_other
from handlers.audit import service as audit
from handlers.programmes import rules, service


async def show(page: Page, status: int = 200, **values: object) -> web.Response:
    async with page.uow() as uow:
        found = await service.settings_of(uow, page.who, page.programme_id)
    return render(
        page,
        "settings.html",
        status,
        s=found,
        ui_langs=UI_LANGS,
        days=rules.CHECKIN_DAYS,
        **values,
    )


async def save(page: Page) -> web.StreamResponse:
    """Rename the programme and/or change its languages."""
    form = await posted(page)
    name = str(form.get("name") or "").strip()
    languages = [str(v) for v in form.getall("languages", [])]
    errors = {}
    if not name:
        errors["name"] = page.t("name_error")
    if not languages:
        errors["languages"] = page.t("languages_error")
    if errors:
        return await show(page, 400, errors=errors)
    async with page.uow() as uow:
        try:
            await service.rename_programme(
                uow, page.who, page.programme_id, name, languages, page.now()
            )
        except ValueError as exc:
            return await show(page, 400, errors={"name": page.t("name_refused", why=str(exc))})
    raise see_other(page, "settings?done=saved")


CHANNEL_ERRORS = {
    "checkin_days": "checkin_days_error",
    "slack_channel": "slack_channel_error",
    "telegram_chat": "telegram_chat_error",
}


async def channels(page: Page) -> web.StreamResponse:
    """Set the check-in cadence, the Slack channel and the Telegram forum chat."""
    form = await posted(page)
    typed = {k: str(form.get(k) or "") for k in CHANNEL_ERRORS}
    async with page.uow() as uow:
        try:
            await service.set_channels(
                uow,
                page.who,
                page.programme_id,
                typed["checkin_days"],
                typed["slack_channel"],
                typed["telegram_chat"],
                page.now(),
            )
        except service.ChannelProblem as exc:
            low, high = rules.CHECKIN_DAYS
            errors = {k: page.t(CHANNEL_ERRORS[k], low=low, high=high) for k in exc.fields}
            return await show(page, 400, errors=errors, typed=typed)
    raise see_other(page, "settings?done=channels")


async def language(page: Page) -> web.StreamResponse:
    """Show the console in another of the five languages (a cookie of this browser)."""
    form = await posted(page)
    chosen = str(form.get("lang") or "")
    back = str(form.get("back") or "")
    target = back if back.startswith(page.url() + "/") or back == page.url() else page.url("roster")
    moved = web.HTTPSeeOther(target, headers=HEADERS)
    if chosen in UI_LANGS:
        moved.set_cookie(
            LANG_COOKIE,
            chosen,
            path="/dashboard",
            httponly=True,
            samesite="Strict",
            secure=secure_request(page.request),
            max_age=365 * 24 * 3600,
        )
    raise moved


async def log(page: Page) -> web.StreamResponse:
    """The programme's audit log, newest first."""
    async with page.uow() as uow:
        lines = await audit.recent(uow, page.who, page.programme_id)
    return render(page, "audit.html", lines=lines)
