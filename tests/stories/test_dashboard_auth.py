"""Dashboard sign-in defences, over HTTP against the bot's own aiohttp application:
same-origin POSTs with a CSRF token, server-side sessions (sign-out and revocation act at
once), `peerbot coordinators revoke`, and a throttle on failed sign-ins."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from bot.app import Runtime, build
from bot.config import Settings
from bot.http import make_web_app
from bot.web import COOKIE, DASHBOARD_THROTTLE
from bot.web.auth import FailedSignIns
from tests.conftest import CONTENT
from tests.support.cli import Completed
from tests.support.cli import peerbot as run_peerbot
from tests.support.report_seed import COORD_A
from tests.support.seed_snapshot import seed_now
from tests.system.test_dashboard import _token

EVIL = "https://evil.example"


@dataclass
class Site:
    url: str
    runtime: Runtime
    app: web.Application
    database_url: str


@pytest.fixture
async def site(database_url: str) -> AsyncIterator[Site]:
    settings = Settings(database_url=database_url, PEERBOT_CONTENT_DIR=CONTENT)  # type: ignore[call-arg]
    runtime = await build(settings)
    await seed_now(runtime.sessionmaker)
    app = make_web_app(runtime)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    # port 0: the kernel picks a free port as it binds (a port probed free beforehand can be
    # taken by another process on the machine before the bind)
    await web.TCPSite(runner, "0.0.0.0", 0).start()  # noqa: S104 - loopback aliases below
    port = runner.addresses[0][1]
    try:
        yield Site(f"http://127.0.0.1:{port}", runtime, app, database_url)
    finally:
        await runner.cleanup()
        await runtime.close()


def browser(source: str = "127.0.0.1") -> aiohttp.ClientSession:
    """A client that keeps cookies for 127.0.0.1, connecting from a loopback address."""
    return aiohttp.ClientSession(
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        connector=aiohttp.TCPConnector(local_addr=(source, 0)),
    )


async def form_token(http: aiohttp.ClientSession, url: str) -> str:
    """The CSRF token of the page's POST form (what a browser would submit)."""
    async with http.get(f"{url}/dashboard") as resp:
        page = await resp.text()
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)


async def sign_in(http: aiohttp.ClientSession, site: Site, token: str) -> str:
    """Sign in through the form; returns the session cookie's value."""
    csrf = await form_token(http, site.url)
    async with http.post(
        f"{site.url}/dashboard/login",
        data={"token": token, "csrf": csrf},
        headers={"Origin": site.url},
        allow_redirects=False,
    ) as resp:
        assert resp.status == 303, await resp.text()
    cookie = http.cookie_jar.filter_cookies(URL(f"{site.url}/dashboard")).get(COOKIE)
    assert cookie is not None
    return cookie.value


