"""`/dashboard`: the coordinators' read-only page, served by the bot's own aiohttp server.

Sign-in takes a token from `peerbot coordinators token` (posted by the form, or sent as
`Authorization: Bearer <token>`). The form opens a server-side session: an HttpOnly,
SameSite=Strict cookie holds a random id whose hash names a `dashboard_session` row; every
request checks the session and its token are unexpired and that its officer still
coordinates something. POSTs are same-origin with a CSRF token and failed sign-ins are
throttled (bot/dashboard/auth.py). The figures are those of `handlers.report.figures.build_report`,
limited to the programmes that officer coordinates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from aiohttp import web

from bot.web.auth import (
    CSRF_COOKIE,
    CSRF_FIELD,
    FailedSignIns,
    client_address,
    csrf_matches,
    new_csrf,
    same_origin,
    secure_request,
    with_csrf,
)
from bot.web.render import render_login, render_report, translator_for
from handlers.audit.sign_in import SignedIn, by_token, close_session, open_session, session_token
from handlers.report.figures import Report
from handlers.report.service import programme_report

if TYPE_CHECKING:
    from bot.app import Runtime

COOKIE = "peerbot_dashboard"
SESSION = timedelta(hours=12)
DASHBOARD_RUNTIME = web.AppKey("dashboard_runtime", object)
DASHBOARD_THROTTLE = web.AppKey("dashboard_throttle", FailedSignIns)
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on the
    # dashboard's own form POSTs, and the origin check needs the real one
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


@dataclass
class Viewer:
    """A signed-in coordinator and the programmes they may see."""

    officer: SignedIn
    programme_ids: set[int]
    token_id: int
    csrf: str | None = None  # the session's CSRF token (None for a Bearer request)


def _runtime(request: web.Request) -> Runtime:
    return request.app[DASHBOARD_RUNTIME]  # type: ignore[return-value]


def _throttle(request: web.Request) -> FailedSignIns:
    return request.app[DASHBOARD_THROTTLE]


async def _viewer(
    runtime: Runtime, token: str | None = None, token_id: int | None = None
) -> Viewer | None:
    """The coordinator behind a token (or a token row), or None."""
    async with runtime.core.uow() as uow:
        found = await by_token(uow, runtime.clock.now(), token, token_id)
    return Viewer(found.officer, found.programme_ids, found.token_id) if found else None


async def authenticate(request: web.Request) -> Viewer | None:
    """The viewer of a request, from `Authorization: Bearer` or the session cookie.

    A wrong Bearer token counts as a failed sign-in; past the throttle's limit the answer
    is 429 before any token is looked at."""
    runtime = _runtime(request)
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        _refuse_if_throttled(request)
        viewer = await _viewer(runtime, token=auth[7:].strip())
        if viewer is None:
            _throttle(request).failed(client_address(request))
        return viewer
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    async with runtime.core.uow() as uow:
        session = await session_token(uow, cookie, runtime.clock.now())
    if session is None:
        return None
    viewer = await _viewer(runtime, token_id=session[0])
    if viewer is not None:
        viewer.csrf = session[1]
    return viewer


def _refuse_if_throttled(request: web.Request) -> None:
    wait = _throttle(request).retry_after(client_address(request))
    if wait:
        raise web.HTTPTooManyRequests(
            text="Too many failed sign-ins; try again later.",
            headers={**HEADERS, "Retry-After": str(wait)},
        )


def _check_post(request: web.Request, form_csrf: object, expected: str | None) -> None:
    """Refuse a POST from another origin or without the right CSRF token (403)."""
    if not same_origin(request) or not csrf_matches(expected, form_csrf):
        raise web.HTTPForbidden(text="This form has expired; reload the page.", headers=HEADERS)


def _html(body: str, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type="text/html", headers=HEADERS)


async def _report(runtime: Runtime, viewer: Viewer, slug: str | None) -> Report | None:
    """The viewer's figures, optionally for one of their programmes (None if not theirs)."""
    async with runtime.core.uow() as uow:
        return await programme_report(uow, viewer.programme_ids, slug, runtime.clock.now())


def _locale(request: web.Request, viewer: Viewer | None = None) -> str:
    """The viewer's profile language, else the browser's first choice, else English."""
    content = _runtime(request).content.current
    wanted = request.headers.get("Accept-Language", "").split(",")[0].split(";")[0].strip()
    return content.t.resolve((viewer.officer.locale if viewer else None) or wanted or None)


def _login_page(request: web.Request, failed: bool) -> web.Response:
    """The sign-in form, with its CSRF token in a hidden field and in a cookie (the browser's
    token is kept, so two open sign-in tabs both work)."""
    t = _runtime(request).content.current.t
    lang = _locale(request)
    kept = request.cookies.get(CSRF_COOKIE, "")
    csrf = kept if re.fullmatch(r"[A-Za-z0-9_-]{43}", kept) else new_csrf()
    page = with_csrf(render_login(translator_for(t, lang), failed, lang), csrf)
    response = _html(page, 401 if failed else 200)
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        path="/dashboard",
        httponly=True,
        samesite="Strict",
        secure=secure_request(request),
    )
    return response


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
    return _html(with_csrf(page, viewer.csrf) if viewer.csrf else page)


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
    """Check a posted token (same origin, CSRF, throttle); on success a new server-side
    session, its cookie, and back to the page."""
    runtime = _runtime(request)
    _refuse_if_throttled(request)
    form = await request.post()
    _check_post(request, form.get(CSRF_FIELD), request.cookies.get(CSRF_COOKIE))
    token = str(form.get("token", "")).strip()
    viewer = await _viewer(runtime, token=token) if token else None
    if viewer is None:
        _throttle(request).failed(client_address(request))
        return _login_page(request, failed=True)
    now = runtime.clock.now()
    async with runtime.core.uow() as uow:
        cookie, until = await open_session(uow, viewer.token_id, now, SESSION)
    lifetime = max(int((until - now).total_seconds()), 0)
    moved = web.HTTPSeeOther("/dashboard", headers=HEADERS)
    moved.set_cookie(
        COOKIE,
        cookie,
        max_age=lifetime,
        path="/dashboard",
        httponly=True,
        samesite="Strict",
        secure=secure_request(request),
    )
    moved.del_cookie(CSRF_COOKIE, path="/dashboard")
    raise moved


async def logout(request: web.Request) -> web.Response:
    """End the session on the server (same origin, the session's CSRF token) and drop the
    cookie; the cookie is worthless from then on, wherever a copy of it is."""
    runtime = _runtime(request)
    form = await request.post()
    cookie = request.cookies.get(COOKIE, "")
    async with runtime.core.uow() as uow:
        session = await session_token(uow, cookie, runtime.clock.now()) if cookie else None
        if session is not None:
            _check_post(request, form.get(CSRF_FIELD), session[1])
            await close_session(uow, cookie)
    moved = web.HTTPSeeOther("/dashboard", headers=HEADERS)
    moved.del_cookie(COOKIE, path="/dashboard")
    raise moved


def add_dashboard_routes(app: web.Application, runtime: Runtime) -> None:
    """Mount `/dashboard` (page, sign-in, sign-out, JSON) on the bot's aiohttp application."""
    app[DASHBOARD_RUNTIME] = runtime
    app[DASHBOARD_THROTTLE] = FailedSignIns()
    app.router.add_get("/dashboard", dashboard)
    app.router.add_get("/dashboard/report.json", report_json)
    app.router.add_post("/dashboard/login", login)
    app.router.add_post("/dashboard/logout", logout)
    from bot.web.console import add_console_routes

    add_console_routes(app, runtime)
