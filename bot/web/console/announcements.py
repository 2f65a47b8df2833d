"""Announcements page: compose (text and, side by side, one text area per programme language;
audience filter) with the live recipient count by platform and by language, send now or at a
time in the coordinator's time zone through the same service as `peerbot broadcast create`,
cancel a scheduled one before it goes, and follow each one's delivery report with who was not
reached."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.web import HEADERS
from bot.web.console.base import UI_LANGS, Page, posted, render, see_other
from handlers.announcements import service
from handlers.announcements.flow import parse_when
from handlers.core.date_phrases import moment_text
from handlers.core.taxonomy import language_name
from handlers.programmes.service import settings_of

TRANSLATION_FIELD = re.compile(r"tr_[a-z]{2,3}")


@dataclass(frozen=True)
class Languages:
    """The compose form's languages: the text's (`main`), the programme's others side by
    side (`side`), the console's other languages folded away (`more`), and their names."""

    main: str
    side: tuple[str, ...]
    more: tuple[str, ...]
    names: dict[str, str]

    @property
    def all(self) -> tuple[str, ...]:
        return (self.main, *self.side, *self.more)


async def languages(page: Page, main: str | None = None) -> Languages:
    """The programme's languages first; the text's is `main` (as typed), else the
    coordinator's when the programme writes in it, else the programme's first."""
    async with page.uow() as uow:
        found = await settings_of(uow, page.who, page.programme_id)
    ours = tuple(dict.fromkeys(found.languages or ("en",)))
    if main not in (*ours, *UI_LANGS):
        main = page.locale if page.locale in ours else ours[0]
    chosen = str(main)
    side = tuple(code for code in ours if code != chosen)
    more = tuple(code for code in UI_LANGS if code not in ours and code != chosen)
    names = {
        code: page.t(f"lang_{code}") if code in UI_LANGS else language_name(code, page.locale)
        for code in (chosen, *side, *more)
    }
    return Languages(chosen, side, more, names)


def moment(page: Page, when: datetime | None) -> str:
    """A moment in the coordinator's time zone and language."""
    return moment_text(page.content.t, page.locale, when, timezone(page))


def timezone(page: Page) -> str:
    return page.viewer.officer.timezone or "UTC"


def when_of(page: Page, raw: str) -> tuple[datetime | None, str | None]:
    """A sending or closing time typed in the coordinator's time zone (a `datetime-local`
    field, or what chat accepts: `tomorrow 9:00`, `in 2 hours`); (None, None) for empty,
    (None, error) for a time not understood or gone by."""
    if not raw.strip():
        return None, None
    found = parse_when(raw, timezone(page), page.now())
    if found is None:
        return None, page.t("when_error", timezone=timezone(page))
    return found, None


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


async def compose_values(page: Page, values: dict[str, Any]) -> dict[str, Any]:
    """What every compose form shows: the count for the audience, its error, the languages."""
    audience = str(values.pop("audience", None) or page.request.query.get("audience") or "")
    found, problems = await _reach(page, audience)
    errors = dict(values.pop("errors", {}))
    if problems:
        errors["audience"] = page.t("audience_error", parts=", ".join(problems))
    return {
        "reach": found,
        "audience": audience,
        "errors": errors,
        "langs_of": await languages(page, values.get("typed_lang")),
        "timezone": timezone(page),
        "moment": lambda when: moment(page, when),
    }


async def _page(page: Page, status: int = 200, **values: Any) -> web.Response:
    shown = await compose_values(page, values)
    async with page.uow() as uow:
        sent = await service.recent(uow, page.who, page.programme_id)
    return render(
        page,
        "announcements.html",
        status,
        sent=[a for a in sent if not a["question"]],
        ui_langs=UI_LANGS,
        done=page.request.query.get("done", ""),
        **shown,
        **values,
    )


async def show(page: Page) -> web.StreamResponse:
    """The compose form (with the count for `?audience=`) and the latest announcements."""
    return await _page(page)


