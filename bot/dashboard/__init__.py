"""`/dashboard`: the coordinators' read-only page, served by the bot's own aiohttp server.

Sign-in takes a token from `peerbot coordinators token` (posted by the form, or sent as
`Authorization: Bearer <token>`). The form sets an HttpOnly, SameSite=Strict cookie that
names the token row and is signed with the installation's secret; every request checks the
row is unexpired and that its officer still coordinates something. The figures are those of
`handlers.report.build_report`, limited to the programmes that officer coordinates.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from aiohttp import web

from bot.dashboard.render import render_login, render_report, translator_for
from handlers.report import Report, build_report
from storage.models import Officer
from storage.repositories.dashboard import DashboardTokenRepo
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.app import Runtime

COOKIE = "peerbot_dashboard"
SESSION = timedelta(hours=12)
DASHBOARD_RUNTIME = web.AppKey("dashboard_runtime", object)
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


@dataclass
class Viewer:
    """A signed-in coordinator and the programmes they may see."""

    officer: Officer
    programme_ids: set[int]
    token_id: int


def _runtime(request: web.Request) -> Runtime:
    return request.app[DASHBOARD_RUNTIME]  # type: ignore[return-value]


def _sign(secret: bytes, token_id: int, expires: int) -> str:
    body = f"{token_id}.{expires}"
    mac = hmac.new(secret, f"dashboard:{body}".encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def _unsign(secret: bytes, value: str) -> int | None:
    """The token id of a valid, unexpired session cookie."""
    parts = value.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    token_id, expires = int(parts[0]), int(parts[1])
    if not hmac.compare_digest(_sign(secret, token_id, expires), value):
        return None
    return token_id if expires > time.time() else None


async def _viewer(
    runtime: Runtime, token: str | None = None, token_id: int | None = None
) -> Viewer | None:
    """The coordinator behind a token (or a token row), or None."""
    now = runtime.clock.now()
    async with UnitOfWork(runtime.sessionmaker) as uow:
        repo = uow.get(DashboardTokenRepo)
        row = await repo.valid(token, now) if token else None
        if row is None and token_id is not None:
            row = await repo.get_valid(token_id, now)
        officer = await uow.officers.get(row.officer_id) if row else None
        if row is None or officer is None:
            return None
        ids = await uow.officers.coordinated_programme_ids(officer)
        if not ids:
            return None
        row.last_used_at = now
        await uow.commit()
        return Viewer(officer, ids, row.id)


async def authenticate(request: web.Request) -> Viewer | None:
    """The viewer of a request, from `Authorization: Bearer` or the session cookie."""
    runtime = _runtime(request)
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        return await _viewer(runtime, token=auth[7:].strip())
    cookie = request.cookies.get(COOKIE)
    token_id = _unsign(runtime.core.secret, cookie) if cookie else None
    return await _viewer(runtime, token_id=token_id) if token_id is not None else None


def _html(body: str, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type="text/html", headers=HEADERS)


async def _report(runtime: Runtime, viewer: Viewer, slug: str | None) -> Report | None:
    """The viewer's figures, optionally for one of their programmes (None if not theirs)."""
    async with UnitOfWork(runtime.sessionmaker) as uow:
        ids = viewer.programme_ids
        if slug:
            programme = await uow.programmes.by_slug(slug)
            if programme is None or programme.id not in ids:
                return None
            ids = {programme.id}
        return await build_report(uow, ids, runtime.clock.now())


def _locale(request: web.Request, viewer: Viewer | None = None) -> str:
    """The viewer's profile language, else the browser's first choice, else English."""
    content = _runtime(request).content.current
    wanted = request.headers.get("Accept-Language", "").split(",")[0].split(";")[0].strip()
    return content.t.resolve((viewer.officer.locale if viewer else None) or wanted or None)


def _login_page(request: web.Request, failed: bool) -> web.Response:
    t = _runtime(request).content.current.t
    lang = _locale(request)
    page = render_login(translator_for(t, lang), failed, lang)
    return _html(page, 401 if failed else 200)


async def dashboard(request: web.Request) -> web.Response:
    """The dashboard page, or the sign-in form (401 after a wrong bearer token)."""
    runtime = _runtime(request)
    viewer = await authenticate(request)
    if viewer is None:
        return _login_page(request, failed="Authorization" in request.headers)
    report = await _report(runtime, viewer, request.query.get("programme"))
    if report is None:
        raise web.HTTPNotFound(headers=HEADERS)
    content = runtime.content.current
    locale = _locale(request, viewer)
    page = render_report(
        report,
        translator_for(content.t, locale),
        lambda code: content.taxonomy.label("sectors", code, locale),
        signed_in=True,
        lang=locale,
    )
    return _html(page)


async def report_json(request: web.Request) -> web.Response:
    """The same figures as JSON (what `peerbot report --json` prints for these programmes)."""
    runtime = _runtime(request)
    viewer = await authenticate(request)
    if viewer is None:
        return web.json_response({"error": "unauthorized"}, status=401, headers=HEADERS)
    report = await _report(runtime, viewer, request.query.get("programme"))
    if report is None:
        return web.json_response({"error": "not found"}, status=404, headers=HEADERS)
    return web.json_response(report.to_json(), headers=HEADERS)


async def login(request: web.Request) -> web.Response:
    """Check a posted token; on success a signed session cookie and back to the page."""
    runtime = _runtime(request)
    form = await request.post()
    token = str(form.get("token", "")).strip()
    viewer = await _viewer(runtime, token=token) if token else None
    if viewer is None:
        return _login_page(request, failed=True)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        row = await uow.get(DashboardTokenRepo).get_valid(viewer.token_id, runtime.clock.now())
        expires_at = row.expires_at if row else runtime.clock.now()
    until = min(expires_at, runtime.clock.now() + SESSION)
    lifetime = max(int((until - runtime.clock.now()).total_seconds()), 0)
    expires = int(time.time()) + lifetime
    moved = web.HTTPSeeOther("/dashboard", headers=HEADERS)
    moved.set_cookie(
        COOKIE,
        _sign(runtime.core.secret, viewer.token_id, expires),
        max_age=lifetime,
        path="/dashboard",
        httponly=True,
        samesite="Strict",
        secure=request.secure or request.headers.get("X-Forwarded-Proto") == "https",
    )
    raise moved


async def logout(request: web.Request) -> web.Response:
    """Forget the session cookie."""
    moved = web.HTTPSeeOther("/dashboard", headers=HEADERS)
    moved.del_cookie(COOKIE, path="/dashboard")
    raise moved


def add_dashboard_routes(app: web.Application, runtime: Runtime) -> None:
    """Mount `/dashboard` (page, sign-in, sign-out, JSON) on the bot's aiohttp application."""
    app[DASHBOARD_RUNTIME] = runtime
    app.router.add_get("/dashboard", dashboard)
    app.router.add_get("/dashboard/report.json", report_json)
    app.router.add_post("/dashboard/login", login)
    app.router.add_post("/dashboard/logout", logout)
