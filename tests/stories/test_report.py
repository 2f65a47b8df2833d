"""The coordinators' figures (`handlers/report.py`), `peerbot report` and dashboard tokens."""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import Runtime
from handlers.report.figures import build_report, week_ends
from storage.repositories.dashboard import token_hash
from storage.uow import UnitOfWork
from tests.support.cli import Completed
from tests.support.cli import peerbot as run_peerbot
from tests.support.paths import REPO_ROOT
from tests.support.report_seed import (
    BETA_SECRETS,
    COORD_A,
    COORD_B,
    EXPECTED_ALPHA,
    PLAIN,
    seed,
    summary,
)
from tests.support.seed_snapshot import seed_now

ROOT = REPO_ROOT


def peerbot(*args: str, database_url: str) -> Completed:
    return run_peerbot(*args, env={"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"})


async def coordinated(runtime: Runtime, email: str) -> set[int]:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        officer = await uow.officers.by_email(email)
        assert officer is not None
        return await uow.officers.coordinated_programme_ids(officer)


async def test_figures_of_a_programme_match_the_seeded_rows(runtime: Runtime) -> None:
    now = runtime.clock.now()
    async with UnitOfWork(runtime.sessionmaker) as uow:
        await seed(uow, now)
    ids = await coordinated(runtime, COORD_A)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        report = (await build_report(uow, ids, now)).to_json()
    assert summary(report) == EXPECTED_ALPHA
    assert [p["slug"] for p in report["programmes"]] == ["alpha"]
    # FAQ per day: 30 days ending today; the picked suggestion and the 40-day-old one left out.
    days = {d["key"]: d["count"] for d in report["faq_by_day"]}
    assert len(days) == 30 and sum(days.values()) == 5
    assert days["2026-11-23"] == 3 and days["2026-11-22"] == 1 and days["2026-11-21"] == 1


async def test_pair_health_week_by_week_is_rebuilt_as_it_stood(runtime: Runtime) -> None:
    now = runtime.clock.now()  # Tuesday 2026-11-24 10:00 UTC, ISO week 48
    async with UnitOfWork(runtime.sessionmaker) as uow:
        await seed(uow, now)
        report = (await build_report(uow, await _alpha(uow), now)).to_json()
    weeks = {w["week"]: (w["active"], w["stalled"], w["closed"]) for w in report["pairs_by_week"]}
    assert list(weeks) == [f"2026-W{n}" for n in range(37, 49)]
    assert weeks["2026-W37"] == (1, 0, 0)  # only the pair closed later existed, active
    assert weeks["2026-W45"] == (3, 0, 1)  # "stuck" answered a day after that week ended
    assert weeks["2026-W46"] == (1, 2, 1)  # two silent check-ins; the "stuck" answer
    assert weeks["2026-W48"] == (1, 2, 1)  # this week: the pairs as they are now
    assert report["pairs_by_week"][-1]["at"] == now.isoformat()
    states = {
        w["week"]: (w["proposed"], w["rejected"], w["introduced"], w["declined"])
        for w in report["pairs_by_week"]
    }
    assert states["2026-W44"] == (0, 0, 0, 0)
    assert states["2026-W45"] == (0, 1, 0, 0)  # rejected 2026-11-05; declined pair not yet made
    assert states["2026-W46"] == (0, 1, 0, 1)  # introduced 11-10, declined by its mentor 11-14
    assert states["2026-W47"] == (0, 1, 1, 1)  # introduced 11-22, the mentor has not answered
    assert states["2026-W48"] == (1, 1, 1, 1)  # and yesterday's proposal
    assert report["introductions_waiting"] == {"one": 1, "both": 0}
    checkins = {w["week"]: (w["asked"], w["answered"]) for w in report["checkins_by_week"]}
    assert sum(a for a, _ in checkins.values()) == 6
    assert checkins["2026-W39"] == (1, 1)  # the closed pair's, due 2026-09-24
    assert checkins["2026-W45"] == (2, 1)  # one silent; one due Sunday 2026-11-08, "stuck"


async def _alpha(uow: UnitOfWork) -> set[int]:
    alpha = await uow.programmes.by_slug("alpha")
    assert alpha is not None
    return {alpha.id}


