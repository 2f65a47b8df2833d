"""Groups page of a cycle: proposals and live groups with their score and each member's
reasons in the coordinator's language; propose, approve or reject, and edit them (move,
remove, add an unmatched authority, swap a mentor, give a seat to a colleague) with the hard
rules re-checked by `handlers.groups.edits`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.web.console.base import Page, posted, render, see_other
from bot.web.console.cycles import cycle_id
from handlers.groups import admin, edits
from handlers.groups.rules import render_reason, render_reasons
from handlers.groups.service import Refused

ACTIONS = ("move", "remove", "add", "swap", "takeover")


def _worded(page: Page, data: dict[str, Any]) -> dict[str, Any]:
    content, locale = page.content, page.locale
    tax = content.taxonomy
    for group in data["groups"]:
        group["scheme_label"] = tax.label("instruments", group["scheme"], locale)
        group["module_label"] = (
            tax.label("sectors", group["module"], locale) if group["module"] else "—"
        )
        group["worded"] = render_reasons(content.t, tax, locale, group["reasons"])
        for member in group["mentors"] + group["learners"]:
            member["worded"] = [render_reason(content.t, tax, locale, r) for r in member["reasons"]]
    for row in data["unmatched"]:
        row["why"] = content.t(locale, f"groups.unmatched.{row.get('reason', '')}")
    return data


async def show(page: Page, status: int = 200, error: str | None = None) -> web.Response:
    """The cycle's groups and who was left out."""
    cid = cycle_id(page)
    async with page.uow() as uow:
        data = await admin.groups(uow, page.who, page.programme_id, cid)
    data = _worded(page, data)
    return render(
        page,
        "groups.html",
        status,
        data=data,
        proposed=sum(g["status"] == "proposed" for g in data["groups"]),
        targets=[g for g in data["groups"] if g["status"] != "closed"],
        error=error,
        done=page.request.query.get("done", ""),
    )


async def propose(page: Page) -> web.StreamResponse:
    """Form the cycle's groups again (unreviewed proposals go)."""
    await posted(page)
    cid = cycle_id(page)
    async with page.uow() as uow:
        await admin.propose(uow, page.who, page.programme_id, cid, page.now())
        await uow.commit()
    raise see_other(page, f"cycles/{cid}/groups?done=proposed")


async def decide(page: Page) -> web.StreamResponse:
    """Approve or reject one proposal, or all of them."""
    form = await posted(page)
    cid = cycle_id(page)
    action = str(form.get("action") or "")
    if action not in ("approve", "reject", "approve_all", "reject_all"):
        raise web.HTTPBadRequest(text="unknown action")
    raw = str(form.get("group") or "")
    ids = [int(raw)] if raw.isdigit() else []
    every = action.endswith("_all")
    if not every and not ids:
        raise web.HTTPBadRequest(text="no group")
    approving = action.startswith("approve")
    async with page.uow() as uow:
        await admin.decide(
            uow, page.who, page.programme_id, cid, ids, approving, page.now(), every=every
        )
        await uow.commit()
    raise see_other(page, f"cycles/{cid}/groups?done={'approved' if approving else 'rejected'}")


async def edit(page: Page) -> web.StreamResponse:
    """One coordinator edit of a group; a broken rule is shown, nothing is changed."""
    form = await posted(page)
    cid = cycle_id(page)
    action = str(form.get("action") or "")
    group_raw, to_raw = str(form.get("group") or ""), str(form.get("to") or "")
    member, other = str(form.get("member") or ""), str(form.get("other") or "")
    role = str(form.get("role") or "learner")
    if action not in ACTIONS or not group_raw.isdigit():
        raise web.HTTPBadRequest(text="unknown edit")
    group_id = int(group_raw)
    now, content, secret = page.now(), page.content, page.runtime.core.secret
    async with page.uow() as uow:
        await admin.cycle_of(uow, page.who, page.programme_id, cid)
        group = await uow.groups.get(group_id)
        if group is None or group.cycle_id != cid:
            raise web.HTTPNotFound()
        try:
            if action == "move":
                if not to_raw.isdigit():
                    return await show(page, 400, page.t("groups_pick_target"))
                await edits.move_member(
                    uow, page.who, group_id, member, int(to_raw), now, content, secret
                )
            elif action == "remove":
                await edits.remove_member(uow, page.who, group_id, member, now, content, secret)
            elif action == "add":
                await edits.add_member(uow, page.who, group_id, member, role, now, content, secret)
            elif action == "swap":
                await edits.swap_mentor(
                    uow, page.who, group_id, member, other, now, content, secret
                )
            else:
                await edits.take_over(uow, page.who, group_id, member, now, content, secret)
        except Refused as exc:
            return await show(page, 400, page.t("groups_refused", why=str(exc)))
        await uow.commit()
    raise see_other(page, f"cycles/{cid}/groups?done=edited")
