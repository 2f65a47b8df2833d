"""Surveys page: compose a needs survey or a question (single choice, several choices, or a
written answer) sent like an announcement and answered with the bot's buttons; the results as
bar charts drawn on the server (with tables as their text alternative) and the answers as CSV.
The same service as `peerbot broadcast create --question` and `peerbot broadcast results`."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from aiohttp import web

from bot.web import HEADERS
from bot.web.console.announcements import (
    compose_values,
    languages,
    moment,
    refused,
    typed,
    when_of,
)
from bot.web.console.base import UI_LANGS, Page, posted, render, see_other
from bot.web.console.charts import bar_chart
from handlers.announcements import service
from handlers.announcements.flow import KINDS, MAX_OPTIONS

QUESTION_FIELD = re.compile(r"qtr_[a-z]{2,3}")


async def _page(page: Page, status: int = 200, **values: Any) -> web.Response:
    shown = await compose_values(page, values)
    async with page.uow() as uow:
        found = await service.surveys(uow, page.who, page.programme_id)
    return render(
        page,
        "surveys.html",
        status,
        surveys=found,
        kinds=KINDS,
        max_options=MAX_OPTIONS,
        ui_langs=UI_LANGS,
        **shown,
        **values,
    )


async def show(page: Page) -> web.StreamResponse:
    """The survey form and the latest surveys."""
    return await _page(page)


def _survey_typed(form: Any) -> dict[str, Any]:
    options = [o for o in re.split(r"[\r\n]+", str(form.get("options") or "")) if o.strip()]
    return {
        "typed_question": str(form.get("question") or ""),
        "typed_kind": str(form.get("kind") or ""),
        "typed_options": "\n".join(options),
        "typed_closes_at": str(form.get("closes_at") or ""),
        "typed_qtr": {
            str(k)[4:]: str(v)
            for k, v in form.items()
            if QUESTION_FIELD.fullmatch(str(k)) and str(v).strip()
        },
    }


async def count(page: Page) -> web.StreamResponse:
    """The form again, as typed, with the recipient count (without the script)."""
    form = await posted(page)
    _, _, audience, _, values = typed(form)
    return await _page(page, audience=audience, **values, **_survey_typed(form))


async def send(page: Page) -> web.StreamResponse:
    """Queue the survey; every problem comes back next to its field."""
    form = await posted(page)
    text, lang, audience, translations, values = typed(form)
    values |= _survey_typed(form)
    question, kind = values["typed_question"], values["typed_kind"]
    options = values["typed_options"].split("\n")
    errors: dict[str, str] = {}
    if not text.strip():
        errors["text"] = page.t("text_error")
    if lang not in (await languages(page, lang)).all:
        errors["lang"] = page.t("lang_error")
    send_at, wrong = when_of(page, str(form.get("send_at") or ""))
    if wrong:
        errors["send_at"] = wrong
    closes_at, wrong = when_of(page, values["typed_closes_at"])
    if wrong or closes_at is None:
        errors["closes_at"] = wrong or page.t("closes_required")
    elif closes_at <= (send_at or page.now()):
        errors["closes_at"] = page.t("closes_before_sending")
    try:
        poll = service.survey_poll(question, kind, options, page.content, values["typed_qtr"])
    except service.SurveyProblem as exc:
        poll = None
        errors |= {k: page.t(v, max=MAX_OPTIONS) for k, v in exc.fields.items()}
    if errors or poll is None:
        return await _page(page, 400, audience=audience, errors=errors, **values)
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
                poll=poll,
                closes_at=closes_at,
            )
            await uow.commit()
        except service.AudienceProblem:
            return await _page(page, 400, audience=audience, **values)
        except ValueError as exc:
            return await _page(page, 400, audience=audience, errors=refused(page, exc), **values)
    raise see_other(page, f"surveys/{ann.id}")


def _aid(page: Page) -> int:
    raw = page.request.match_info.get("aid", "")
    if not raw.isdigit():
        raise web.HTTPNotFound()
    return int(raw)


async def _results(page: Page) -> dict[str, Any]:
    async with page.uow() as uow:
        return await service.results(
            uow, page.who, page.programme_id, _aid(page), page.now(), page.content.taxonomy
        )


async def results(page: Page) -> web.StreamResponse:
    """A survey's results: answers per option and needs named, as charts and tables; by
    country; the written answers."""
    found = await _results(page)
    tax = page.content.taxonomy
    tallies = found["tallies"]
    charts = []
    if found["kind"] != "text":
        charts.append(
            (
                "options",
                page.t("chart_options"),
                [(o, tallies["all"].get(o, 0)) for o in found["options"]],
            )
        )
    if found["needs"]:
        charts.append(
            (
                "needs",
                page.t("chart_needs"),
                [(tax.label("instruments", c, page.locale), n) for c, n in found["needs"].items()],
            )
        )
    return render(
        page,
        "survey.html",
        s=found,
        charts=[
            (key, title, items, bar_chart(items, found["answered"])) for key, title, items in charts
        ],
        closes=moment(
            page, datetime.fromisoformat(found["closes_at"]) if found["closes_at"] else None
        ),
    )


async def answers_csv(page: Page) -> web.StreamResponse:
    """The answers as CSV (UTF-8 with a byte-order mark, for spreadsheets)."""
    found = await _results(page)
    body = "\ufeff" + service.results_csv(found)
    return web.Response(
        body=body.encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers={
            **HEADERS,
            "Content-Disposition": f'attachment; filename="survey-{found["id"]}-answers.csv"',
        },
    )