def test_week_ends_are_twelve_iso_weeks_ending_now() -> None:
    now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    ends = week_ends(now)
    assert len(ends) == 12 and ends[-1] == ("2026-W48", now)
    assert ends[-2] == ("2026-W47", datetime(2026, 11, 23, tzinfo=UTC))


async def test_a_coordinator_of_one_programme_sees_nothing_of_another(runtime: Runtime) -> None:
    now = runtime.clock.now()
    async with UnitOfWork(runtime.sessionmaker) as uow:
        await seed(uow, now)
    alpha_ids, beta_ids = await coordinated(runtime, COORD_A), await coordinated(runtime, COORD_B)
    assert alpha_ids.isdisjoint(beta_ids)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        alpha = (await build_report(uow, alpha_ids, now)).to_json()
        beta = (await build_report(uow, beta_ids, now)).to_json()
    text = json.dumps(alpha)
    assert not [s for s in BETA_SECRETS if s in text]
    assert {c["key"] for c in alpha["by_country"]}.isdisjoint({"ES", "HR"})
    # Beta: its two officers plus Lena, who belongs to both; its own pair, question, announcement.
    assert beta["participants"] == 3
    assert {c["key"] for c in beta["by_country"]} == {"ES", "HR", "DE"}
    assert {k: n for k, n in beta["pairs_now"].items() if n} == {"stalled": 1}
    assert (beta["checkins_asked"], beta["checkins_answered"]) == (2, 0)
    assert [(q["text"], q["count"]) for q in beta["top_unanswered"]] == [
        ("Beta secret question", 2)
    ]
    assert beta["faq_total"] == 2
    assert [a["text"] for a in beta["announcements"]] == ["Beta-only announcement"]
    beta_text = json.dumps(beta)
    for alpha_only in ("ESCO", "ELENA", "Anonymous", "Alpha kick-off", "Ghent", "Milano"):
        assert alpha_only not in beta_text
    # A plain officer coordinates nothing, and nothing is what an empty scope shows.
    async with UnitOfWork(runtime.sessionmaker) as uow:
        empty = (await build_report(uow, set(), now)).to_json()
    assert await coordinated(runtime, PLAIN) == set()
    assert empty["participants"] == 0 and empty["announcements"] == []
    assert empty["top_unanswered"] == [] and empty["pairs_now"]["stalled"] == 0


async def test_tokens_are_stored_hashed_and_expire(runtime: Runtime) -> None:
    now = runtime.clock.now()
    async with UnitOfWork(runtime.sessionmaker) as uow:
        await seed(uow, now)
        officer = await uow.officers.by_email(COORD_A)
        assert officer is not None
        repo = uow.dashboard_tokens
        token = await repo.issue(officer.id, now.replace(day=25), now)
        row = await repo.valid(token, now)
        assert row is not None and row.token_hash == token_hash(token) != token
        assert await repo.valid(token + "x", now) is None
        assert await repo.valid(token, now.replace(day=26)) is None


# -- the command line ------------------------------------------------------------------------


async def _seed_now(runtime: Runtime) -> None:
    """Seed relative to the wall clock: the CLI process reads the system clock."""
    await seed_now(runtime.sessionmaker)


async def test_report_json_is_the_report_function(runtime: Runtime, database_url: str) -> None:
    await _seed_now(runtime)
    done = peerbot("report", "--json", "--programme", "alpha", database_url=database_url)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert summary(printed) == EXPECTED_ALPHA
    at = datetime.fromisoformat(printed["generated_at"])
    async with UnitOfWork(runtime.sessionmaker) as uow:
        same = (await build_report(uow, await _alpha(uow), at)).to_json()
    assert printed == same
    everything = peerbot("report", "--json", database_url=database_url)
    assert everything.returncode == 0, everything.stderr
    both = json.loads(everything.stdout)
    assert [p["slug"] for p in both["programmes"]] == ["alpha", "beta"]
    assert both["participants"] == 6  # Lena counted once
    missing = peerbot("report", "--json", "--programme", "nope", database_url=database_url)
    assert missing.returncode == 2 and "nope" in missing.stderr


