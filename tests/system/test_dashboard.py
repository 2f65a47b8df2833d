"""`/dashboard` in a real headless Chromium (Debian's chromium + chromedriver, via Selenium).

The page is served by the bot's own aiohttp application on 127.0.0.1; the coordinator signs
in with a token from `peerbot coordinators token`; the figures on the page must be those of
`peerbot report --json`, and the charts must have drawn (SVG bars with a size, and coloured
pixels in the screenshot where the charts are).
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.app import Runtime, build
from bot.config import Settings
from bot.http import make_web_app
from bot.web.render import CHARTED
from handlers.pairing.view import STATES
from tests.conftest import CONTENT
from tests.stories.test_report import peerbot
from tests.support.report_seed import BETA_SECRETS, COORD_A, COORD_B, EXPECTED_ALPHA, summary
from tests.support.seed_snapshot import seed_now

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
BAR_RGB = (0x1F, 0x6F, 0xB2)


def _browser_or_skip() -> None:
    present = Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()
    try:
        import selenium  # noqa: F401
    except ImportError:
        present = False
    if present:
        return
    if os.environ.get("PEERBOT_REQUIRE_BROWSER"):
        pytest.fail("PEERBOT_REQUIRE_BROWSER is set but chromium/chromedriver/selenium is missing")
    pytest.skip("no chromium + chromedriver (apt-get install chromium chromium-driver)")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    url: str
    runtime: Runtime


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[Served]:
    """The real web app (system clock) on a free local port, with seeded data."""
    settings = Settings(database_url=database_url, PEERBOT_CONTENT_DIR=CONTENT)  # type: ignore[call-arg]
    runtime = await build(settings)
    await seed_now(runtime.sessionmaker)
    runner = web.AppRunner(make_web_app(runtime), access_log=None)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield Served(f"http://127.0.0.1:{port}", runtime)
    finally:
        await runner.cleanup()
        await runtime.close()


def _token(database_url: str, email: str) -> str:
    done = peerbot("coordinators", "token", "--email", email, database_url=database_url)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _driver() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,4200",
        "--force-device-scale-factor=1",
        "--hide-scrollbars",
    ):
        options.add_argument(arg)
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


def _browse(url: str, token: str, wrong: str) -> dict[str, Any]:
    """Everything the test checks, read from the browser (runs in a worker thread)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def navigated(action: Any) -> None:
        """Do something that loads a new page and wait until the new document is complete."""
        driver.execute_script("window.__peerbotOld = true")
        action()
        WebDriverWait(driver, 30, ignored_exceptions=(WebDriverException,)).until(
            lambda d: d.execute_script(
                "return !window.__peerbotOld && document.readyState === 'complete'"
            )
        )

    def submit(token: str) -> None:
        driver.find_element(By.ID, "token").send_keys(token)
        navigated(driver.find_element(By.ID, "login-submit").click)

    seen: dict[str, Any] = {}
    driver = _driver()
    try:
        driver.get(f"{url}/dashboard")
        seen["login_form"] = bool(driver.find_elements(By.ID, "token"))
        submit(wrong)
        seen["wrong_error"] = bool(driver.find_elements(By.ID, "login-failed"))
        seen["wrong_figures"] = len(driver.find_elements(By.CSS_SELECTOR, "[data-figure]"))
        seen["wrong_cookies"] = driver.get_cookies()

        submit(token)
        seen["cookies"] = driver.get_cookies()
        seen["page_text"] = driver.find_element(By.TAG_NAME, "body").text
        seen["figures"] = {
            e.get_attribute("data-figure"): e.text
            for e in driver.find_elements(By.CSS_SELECTOR, "[data-figure]")
        }
        summary_el = driver.find_element(By.CSS_SELECTOR, '[data-figure="checkins_summary"]')
        seen["asked"] = summary_el.get_attribute("data-asked")
        seen["answered"] = summary_el.get_attribute("data-answered")
        seen["bars"] = [
            {
                "chart": e.get_attribute("data-chart"),
                "key": e.get_attribute("data-key"),
                "value": int(e.get_attribute("data-value") or 0),
                "size": e.size,
            }
            for e in driver.find_elements(By.CSS_SELECTOR, "rect.bar")
        ]
        seen["charts"] = {
            e.get_attribute("data-chart"): e.rect
            for e in driver.find_elements(By.CSS_SELECTOR, "svg.chart")
        }
        seen["unanswered"] = [
            (
                r.find_element(By.CSS_SELECTOR, "td.q").text,
                int(r.find_element(By.CSS_SELECTOR, "td.count").text),
            )
            for r in driver.find_elements(By.CSS_SELECTOR, "#unanswered tbody tr")
        ]
        seen["announcements"] = [
            {
                k: int(r.find_element(By.CSS_SELECTOR, f'[data-k="{k}"]').text)
                for k in ("total", "sent", "pending", "failed", "undeliverable")
            }
            | {"id": int(r.get_attribute("data-announcement") or 0)}
            for r in driver.find_elements(By.CSS_SELECTOR, "tr[data-announcement]")
        ]
        seen["scroll"] = driver.execute_script("return [window.scrollX, window.scrollY]")
        seen["png"] = driver.get_screenshot_as_png()

        driver.get(f"{url}/dashboard/report.json")
        seen["json"] = json.loads(driver.find_element(By.TAG_NAME, "body").text)
        driver.get(f"{url}/dashboard/report.json?programme=beta")
        seen["beta_json"] = driver.find_element(By.TAG_NAME, "body").text

        driver.get(f"{url}/dashboard")
        navigated(driver.find_element(By.CSS_SELECTOR, "form.logout button").click)
        seen["after_logout"] = bool(driver.find_elements(By.ID, "token"))
    finally:
        driver.quit()
    return seen


