"""What every console page shares: the signed-in coordinator, the programme of the URL (404
unless they coordinate it), the POST checks (same origin, the session's CSRF token), the
coordinator's language and the templates.

The programme is part of every console URL (`/dashboard/p/<slug>/…`) and every service call
gets it together with the coordinator, so no URL reaches another programme's data: the page
answers 404 before anything is read, and the service checks again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, select_autoescape
from multidict import MultiDictProxy

from bot.web import DASHBOARD_RUNTIME, HEADERS, Viewer, authenticate
from bot.web.auth import CSRF_FIELD, csrf_matches, same_origin, with_csrf
from handlers.audit.service import Coordinator, NotAllowed, UnitOfWork
from handlers.core.content import Content
from handlers.programmes.service import coordinated

if TYPE_CHECKING:
    from bot.app import Runtime

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
UI_LANGS = ("en", "fr", "de", "es", "it")
LANG_COOKIE = "peerbot_console_lang"
PAGE_HEADERS = {
    **HEADERS,
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data: 'self'; "
        "script-src 'self'; connect-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}
NAV = (
    "roster",
    "matching",
    "pairs",
    "cycles",
    "questions",
    "announcements",
    "surveys",
    "practices",
    "outcomes",
    "applications",
    "settings",
    "audit",
)

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"], default_for_string=True, default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass
class Page:
    """One console request: who, which programme, in which language."""

    request: web.Request
    runtime: Runtime
    viewer: Viewer
    who: Coordinator
    programme_id: int
    slug: str
    name: str
    programmes: list[tuple[str, str]]
    locale: str
    content: Content

    def t(self, key: str, **values: Any) -> str:
        """A `console.*` message in the coordinator's language."""
        return self.content.t(self.locale, f"console.{key}", **values)

    def url(self, page: str = "") -> str:
        return f"/dashboard/p/{self.slug}/{page}".rstrip("/")

    def now(self) -> Any:
        return self.runtime.clock.now()

    def uow(self) -> UnitOfWork:
        return self.runtime.core.uow()


def runtime_of(request: web.Request) -> Runtime:
    return request.app[DASHBOARD_RUNTIME]  # type: ignore[return-value]


def _locale(request: web.Request, viewer: Viewer, content: Content) -> str:
    """The language chosen in the console, else the coordinator's, else the browser's."""
    chosen = request.cookies.get(LANG_COOKIE, "")
    if chosen in UI_LANGS:
        return chosen
    wanted = request.headers.get("Accept-Language", "").split(",")[0].split(";")[0].strip()
    return content.t.resolve(viewer.officer.locale or wanted or None)


async def open_page(request: web.Request) -> Page:
    """The page's context; signed-out visitors go to the sign-in page, another programme's
    URL is 404."""
    runtime = runtime_of(request)
    viewer = await authenticate(request)
    if viewer is None:
        raise web.HTTPSeeOther("/dashboard", headers=HEADERS)
    slug = request.match_info.get("slug", "")
    who = Coordinator(viewer.officer.id, frozenset(viewer.programme_ids))
    async with runtime.core.uow() as uow:
        mine = await coordinated(uow, who)
    found = next((p for p in mine if p.slug == slug), None)
    if found is None:
        raise web.HTTPNotFound(text="Not found", headers=HEADERS)
    content = runtime.content.for_programme(found.slug)
    return Page(
        request=request,
        runtime=runtime,
        viewer=viewer,
        who=who,
        programme_id=found.id,
        slug=found.slug,
        name=found.name,
        programmes=[(p.slug, p.name) for p in mine],
        locale=_locale(request, viewer, content),
        content=content,
    )


async def posted(page: Page) -> MultiDictProxy[Any]:
    """The posted form, once the POST is known to come from the console itself with the
    session's CSRF token (403 otherwise; a Bearer client has no session, so no form POST)."""
    form = await page.request.post()
    if not same_origin(page.request) or not csrf_matches(page.viewer.csrf, form.get(CSRF_FIELD)):
        raise web.HTTPForbidden(text="This form has expired; reload the page.", headers=HEADERS)
    return form


def render(page: Page, template: str, status: int = 200, **values: Any) -> web.Response:
    """A console page: the layout with navigation, every POST form with the CSRF token."""
    html = _env.get_template(f"console/{template}").render(
        p=page, t=page.t, nav=NAV, langs=UI_LANGS, lang=page.locale, **values
    )
    if page.viewer.csrf:
        html = with_csrf(html, page.viewer.csrf)
    return web.Response(text=html, status=status, content_type="text/html", headers=PAGE_HEADERS)


def see_other(page: Page, where: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(page.url(where), headers=HEADERS)


Handler = Callable[[Page], Awaitable[web.StreamResponse]]


def console_page(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """An aiohttp handler from a page function: context first; `NotAllowed` from a service
    (a pair, question or announcement of another programme) is 404."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        page = await open_page(request)
        try:
            return await handler(page)
        except NotAllowed:
            raise web.HTTPNotFound(text="Not found", headers=HEADERS) from None

    wrapped.__name__ = handler.__name__
    wrapped.__doc__ = handler.__doc__
    return wrapped