async def page_of(site: Site, cookie: str) -> str:
    """What a browser holding this session cookie sees on /dashboard."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{site.url}/dashboard", headers={"Cookie": f"{COOKIE}={cookie}"}) as resp,
    ):
        return await resp.text()


def signed_in(page: str) -> bool:
    return "data-figure" in page and 'id="token"' not in page


@pytest.fixture
async def token(site: Site) -> str:
    return await asyncio.to_thread(_token, site.database_url, COORD_A)


async def test_the_form_signs_in_and_the_cookie_is_a_random_session_id(
    site: Site, token: str
) -> None:
    async with browser() as http:
        cookie = await sign_in(http, site, token)
        async with http.get(f"{site.url}/dashboard") as resp:
            page = await resp.text()
    assert signed_in(page)
    assert re.search(r'action="/dashboard/logout"><input type="hidden" name="csrf"', page)
    assert token not in cookie and "." not in cookie  # no token id, no signature: an opaque id


async def test_a_sign_in_from_another_origin_is_refused(site: Site, token: str) -> None:
    async with browser() as http:
        csrf = await form_token(http, site.url)
        async with http.post(
            f"{site.url}/dashboard/login",
            data={"token": token, "csrf": csrf},
            headers={"Origin": EVIL},
            allow_redirects=False,
        ) as resp:
            assert resp.status == 403
        assert COOKIE not in http.cookie_jar.filter_cookies(URL(f"{site.url}/dashboard"))


async def test_a_sign_in_without_the_forms_token_is_refused(site: Site, token: str) -> None:
    async with browser() as http:
        await form_token(http, site.url)  # the cookie half of the pair only
        for data, headers in (
            ({"token": token}, {"Origin": site.url}),
            ({"token": token, "csrf": "guessed"}, {"Origin": site.url}),
            ({"token": token, "csrf": await form_token(http, site.url)}, {}),  # no Origin
        ):
            async with http.post(
                f"{site.url}/dashboard/login", data=data, headers=headers, allow_redirects=False
            ) as resp:
                assert resp.status == 403, data


async def test_a_forged_sign_out_from_another_origin_changes_nothing(
    site: Site, token: str
) -> None:
    async with browser() as http:
        cookie = await sign_in(http, site, token)
        csrf = await form_token(http, site.url)  # even with the right token
        async with http.post(
            f"{site.url}/dashboard/logout",
            data={"csrf": csrf},
            headers={"Origin": EVIL},
            allow_redirects=False,
        ) as resp:
            assert resp.status == 403
        async with http.post(
            f"{site.url}/dashboard/logout", headers={"Origin": site.url}, allow_redirects=False
        ) as resp:
            assert resp.status == 403  # same origin, no CSRF token
    assert signed_in(await page_of(site, cookie))


async def test_sign_out_ends_the_session_on_the_server_at_once(site: Site, token: str) -> None:
    async with browser() as http:
        cookie = await sign_in(http, site, token)
        csrf = await form_token(http, site.url)
        async with http.post(
            f"{site.url}/dashboard/logout",
            data={"csrf": csrf},
            headers={"Origin": site.url},
            allow_redirects=False,
        ) as resp:
            assert resp.status == 303
    assert not signed_in(await page_of(site, cookie))  # a copy of the cookie is worthless


def peerbot(*args: str, database_url: str, stdin: str = "") -> Completed:
    env = {"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    return run_peerbot(*args, env=env, stdin=stdin)


async def test_revoking_a_token_signs_its_browsers_out_and_refuses_it(
    site: Site, token: str
) -> None:
    async with browser() as http:
        cookie = await sign_in(http, site, token)
    done = await asyncio.to_thread(
        peerbot, "coordinators", "revoke", "--token", "-", database_url=site.database_url,
        stdin=token + "\n",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "revoked 1 dashboard token(s)"
    assert not signed_in(await page_of(site, cookie))
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{site.url}/dashboard/report.json", headers={"Authorization": f"Bearer {token}"}
        ) as resp,
    ):
        assert resp.status == 401
    again = await asyncio.to_thread(
        peerbot, "coordinators", "revoke", "--token", token, database_url=site.database_url
    )
    assert again.returncode == 1 and "no such token" in again.stderr


async def test_revoking_by_email_revokes_every_token_of_the_coordinator(
    site: Site, token: str
) -> None:
    second = await asyncio.to_thread(_token, site.database_url, COORD_A)
    async with browser() as http:
        cookie = await sign_in(http, site, token)
    done = await asyncio.to_thread(
        peerbot, "coordinators", "revoke", "--email", COORD_A, "--json",
        database_url=site.database_url,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert '"revoked": 2' in done.stdout
    assert not signed_in(await page_of(site, cookie))
    async with aiohttp.ClientSession() as http:
        for used in (token, second):
            async with http.get(
                f"{site.url}/dashboard/report.json", headers={"Authorization": f"Bearer {used}"}
            ) as resp:
                assert resp.status == 401
    both = await asyncio.to_thread(
        peerbot, "coordinators", "revoke", database_url=site.database_url
    )
    assert both.returncode == 2 and "exactly one of --token or --email" in both.stderr


async def test_failed_sign_ins_are_throttled_per_address(site: Site, token: str) -> None:
    async with browser() as http:
        for _ in range(5):
            csrf = await form_token(http, site.url)
            async with http.post(
                f"{site.url}/dashboard/login",
                data={"token": "wrong", "csrf": csrf},
                headers={"Origin": site.url},
            ) as resp:
                assert resp.status == 401
        csrf = await form_token(http, site.url)
        async with http.post(
            f"{site.url}/dashboard/login",
            data={"token": token, "csrf": csrf},
            headers={"Origin": site.url},
            allow_redirects=False,
        ) as resp:
            assert resp.status == 429 and int(resp.headers["Retry-After"]) > 0
        async with http.get(
            f"{site.url}/dashboard/report.json", headers={"Authorization": f"Bearer {token}"}
        ) as resp:
            assert resp.status == 429  # guessing through Bearer is the same door
    async with browser("127.0.0.2") as other:  # another address is not held back
        await sign_in(other, site, token)


async def test_failed_sign_ins_are_throttled_overall(site: Site, token: str) -> None:
    throttle = site.app[DASHBOARD_THROTTLE]
    throttle.per_address, throttle.overall = 100, 3
    for n in range(3):
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(local_addr=(f"127.0.0.{10 + n}", 0))
        ) as http:
            headers = {"Authorization": "Bearer wrong"}
            async with http.get(f"{site.url}/dashboard/report.json", headers=headers) as resp:
                assert resp.status == 401
    async with browser("127.0.0.20") as fresh:
        csrf = await form_token(fresh, site.url)
        async with fresh.post(
            f"{site.url}/dashboard/login",
            data={"token": token, "csrf": csrf},
            headers={"Origin": site.url},
        ) as resp:
            assert resp.status == 429


def test_the_throttle_remembers_a_bounded_number_of_addresses() -> None:
    throttle = FailedSignIns(per_address=2, overall=10**6, window=60, max_addresses=100)
    for n in range(10_000):
        throttle.failed(f"10.0.{n // 256}.{n % 256}", now=1.0)
    assert throttle.tracked() == 100
    assert throttle.retry_after("10.0.39.15", now=2.0) == 0  # one failure: may try again
    throttle.failed("10.0.39.15", now=2.0)
    assert throttle.retry_after("10.0.39.15", now=3.0) == 59
    assert throttle.retry_after("10.0.39.15", now=61.5) == 0  # the window has moved on
