"""Cycles page: the programme's learning cycles and a form to create one; a cycle's page with
its figures (groups by scheme and module, attendance, health), its applications and a form
where a coordinator enters or edits an application for an officer."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp import web

from bot.web.console.base import Page, posted, render, see_other
from handlers.groups import admin
from handlers.groups.figures import cycle_report
from handlers.groups.service import Refused

APPLY_ERRORS = (
    "no_officer",
    "unknown_scheme",
    "bad_capacity",
    "no_consent",
    "not_active",
    "no_authority",
    "nothing_chosen",
    "cycle_closed",
)


def cycle_id(page: Page) -> int:
    raw = page.request.match_info.get("cid", "")
    if not raw.isdigit():
        raise web.HTTPNotFound()
    return int(raw)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


async def show(
    page: Page, status: int = 200, errors: dict[str, str] | None = None, form: Any = None
) -> web.Response:
    """Every cycle of the programme, and the form to create one."""
    async with page.uow() as uow:
        rows = await admin.cycles(uow, page.who, page.programme_id)
    tax = page.content.taxonomy
    return render(
        page,
        "cycles.html",
        status,
        cycles=rows,
        modules=[(c, tax.label("sectors", c, page.locale)) for c in tax.codes("sectors")],
        errors=errors or {},
        form=form or {},
        done=page.request.query.get("done", ""),
    )


async def create(page: Page) -> web.StreamResponse:
    """Create a cycle from the form; problems are shown next to their field."""
    form = await posted(page)
    errors: dict[str, str] = {}
    starts, ends = _day(str(form.get("starts", ""))), _day(str(form.get("ends", "")))
    if starts is None:
        errors["starts"] = page.t("cycle_bad_date")
    if ends is None:
        errors["ends"] = page.t("cycle_bad_date")
    sizes: dict[str, int] = {}
    for key in ("min_learners", "max_learners"):
        raw = str(form.get(key, "")).strip()
        if raw:
            if not raw.isdigit() or not 1 <= int(raw) <= 20:
                errors[key] = page.t("cycle_bad_size")
            else:
                sizes[key] = int(raw)
    if not errors and starts and ends:
        try:
            async with page.uow() as uow:
                made = await admin.create_cycle(
                    uow,
                    page.who,
                    page.programme_id,
                    page.content.taxonomy,
                    page.now(),
                    name=str(form.get("name", "")),
                    starts_on=starts,
                    ends_on=ends,
                    modules=[str(m) for m in form.getall("module", [])],
                    sizes=sizes,
                )
                await uow.commit()
        except Refused as exc:
            errors["name"] = page.t("cycle_refused", why=str(exc))
        else:
            raise see_other(page, f"cycles/{made['id']}?done=created")
    return await show(page, 400, errors, form)


async def one(
    page: Page, status: int = 200, errors: dict[str, str] | None = None, form: Any = None
) -> web.Response:
    """One cycle: its figures, its applications and the application form."""
    cid = cycle_id(page)
    async with page.uow() as uow:
        figures = await cycle_report(uow, page.who, page.programme_id, cid, page.now())
        if figures is None:
            raise web.HTTPNotFound()
        rows = await admin.applications(uow, page.who, page.programme_id, cid)
    tax, locale = page.content.taxonomy, page.locale
    schemes = [(c, tax.label("instruments", c, locale)) for c in tax.codes("instruments")]
    label = dict(schemes)
    for row in rows:
        row["wants_label"] = ", ".join(label.get(c, c) for c in row["wants"]) or "—"
        row["offers_label"] = ", ".join(label.get(c, c) for c in row["offers"]) or "—"
    chosen = form or {}
    if not chosen and page.request.query.get("email"):
        email = page.request.query["email"]
        earlier = next((r for r in rows if r["email"] == email), None)
        if earlier:
            chosen = {"email": email, "wants": earlier["wants"], "offers": earlier["offers"]}
    return render(
        page,
        "cycle.html",
        status,
        cycle=figures,
        applications=rows,
        schemes=schemes,
        scheme_label=label,
        module_label=lambda c: tax.label("sectors", c, locale) if c != "none" else "—",
        errors=errors or {},
        form=chosen,
        done=page.request.query.get("done", ""),
    )


async def apply(page: Page) -> web.StreamResponse:
    """Enter or replace an officer's application to the cycle."""
    form = await posted(page)
    cid = cycle_id(page)
    email = str(form.get("email", "")).strip()
    wants = [str(c) for c in form.getall("wants", [])]
    offers = [str(c) for c in form.getall("offers", [])]
    raw = str(form.get("capacity", "")).strip()
    capacity = int(raw) if raw.isdigit() else None
    values = {"email": email, "wants": wants, "offers": offers, "capacity": raw}
    if raw and capacity is None:
        return await one(page, 400, {"capacity": page.t("apply_error_bad_capacity")}, values)
    try:
        async with page.uow() as uow:
            new = await admin.apply_for(
                uow,
                page.who,
                page.programme_id,
                cid,
                page.content.taxonomy,
                page.now(),
                email=email,
                wants=wants,
                offers=offers,
                capacity=capacity,
            )
            await uow.commit()
    except Refused as exc:
        code = str(exc) if str(exc) in APPLY_ERRORS else "no_officer"
        field = {"nothing_chosen": "wants", "bad_capacity": "capacity"}.get(code, "email")
        return await one(page, 400, {field: page.t(f"apply_error_{code}")}, values)
    raise see_other(page, f"cycles/{cid}?done={'applied' if new else 'reapplied'}")