def _coloured_pixels(png: bytes, rect: dict[str, float]) -> tuple[int, int]:
    """(non-white pixels, pixels of the bar colour) inside a chart's box in the screenshot."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    box = (
        int(rect["x"]),
        int(rect["y"]),
        int(rect["x"] + rect["width"]),
        int(rect["y"] + rect["height"]),
    )
    assert box[3] <= image.height, f"chart at {box} is below the {image.height}px screenshot"
    crop = image.crop(box)
    raw = crop.tobytes()
    pixels = [tuple(raw[i : i + 3]) for i in range(0, len(raw), 3)]
    ink = sum(1 for p in pixels if p != (255, 255, 255))
    bar = sum(1 for p in pixels if all(abs(a - b) <= 8 for a, b in zip(p, BAR_RGB, strict=True)))
    return ink, bar


@pytest.mark.slow
async def test_the_dashboard_in_a_real_browser_shows_the_report_figures(
    served: Served, database_url: str
) -> None:
    _browser_or_skip()
    token = await asyncio.to_thread(_token, database_url, COORD_A)
    other = await asyncio.to_thread(_token, database_url, COORD_B)
    cli = await asyncio.to_thread(
        peerbot, "report", "--json", "--programme", "alpha", database_url=database_url
    )
    assert cli.returncode == 0, cli.stderr
    expected = json.loads(cli.stdout)
    assert summary(expected) == EXPECTED_ALPHA

    seen = await asyncio.to_thread(_browse, served.url, token, other + "x")

    # Sign-in: a form; a wrong token shows the error and no figure, and opens no session (the
    # sign-in form's own CSRF cookie stays, and goes once signed in).
    assert seen["login_form"] and seen["wrong_error"] and seen["wrong_figures"] == 0
    assert [c["name"] for c in seen["wrong_cookies"]] == ["peerbot_csrf"]
    (cookie,) = seen["cookies"]
    assert cookie["name"] != "peerbot_csrf"
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert token not in cookie["value"]

    # The same figures as `peerbot report --json --programme alpha`.
    assert seen["json"]["programmes"] == expected["programmes"]
    assert summary(seen["json"]) == summary(expected)
    figures = seen["figures"]
    assert int(figures["participants"]) == expected["participants"]
    for state in STATES:
        assert int(figures[f"pairs_now.{state}"]) == expected["pairs_now"][state]
    assert figures["checkin_answer_rate"] == f"{expected['checkin_answer_rate'] * 100:.0f}%"
    assert (int(seen["asked"]), int(seen["answered"])) == (
        expected["checkins_asked"],
        expected["checkins_answered"],
    )
    assert int(figures["faq_total"]) == expected["faq_total"]

    def bars(chart: str) -> list[tuple[str, int]]:
        return [(b["key"], b["value"]) for b in seen["bars"] if b["chart"] == chart]

    for chart in ("by_country", "by_sector", "by_platform"):
        assert bars(chart) == [(c["key"], c["count"]) for c in expected[chart]]
    assert bars("faq_by_day") == [
        (d["key"][5:] + "/bar", d["count"]) for d in expected["faq_by_day"] if d["count"]
    ]
    assert bars("pairs_by_week") == [
        (f"{w['week']}/{h}", w[h]) for w in expected["pairs_by_week"] for h in CHARTED if w[h]
    ]
    assert seen["unanswered"] == [
        (
            q["text"] + (" ⚑ escalated" if q["escalated"] else ""),
            q["count"],
        )
        for q in expected["top_unanswered"]
    ]
    assert seen["announcements"] == [
        {k: a[k] for k in ("id", "total", "sent", "pending", "failed", "undeliverable")}
        for a in expected["announcements"]
    ]

    # Isolation: nothing of beta on alpha's page, and beta's figures are refused.
    assert not [s for s in BETA_SECRETS if s in seen["page_text"]]
    assert "not found" in seen["beta_json"]

    # The charts have drawn: every bar has a size, and the screenshot has ink where they are.
    assert seen["bars"] and all(
        b["size"]["width"] > 0 and b["size"]["height"] > 0 for b in seen["bars"]
    )
    assert seen["scroll"] == [0, 0]
    assert set(seen["charts"]) == {
        "by_country",
        "by_sector",
        "by_platform",
        "pairs_by_week",
        "checkins_by_week",
        "faq_by_day",
    }
    for chart in ("by_country", "by_sector", "by_platform", "faq_by_day"):
        ink, bar = _coloured_pixels(seen["png"], seen["charts"][chart])
        assert bar > 300, f"{chart}: only {bar} bar-coloured pixels ({ink} non-white)"
    ink, _ = _coloured_pixels(seen["png"], seen["charts"]["pairs_by_week"])
    assert ink > 2000
    shot = os.environ.get("PEERBOT_SCREENSHOT")
    if shot:
        await asyncio.to_thread(Path(shot).write_bytes, seen["png"])
    assert seen["after_logout"]


async def test_wrong_or_missing_credentials_get_401_and_no_data(served: Served) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{served.url}/dashboard") as resp:
            page = await resp.text()
            assert resp.status == 200 and 'id="token"' in page and "data-figure" not in page
        csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]  # the form's token
        bad = {"Authorization": "Bearer not-a-token"}
        async with http.get(f"{served.url}/dashboard", headers=bad) as resp:
            page = await resp.text()
            assert resp.status == 401 and "data-figure" not in page
        async with http.get(f"{served.url}/dashboard/report.json", headers=bad) as resp:
            assert resp.status == 401
        async with http.post(
            f"{served.url}/dashboard/login",
            data={"token": "nope", "csrf": csrf},
            headers={"Origin": served.url},
        ) as resp:
            page = await resp.text()
            assert resp.status == 401 and "login-failed" in page and "Alpha" not in page
        forged = {"Cookie": "peerbot_dashboard=1.99999999999.deadbeef"}
        async with http.get(f"{served.url}/dashboard/report.json", headers=forged) as resp:
            assert resp.status == 401


async def test_a_bearer_token_shows_only_its_programmes(served: Served, database_url: str) -> None:
    token = await asyncio.to_thread(_token, database_url, COORD_B)
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{served.url}/dashboard/report.json", headers=headers) as resp:
            assert resp.status == 200
            beta = await resp.json()
        async with http.get(f"{served.url}/dashboard", headers=headers) as resp:
            page = await resp.text()
            assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
        async with http.get(
            f"{served.url}/dashboard/report.json?programme=alpha", headers=headers
        ) as resp:
            assert resp.status == 404
    assert [p["slug"] for p in beta["programmes"]] == ["beta"]
    for alpha_only in ("ESCO", "ELENA", "Alpha kick-off", "Ghent", "Milano"):
        assert alpha_only not in page and alpha_only not in json.dumps(beta)