async def reach_json(page: Page) -> web.StreamResponse:
    """The live recipient count for the compose form's script: the total, by platform and by
    language (with the names to show), and who would get nothing, and why."""
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
            "captions": {
                "by_platform": page.t("by_platform"),
                "by_language": page.t("by_language"),
                "not_reached": page.t("not_reached"),
            },
            "names": {
                **{
                    k: page.t(f"lang_{k}") if k in UI_LANGS else language_name(k, page.locale)
                    for k in found.by_language
                },
                **{k: page.t("why_" + k) for k in found.not_reached},
            },
        },
        headers=HEADERS,
    )


def translations_in(form: Any) -> dict[str, str]:
    """The `tr_<language code>` fields of a form that are filled in, by language code."""
    return {
        str(key)[3:]: str(value)
        for key, value in form.items()
        if TRANSLATION_FIELD.fullmatch(str(key)) and str(value).strip()
    }


def refused(page: Page, exc: ValueError) -> dict[str, str]:
    """The form field and its error for what `service.create` refused."""
    field, key = {
        "past": ("send_at", "when_past"),
        "closes": ("closes_at", "closes_before_sending"),
        "too_long": ("text", "text_too_long"),
    }.get(str(exc), ("text", "text_error"))
    return {field: page.t(key)}


def typed(form: Any) -> tuple[str, str, str, dict[str, str], dict[str, Any]]:
    """The text, its language, the audience, the translations, and all of it to show again."""
    text = str(form.get("text") or "")
    lang = str(form.get("lang") or "en")
    audience = str(form.get("audience") or "")
    translations = translations_in(form)
    return (
        text,
        lang,
        audience,
        translations,
        {
            "typed": text,
            "typed_lang": lang,
            "typed_tr": translations,
            "typed_send_at": str(form.get("send_at") or ""),
        },
    )


async def count(page: Page) -> web.StreamResponse:
    """The form again, as typed, with the recipient count (without the script)."""
    form = await posted(page)
    _, _, audience, _, values = typed(form)
    return await _page(page, audience=audience, **values)


async def send(page: Page) -> web.StreamResponse:
    """Queue the announcement now or for later; on a problem the form comes back with the
    error by the field."""
    form = await posted(page)
    text, lang, audience, translations, values = typed(form)
    if lang not in (await languages(page, lang)).all:
        return await _page(
            page, 400, audience=audience, errors={"lang": page.t("lang_error")}, **values
        )
    send_at, wrong = when_of(page, str(form.get("send_at") or ""))
    if wrong:
        return await _page(page, 400, audience=audience, errors={"send_at": wrong}, **values)
    async with page.uow() as uow:
        try:
            ann = await service.create(
                uow,
                service.in_console(page.who, page.programme_id, page.content),
                text=text,
                audience=audience,
                now=page.now(),
                lang=lang,
                translations=translations,
                send_at=send_at,
            )
            await uow.commit()
        except service.AudienceProblem:
            return await _page(page, 400, audience=audience, **values)
        except ValueError as exc:
            return await _page(page, 400, audience=audience, errors=refused(page, exc), **values)
    raise see_other(page, f"announcements/{ann.id}")


def _aid(page: Page) -> int:
    raw = page.request.match_info.get("aid", "")
    if not raw.isdigit():
        raise web.HTTPNotFound()
    return int(raw)


async def report(page: Page) -> web.StreamResponse:
    """One announcement's delivery report (and, while it waits, its cancel button)."""
    async with page.uow() as uow:
        found = await service.report(uow, page.who, page.programme_id, _aid(page))
    return render(
        page,
        "announcement.html",
        r=found,
        send_at=moment(page, found["send_at"]),
        done=page.request.query.get("done", ""),
        error=page.request.query.get("error", ""),
    )


async def cancel(page: Page) -> web.StreamResponse:
    """Cancel a scheduled announcement (or survey) before it goes."""
    await posted(page)
    aid = _aid(page)
    async with page.uow() as uow:
        try:
            await service.cancel(uow, page.who, page.programme_id, aid, page.now())
        except ValueError:
            raise see_other(page, f"announcements/{aid}?error=cancel") from None
    raise see_other(page, f"announcements/{aid}?done=cancelled")
