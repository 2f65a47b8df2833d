"""Plans and outcomes page: the programme's authorities with their learning plan and the stage
each scheme reached; a form to set a plan and one to record a stage (read and checked as in
chat and `peerbot outcomes`, problems next to their field); and the funders' figures with
their H2020 / LIFE CET / Interreg names, how each is computed, and the XLSX and CSV files."""

from __future__ import annotations

import asyncio
import io
from typing import Any

from aiohttp import web

from bot.web import HEADERS
from bot.web.console.base import Page, posted, render, see_other
from bot.web.render import kpi_text
from handlers.audit.service import NotAllowed
from handlers.outcomes import coordination, export, forms
from handlers.outcomes.rules import INDICATORS, STAGES, UNSPECIFIED
from handlers.outcomes.service import Invalid, Kpis


def _labels(page: Page) -> dict[str, Any]:
    tax, locale = page.content.taxonomy, page.locale
    return {
        "scheme_label": lambda code: tax.label("instruments", code, locale) if code else "",
        "sector_label": lambda code: (
            page.t("outcomes_unspecified")
            if code == UNSPECIFIED
            else tax.label("sectors", code, locale)
        ),
        "stage_label": lambda code: page.content.t(locale, f"outcomes.stage_{code}"),
        "kpi_label": lambda key: page.content.t(locale, f"dashboard.kpi_{key}"),
        "number": lambda value: kpi_text(value, locale),
        "schemes": tax.codes("instruments"),
        "sectors": tax.codes("sectors"),
        "stages": STAGES,
        "indicators": INDICATORS,
    }


def _breakdowns(kpis: Kpis) -> dict[str, dict[str, Any]]:
    return {
        "investments_by_instrument": kpis.investments_by_instrument,
        "investments_by_sector": kpis.investments_by_sector,
    }


async def _page(page: Page, status: int = 200, **values: Any) -> web.Response:
    async with page.uow() as uow:
        authorities = await coordination.programme_outcomes(uow, page.who, page.programme_id)
        kpis = await coordination.figures(uow, page.who, page.programme_id)
    chosen = values.pop("chosen", None)
    if chosen is None and page.request.query.get("authority", "").isdigit():
        chosen = int(page.request.query["authority"])
    picked = next((a for a in authorities if a.authority_id == chosen), None)
    return render(
        page,
        "outcomes.html",
        status,
        authorities=authorities,
        picked=picked,
        kpis=kpis,
        tables=[t.name for t in export.tables(kpis.totals, kpis.by_authority, _breakdowns(kpis))],
        today=page.now().date().isoformat(),
        **_labels(page),
        **values,
    )


async def show(page: Page) -> web.StreamResponse:
    """The authorities, the forms of `?authority=` and the funders' figures."""
    return await _page(page)


def _authority_id(form: Any) -> int:
    raw = str(form.get("authority_id") or "")
    if not raw.isdigit():
        raise NotAllowed("authority")
    return int(raw)


def _messages(page: Page, problems: forms.Problems) -> dict[str, str]:
    return {name: page.content.t(page.locale, p.key, **p.values) for name, p in problems.items()}


async def save_plan(page: Page) -> web.StreamResponse:
    """Set or replace an authority's learning plan."""
    form = await posted(page)
    authority_id = _authority_id(form)
    typed = {name: str(form.get(name) or "") for name in forms.PLAN_FIELDS}
    today = page.now().date()
    draft, problems = forms.read_plan(typed, today)
    if draft is not None:
        tax = page.content.taxonomy
        async with page.uow() as uow:
            try:
                await coordination.set_plan(
                    uow,
                    page.who,
                    page.programme_id,
                    authority_id,
                    draft,
                    schemes=tax.codes("instruments"),
                    sectors=tax.codes("sectors"),
                    now=page.now(),
                )
                await uow.commit()
            except Invalid as exc:
                name, problem = forms.problem_of(exc)
                problems = {name: problem}
    if problems:
        return await _page(
            page, 400, chosen=authority_id, plan_errors=_messages(page, problems), plan_typed=typed
        )
    raise see_other(page, f"outcomes?authority={authority_id}&done=plan#edit")


async def save_stage(page: Page) -> web.StreamResponse:
    """Record (or correct) a stage an authority reached with a scheme."""
    form = await posted(page)
    authority_id = _authority_id(form)
    typed = {name: str(form.get(name) or "") for name in forms.OUTCOME_FIELDS}
    today = page.now().date()
    draft, problems = forms.read_outcome(typed, today)
    if draft is not None:
        async with page.uow() as uow:
            try:
                await coordination.record_stage(
                    uow,
                    page.who,
                    page.programme_id,
                    authority_id,
                    draft,
                    schemes=page.content.taxonomy.codes("instruments"),
                    today=today,
                    now=page.now(),
                )
                await uow.commit()
            except Invalid as exc:
                name, problem = forms.problem_of(exc)
                problems = {name: problem}
    if problems:
        return await _page(
            page,
            400,
            chosen=authority_id,
            stage_errors=_messages(page, problems),
            stage_typed=typed,
        )
    raise see_other(page, f"outcomes?authority={authority_id}&done=stage#edit")


async def _figures(page: Page) -> tuple[Kpis, str]:
    async with page.uow() as uow:
        kpis = await coordination.figures(uow, page.who, page.programme_id)
    return kpis, page.now().isoformat()


def _download(body: bytes, name: str, content_type: str) -> web.Response:
    return web.Response(
        body=body,
        content_type=content_type,
        headers={**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'},
    )


async def workbook(page: Page) -> web.StreamResponse:
    """The funders' workbook of this programme (as `peerbot report --xlsx --programme`)."""
    kpis, generated = await _figures(page)
    out = io.BytesIO()
    # openpyxl takes seconds for a thousand authorities: off the event loop, which also
    # answers Slack and Telegram within their deadlines.
    await asyncio.to_thread(
        export.write_workbook,
        out,
        kpis.totals,
        kpis.by_authority,
        generated,
        [page.slug],
        _breakdowns(kpis),
    )
    return _download(
        out.getvalue(),
        f"{page.slug}-indicators.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


async def table_csv(page: Page) -> web.StreamResponse:
    """One indicator's table as CSV (as `peerbot report --csv DIR --programme` writes it)."""
    name = page.request.match_info.get("table", "")
    kpis, _ = await _figures(page)
    found = next(
        (
            t
            for t in export.tables(kpis.totals, kpis.by_authority, _breakdowns(kpis))
            if t.name == name
        ),
        None,
    )
    if found is None:
        raise web.HTTPNotFound(text="Not found", headers=HEADERS)
    return _download(export.csv_text(found).encode("utf-8"), f"{page.slug}-{name}.csv", "text/csv")
