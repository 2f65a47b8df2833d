"""Matching page: propose a round, review its pairs (scores and reasons in the coordinator's
language), approve or reject one or all, swap a proposal's mentor for another eligible one,
and see who was left unmatched and why."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.web.console.base import Page, posted, render, see_other
from handlers.pairing import service
from handlers.pairing.reasons import render_reasons


def _worded(page: Page, round_: service.RoundView | None) -> dict[str, Any] | None:
    """The round with reasons, topics and unmatched reasons in the page's language."""
    if round_ is None:
        return None
    content, locale = page.content, page.locale

    def topic(code: str | None) -> str:
        return content.taxonomy.label("instruments", code, locale) if code else page.t("any_topic")

    pairs = [
        {
            **p,
            "topic_label": topic(p["topic"]),
            "worded": render_reasons(content.t, content.taxonomy, locale, p["reasons"]),
        }
        for p in round_.pairs
    ]
    unmatched = [
        {
            **u,
            "topic_label": topic(u["topic"]),
            "why": content.t(locale, f"match_why.{u['code']}") if u["code"] else u["reason"],
        }
        for u in round_.unmatched
    ]
    return {
        "id": round_.id,
        "created_at": round_.created_at,
        "pairs": pairs,
        "unmatched": unmatched,
        "proposed": round_.proposed,
    }


async def show(page: Page) -> web.StreamResponse:
    """The latest round of the programme."""
    async with page.uow() as uow:
        found = await service.latest_round(uow, page.who, page.programme_id)
    done = page.request.query.get("done", "")
    return render(page, "matching.html", round=_worded(page, found), done=done)


async def propose(page: Page) -> web.StreamResponse:
    """Solve a new round (unreviewed proposals of the last one go)."""
    await posted(page)
    async with page.uow() as uow:
        await service.propose_round(uow, page.who, page.programme_id, page.now())
    raise see_other(page, "matching?done=proposed")


async def decide(page: Page) -> web.StreamResponse:
    """Approve or reject one proposal, or every proposal of the latest round."""
    form = await posted(page)
    action = str(form.get("action") or "")
    every = action in ("approve_all", "reject_all")
    approve = action in ("approve", "approve_all")
    if action not in ("approve", "reject", "approve_all", "reject_all"):
        raise web.HTTPBadRequest(text="unknown action")
    raw = str(form.get("pair") or "")
    ids = [int(raw)] if raw.isdigit() else []
    if not every and not ids:
        raise web.HTTPBadRequest(text="no pair")
    async with page.uow() as uow:
        await service.decide(
            uow, page.who, page.programme_id, ids, approve, page.now(), every=every
        )
    raise see_other(page, f"matching?done={'approved' if approve else 'rejected'}")


def _pair_id(page: Page) -> int:
    raw = page.request.match_info.get("pid", "")
    if not raw.isdigit() or len(raw) > 12:
        raise web.HTTPNotFound()
    return int(raw)


def worded_options(page: Page, options: list[service.MentorOption]) -> list[dict[str, Any]]:
    """Mentor choices with their reasons in the coordinator's language."""
    content, locale = page.content, page.locale
    return [
        {
            "id": o.mentor_id,
            "name": o.name,
            "authority": o.authority,
            "score": o.score,
            "topic_label": content.taxonomy.label("instruments", o.topic, locale),
            "worded": render_reasons(content.t, content.taxonomy, locale, o.reasons),
        }
        for o in options
    ]


async def swap_form(page: Page, status: int = 200, error: str | None = None) -> web.Response:
    """A proposal and the other mentors who could take its learner, best first."""
    pid = _pair_id(page)
    async with page.uow() as uow:
        options = await service.mentor_choices(uow, page.who, page.programme_id, pid, page.now())
        found = await service.latest_round(uow, page.who, page.programme_id)
    worded = _worded(page, found)
    pair = next((p for p in (worded or {}).get("pairs", []) if p["id"] == pid), None)
    if pair is None or pair["status"] != "proposed":
        raise web.HTTPNotFound()
    return render(
        page,
        "swap.html",
        status,
        pair=pair,
        options=worded_options(page, options),
        errors={"mentor": error} if error else {},
    )


async def swap(page: Page) -> web.StreamResponse:
    """Give the proposal the chosen mentor (it stays to review)."""
    form = await posted(page)
    pid = _pair_id(page)
    raw = str(form.get("mentor") or "")
    if not raw.isdigit() or len(raw) > 12:
        return await swap_form(page, 400, page.t("swap_error_choose"))
    async with page.uow() as uow:
        try:
            await service.swap_mentor(uow, page.who, page.programme_id, pid, int(raw), page.now())
        except service.NotEligible:
            return await swap_form(page, 400, page.t("swap_error_not_eligible"))
    raise see_other(page, "matching?done=swapped")
