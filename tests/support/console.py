"""A running console for tests: the bot's real aiohttp application on 127.0.0.1 with the
two-programme seed of `tests.support.report_seed`, a data directory of the test's own, and signed-in
HTTP clients that post forms the way a browser does (same origin, the page's CSRF token)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.app import Runtime, build
from bot.config import Settings
from bot.http import make_web_app
from storage.uow import UnitOfWork
from tests.conftest import CONTENT
from tests.support.ports import free_port
from tests.support.report_seed import COORD_A
from tests.support.seed_snapshot import seed_now

EVIL = "https://evil.example"


@dataclass
class Site:
    url: str
    runtime: Runtime
    data_dir: Path
    database_url: str


@pytest.fixture(name="site")
async def site_fixture(database_url: str, tmp_path: Path) -> AsyncIterator[Site]:
    """The bot's web application with the seeded programmes alpha and beta."""
    data_dir = tmp_path / "data"
    settings = Settings(  # type: ignore[call-arg]
        database_url=database_url, PEERBOT_CONTENT_DIR=CONTENT, PEERBOT_DATA_DIR=data_dir
    )
    runtime = await build(settings)
    await seed_now(runtime.sessionmaker)
    runner = web.AppRunner(make_web_app(runtime), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield Site(f"http://127.0.0.1:{port}", runtime, data_dir, database_url)
    finally:
        await runner.cleanup()
        await runtime.close()


async def token_for(site: Site, email: str) -> str:
    """A dashboard token, as `peerbot coordinators token --email` issues it."""
    now = datetime.now(UTC)
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        officer = await uow.officers.by_email(email)
        assert officer is not None
        token = await uow.dashboard_tokens.issue(officer.id, now + timedelta(days=1), now)
        await uow.commit()
    return token


def csrf_in(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page[:800]
    return found.group(1)


class Browser:
    """A signed-in coordinator's browser, over real HTTP."""

    def __init__(self, site: Site, http: aiohttp.ClientSession) -> None:
        self.site = site
        self.http = http
        self._csrf: str | None = None
        """The session's CSRF token, read from the first page a POST needed it from."""

    async def get(self, path: str) -> tuple[int, str]:
        async with self.http.get(self.site.url + path, allow_redirects=False) as resp:
            return resp.status, await resp.text()

    async def csrf(self, path: str = "/dashboard/p/alpha/roster") -> str:
        status, page = await self.get(path)
        assert status == 200, (status, page[:300])
        return csrf_in(page)

    async def post(
        self,
        path: str,
        data: Any,
        *,
        csrf: str | None = "page",
        origin: str | None = "self",
        follow: bool = False,
    ) -> tuple[int, str, str]:
        """POST a form; `csrf="page"` takes the token from a console page; (status, body,
        Location)."""
        headers = {"Origin": self.site.url if origin == "self" else origin} if origin else {}
        if csrf == "page":  # one token per session: read once, not before every POST
            self._csrf = self._csrf or await self.csrf()
            csrf = self._csrf
        if csrf is not None:
            if isinstance(data, aiohttp.FormData):
                data.add_field("csrf", csrf)
            else:
                data = {**data, "csrf": csrf}
        async with self.http.post(
            self.site.url + path, data=data, headers=headers, allow_redirects=follow
        ) as resp:
            return resp.status, await resp.text(), resp.headers.get("Location", "")


async def sign_in(site: Site, email: str) -> Browser:
    """Sign in through the form with a fresh token; the caller closes `browser.http`."""
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(f"{site.url}/dashboard") as resp:
        page = await resp.text()
    token = await token_for(site, email)
    async with http.post(
        f"{site.url}/dashboard/login",
        data={"token": token, "csrf": csrf_in(page)},
        headers={"Origin": site.url},
        allow_redirects=False,
    ) as resp:
        assert resp.status == 303, await resp.text()
    return Browser(site, http)


MATCH_ROSTER = (
    "name,email,authority,country,languages,sectors,wants,offers\n"
    "Ana Novak,ana@ljubljana.si,Ljubljana,SI,en;sl,public_buildings,esco,\n"
    "Marta Ruiz,marta@sevilla.es,Sevilla,ES,en;es,public_buildings,,esco\n"
    "Jonas Berg,jonas@malmo.se,Malmö,SE,en;sv,public_lighting,epc,\n"
    "Eva Kovac,eva@kosice.sk,Košice,SK,en;sk,public_lighting,,epc\n"
    "Tomas Lind,tomas@tartu.ee,Tartu,EE,en;et,mobility,green_bond,\n"
)
"""Two learners each with a mentor for their instrument, and one nobody can help."""


@pytest.fixture(name="alice")
async def alice_fixture(site: Site) -> AsyncIterator[Browser]:
    """Alice, coordinator of programme alpha, signed in."""
    browser = await sign_in(site, COORD_A)
    try:
        yield browser
    finally:
        await browser.http.close()


async def add_practice(site: Site, email: str, title: str) -> int:
    """A practice an officer shared, waiting for review; its id."""
    from storage.models import GoodPractice

    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        officer = await uow.officers.by_email(email)
        assert officer is not None
        practice = await uow.practices.add(
            GoodPractice(
                officer_id=officer.id,
                authority_id=officer.authority_id,
                sector="public_lighting",
                instruments=["esco"],
                title=title,
                summary="LED retrofit of 12,000 street lights paid from the energy savings.",
                year=2023,
                status="pending",
            )
        )
        await uow.commit()
        return practice.id
