"""The coordinators' console under `/dashboard/p/<slug>/…`: roster, matching, pairs,
cycles and groups, questions, announcements, practices, plans and outcomes, applications,
settings and the audit log, on the dashboard's sign-in.

Pages call the feature services (`handlers/<feature>/service.py`) with the signed-in
coordinator and the URL's programme; see `bot.web.console.base` for the checks every page
and every POST goes through.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from bot.web import HEADERS, authenticate
from bot.web.console import (
    announcements,
    applications,
    cycles,
    groups,
    invites,
    matching,
    outcomes,
    pairs,
    practices,
    questions,
    roster,
    settings,
    surveys,
)
from bot.web.console.base import console_page, runtime_of
from handlers.audit.service import Coordinator
from handlers.programmes.service import coordinated

if TYPE_CHECKING:
    from bot.app import Runtime

STATIC = Path(__file__).resolve().parent.parent / "static"


async def home(request: web.Request) -> web.StreamResponse:
    """`/dashboard/console`: the first programme the coordinator runs."""
    viewer = await authenticate(request)
    if viewer is None:
        raise web.HTTPSeeOther("/dashboard", headers=HEADERS)
    who = Coordinator(viewer.officer.id, frozenset(viewer.programme_ids))
    async with runtime_of(request).core.uow() as uow:
        mine = await coordinated(uow, who)
    raise web.HTTPSeeOther(f"/dashboard/p/{mine[0].slug}/roster", headers=HEADERS)


async def script(request: web.Request) -> web.StreamResponse:
    """The compose form's live recipient count (plain script, no build step)."""
    return web.Response(
        text=(STATIC / "console.js").read_text(encoding="utf-8"),
        content_type="application/javascript",
        headers={**HEADERS, "Cache-Control": "max-age=300"},
    )


async def _to_roster(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther(f"/dashboard/p/{request.match_info['slug']}/roster", headers=HEADERS)


def add_console_routes(app: web.Application, runtime: Runtime) -> None:
    """Mount the console (the dashboard's routes and runtime must be there already)."""
    base = "/dashboard/p/{slug}"
    get, post = app.router.add_get, app.router.add_post
    get("/dashboard/console", home)
    get("/dashboard/static/console.js", script)
    get(base, _to_roster)
    get(f"{base}/roster", console_page(roster.show))
    post(f"{base}/roster/preview", console_page(roster.preview))
    post(f"{base}/roster/apply", console_page(roster.apply))
    get(base + "/roster/officers/{oid}", console_page(roster.officer))
    post(base + "/roster/officers/{oid}", console_page(roster.save_officer))
    post(base + "/roster/officers/{oid}/pause", console_page(roster.pause))
    post(base + "/roster/officers/{oid}/resume", console_page(roster.resume))
    post(f"{base}/roster/invites", console_page(invites.create))
    post(base + "/roster/invites/{iid}/revoke", console_page(invites.revoke))
    get(f"{base}/matching", console_page(matching.show))
    post(f"{base}/matching/propose", console_page(matching.propose))
    post(f"{base}/matching/decide", console_page(matching.decide))
    get(base + "/matching/pairs/{pid}", console_page(matching.swap_form))
    post(base + "/matching/pairs/{pid}/swap", console_page(matching.swap))
    get(f"{base}/pairs", console_page(pairs.show))
    get(base + "/pairs/{pid}", console_page(pairs.one))
    post(base + "/pairs/{pid}/close", console_page(pairs.close))
    post(base + "/pairs/{pid}/nudge", console_page(pairs.nudge))
    post(base + "/pairs/{pid}/reassign", console_page(pairs.reassign))
    get(f"{base}/cycles", console_page(cycles.show))
    post(f"{base}/cycles", console_page(cycles.create))
    get(base + "/cycles/{cid}", console_page(cycles.one))
    post(base + "/cycles/{cid}/apply", console_page(cycles.apply))
    get(base + "/cycles/{cid}/groups", console_page(groups.show))
    post(base + "/cycles/{cid}/groups/propose", console_page(groups.propose))
    post(base + "/cycles/{cid}/groups/decide", console_page(groups.decide))
    post(base + "/cycles/{cid}/groups/edit", console_page(groups.edit))
    get(f"{base}/questions", console_page(questions.show))
    get(base + "/questions/{qid}", console_page(questions.one))
    post(base + "/questions/{qid}/answer", console_page(questions.answer))
    post(base + "/questions/{qid}/promote", console_page(questions.promote))
    get(f"{base}/announcements", console_page(announcements.show))
    get(f"{base}/announcements/reach.json", console_page(announcements.reach_json))
    post(f"{base}/announcements/count", console_page(announcements.count))
    post(f"{base}/announcements/send", console_page(announcements.send))
    get(base + "/announcements/{aid}", console_page(announcements.report))
    post(base + "/announcements/{aid}/cancel", console_page(announcements.cancel))
    get(f"{base}/surveys", console_page(surveys.show))
    post(f"{base}/surveys/count", console_page(surveys.count))
    post(f"{base}/surveys/send", console_page(surveys.send))
    get(base + "/surveys/{aid}", console_page(surveys.results))
    get(base + "/surveys/{aid}/answers.csv", console_page(surveys.answers_csv))
    post(f"{base}/questions/answer-group", console_page(questions.answer_group))
    get(f"{base}/practices", console_page(practices.show))
    get(base + "/practices/{gid}/edit", console_page(practices.edit))
    post(base + "/practices/{gid}/edit", console_page(practices.save))
    post(base + "/practices/{gid}", console_page(practices.decide))
    get(f"{base}/outcomes", console_page(outcomes.show))
    post(f"{base}/outcomes/plan", console_page(outcomes.save_plan))
    post(f"{base}/outcomes/stage", console_page(outcomes.save_stage))
    get(f"{base}/outcomes/indicators.xlsx", console_page(outcomes.workbook))
    get(base + "/outcomes/csv/{table}.csv", console_page(outcomes.table_csv))
    get(f"{base}/applications", console_page(applications.show))
    post(base + "/applications/{aid}/accept", console_page(applications.accept))
    post(base + "/applications/{aid}/decline", console_page(applications.decline))
    get(f"{base}/settings", console_page(settings.show))
    post(f"{base}/settings", console_page(settings.save))
    post(f"{base}/settings/channels", console_page(settings.channels))
    post(f"{base}/language", console_page(settings.language))
    get(f"{base}/audit", console_page(settings.log))
