"""`/apply`: the public door for authorities outside the programme (no login).

An authority says who it is and what it wants to finance; coordinators accept it with
`peerbot applications accept ID`, which creates its invite. The form is strict and stores
nothing it refuses: every field is checked (clear messages in the reader's language), a
hidden honeypot field that people never fill is answered like success and dropped, and
submissions are limited per client address and overall (in this process, over an hour) and
for the whole installation (stored applications per hour, `service.APPLICATIONS_PER_HOUR`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.web.auth import FailedSignIns, client_address
from bot.web.render import TEMPLATES
from handlers.core.taxonomy import match_country
from handlers.outcomes import service

if TYPE_CHECKING:
    from bot.app import Runtime

APPLY_RUNTIME = web.AppKey("apply_runtime", object)
APPLY_LIMIT = web.AppKey("apply_limit", FailedSignIns)
PER_ADDRESS = 5
OVERALL = 100
WINDOW_SECONDS = 3600.0
MAX_BODY = 16 * 1024
FIELDS = (
    ("authority", "text"),
    ("country", "text"),
    ("contact_name", "text"),
    ("email", "email"),
    ("wants", "textarea"),
)
_pages = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"], default_for_string=True, default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


def _runtime(request: web.Request) -> Runtime:
    return request.app[APPLY_RUNTIME]  # type: ignore[return-value]


def _locale(request: web.Request, asked: str | None = None) -> str:
    t = _runtime(request).content.current.t
    wanted = request.headers.get("Accept-Language", "").split(",")[0].split(";")[0].strip()
    return t.resolve(asked or request.query.get("lang") or wanted or None)


def _page(
    request: web.Request,
    lang: str,
    *,
    status: int = 200,
    done: str | None = None,
    notice: str | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    t = _runtime(request).content.current.t

    def text(key: str, **kw: Any) -> str:
        return t(lang, f"apply.{key}", **kw)

    body = _pages.get_template("apply.html").render(
        t=text,
        lang=lang,
        fields=FIELDS,
        done=done,
        notice=notice,
        values=values or {},
        errors=errors or {},
    )
    return web.Response(
        text=body,
        status=status,
        content_type="text/html",
        headers={**HEADERS, **(headers or {})},
    )


async def apply_form(request: web.Request) -> web.Response:
    """The empty form, in the browser's language (or `?lang=`)."""
    return _page(request, _locale(request))


async def apply_submit(request: web.Request) -> web.Response:
    """Check a submission; store it only when valid, otherwise say what to fix."""
    runtime = _runtime(request)
    limit = request.app[APPLY_LIMIT]
    address = client_address(request)
    if (request.content_length or 0) > MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(MAX_BODY, request.content_length or 0, headers=HEADERS)
    posted = await request.post()
    form = {k: str(v) for k, v in posted.items() if isinstance(v, str)}
    lang = _locale(request, form.get("lang"))
    wait = limit.retry_after(address)
    if wait:
        return _page(request, lang, status=429, notice="busy", headers={"Retry-After": str(wait)})
    limit.failed(address)  # every submission counts towards the limits, good or bad
    async with runtime.core.uow() as uow:
        result = await service.submit_application(
            uow, form, lang, runtime.clock.now(), match_country
        )
        if result.status == "stored":
            await uow.commit()
    if result.status in ("stored", "ignored"):
        return _page(request, lang, done="thanks")
    if result.status == "duplicate":
        return _page(request, lang, done="duplicate")
    if result.status == "busy":
        return _page(request, lang, status=429, notice="busy", headers={"Retry-After": "3600"})
    shown = {k: v for k, v in form.items() if k in dict(FIELDS) or k == "consent"}
    return _page(request, lang, status=400, notice="fix", values=shown, errors=result.errors)


def add_apply_routes(app: web.Application, runtime: Runtime) -> None:
    """Mount the public `/apply` page on the bot's aiohttp application."""
    app[APPLY_RUNTIME] = runtime
    app[APPLY_LIMIT] = FailedSignIns(
        per_address=PER_ADDRESS, overall=OVERALL, window=WINDOW_SECONDS
    )
    app.router.add_get("/apply", apply_form)
    app.router.add_post("/apply", apply_submit)
