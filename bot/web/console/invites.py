"""Invites on the roster page: create join codes for an authority (links to copy) and revoke
an unused one; the same service as `peerbot invites create`."""

from __future__ import annotations

from aiohttp import web

from bot.web.console import roster
from bot.web.console.base import Page, posted, see_other
from handlers.officers import service


def _number(text: str, default: int) -> int | None:
    text = text.strip()
    if not text:
        return default
    return int(text) if text.isdigit() and len(text) < 6 else None


async def create(page: Page) -> web.StreamResponse:
    """Create invites; problems are shown next to their field, with what was typed."""
    form = await posted(page)
    typed = {k: str(form.get(k) or "")[:200] for k in ("authority", "country", "count", "days")}
    count = _number(typed["count"], 1)
    days = _number(typed["days"], service.INVITE_DAYS)
    async with page.uow() as uow:
        try:
            await service.create_invites(
                uow,
                page.who,
                page.programme_id,
                typed["authority"],
                typed["country"],
                page.now(),
                count=count if count is not None else 0,
                days=days if days is not None else 0,
            )
        except service.InviteProblems as exc:
            errors = roster.worded(page, exc.problems)
            return await roster.show_with(page, 400, invite_errors=errors, invite_typed=typed)
    raise see_other(page, "roster?done=invited#invites-title")


async def revoke(page: Page) -> web.StreamResponse:
    """Make an unused invite expire now."""
    await posted(page)
    raw = page.request.match_info.get("iid", "")
    if not raw.isdigit() or len(raw) > 12:
        raise web.HTTPNotFound()
    async with page.uow() as uow:
        done = await service.revoke_invite(uow, page.who, page.programme_id, int(raw), page.now())
    raise see_other(page, f"roster?done={'revoked' if done else 'not_revoked'}#invites-title")