async def test_report_html_is_one_self_contained_page(
    runtime: Runtime, database_url: str, tmp_path: Path
) -> None:
    await _seed_now(runtime)
    out = tmp_path / "report.html"
    done = peerbot("report", "--html", str(out), "--programme", "alpha", database_url=database_url)
    assert done.returncode == 0, done.stderr
    page = out.read_text(encoding="utf-8")
    assert "http:" not in page and "https:" not in page and "//" not in page.replace("-->", "")
    assert not re.search(r"<(script|link|img|iframe)\b", page)
    assert page.count('<svg class="chart"') == 6
    bars = re.findall(r'data-chart="by_country" data-key="(\w+)" data-value="(\d+)"', page)
    assert bars == [("BE", "2"), ("DE", "1"), ("IT", "1")]
    assert 'data-figure="participants">4<' in page and "67%" in page
    assert "Alpha kick-off meeting on Monday" in page
    assert not [s for s in BETA_SECRETS if s in page]
    assert peerbot("report", database_url=database_url).returncode == 2
    french = tmp_path / "rapport.html"
    done = peerbot("report", "--html", str(french), "--lang", "fr", database_url=database_url)
    assert done.returncode == 0, done.stderr
    page = french.read_text(encoding="utf-8")
    assert '<html lang="fr">' in page and "Tableau de bord" in page


async def test_coordinators_token_is_refused_to_non_coordinators(
    runtime: Runtime, database_url: str
) -> None:
    await _seed_now(runtime)
    plain = peerbot("coordinators", "token", "--email", PLAIN, database_url=database_url)
    assert plain.returncode == 1 and "not a coordinator" in plain.stderr and not plain.stdout
    nobody = peerbot("coordinators", "token", "--email", "x@y.z", database_url=database_url)
    assert nobody.returncode == 1 and "no officer" in nobody.stderr
    done = peerbot(
        "coordinators",
        "token",
        "--email",
        COORD_A,
        "--ttl-days",
        "2",
        "--json",
        database_url=database_url,
    )
    assert done.returncode == 0, done.stderr
    issued = json.loads(done.stdout)
    assert issued["programmes"] == ["alpha"] and len(issued["token"]) >= 40
    async with UnitOfWork(runtime.sessionmaker) as uow:
        row = await uow.dashboard_tokens.valid(issued["token"], datetime.now(UTC))
        assert row is not None and row.token_hash == token_hash(issued["token"])
        assert (row.expires_at - datetime.now(UTC)).days == 1  # 2 days less a few seconds


@pytest.mark.parametrize("ttl", ["0", "abc"])
def test_coordinators_token_rejects_a_bad_ttl(ttl: str, database_url: str) -> None:
    done = peerbot(
        "coordinators", "token", "--email", COORD_A, "--ttl-days", ttl, database_url=database_url
    )
    assert done.returncode == 2


@pytest.mark.slow
async def test_coordinators_serve_shows_the_dashboard_without_a_chat_adapter(
    database_url: str,
) -> None:
    """`peerbot coordinators serve`: the dashboard beside the console demo, same figures."""
    import asyncio
    import socket

    import aiohttp

    assert peerbot("demo", "reset", database_url=database_url).returncode == 0
    issued = peerbot(
        "coordinators",
        "token",
        "--email",
        "coordinator@example.org",
        "--json",
        database_url=database_url,
    )
    assert issued.returncode == 0, issued.stderr
    token = json.loads(issued.stdout)["token"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    serve = ("coordinators", "serve", "--host", "127.0.0.1", "--port", str(port))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *serve,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            # a liveness wait, not a speed check: a loaded machine may take long to start it
            deadline = asyncio.get_running_loop().time() + 120
            while True:
                try:
                    async with http.get(f"{url}/healthz") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError("the dashboard server did not start")
                await asyncio.sleep(0.1)
            async with http.get(f"{url}/dashboard/report.json") as resp:
                assert resp.status == 401
            bearer = {"Authorization": f"Bearer {token}"}
            async with http.get(f"{url}/dashboard/report.json", headers=bearer) as resp:
                assert resp.status == 200
                served = await resp.json()
            async with http.get(f"{url}/dashboard", headers=bearer) as resp:
                assert resp.status == 200 and "<svg" in await resp.text()
        # a second server on the same port: one clear line, exit 1, no traceback
        taken = await asyncio.to_thread(peerbot, *serve, database_url=database_url)
        assert taken.returncode == 1 and "cannot listen" in taken.stderr
        assert "Traceback" not in taken.stderr
    finally:
        proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    printed = json.loads(peerbot("report", "--json", database_url=database_url).stdout)
    for key in ("participants", "programmes"):
        assert served[key] == printed[key]
