"""The `peerbot` command line, run as a real process."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.support.cli import peerbot
from tests.support.paths import REPO_ROOT

ROOT = REPO_ROOT

GOOD_CSV = """name,email,authority,country,role,languages,timezone,sectors,wants,offers,platform,platform_user_id,consent
Pieter Janssens,pieter@gent.be,Ghent,BE,officer,en;nl,Europe/Brussels,public_lighting,green_bond,epc;esco,telegram,1001,yes
Giulia Rossi,giulia@comune.milano.it,Milano,IT,officer,it;en,Europe/Rome,public_buildings,epc,revolving_fund,slack,U123,yes
Bad Country,bad@x.eu,Nowhere,ZZ,officer,en,,,,,,,yes
Bad Code,code@x.eu,Lyon,FR,officer,en,,public_lighting,magic_money,,,,yes
Anna Coordinator,anna@energy-cities.eu,Besançon,FR,coordinator,fr;en,Europe/Paris,cross_sector,,,,,yes
"""


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}


@pytest.mark.slow  # `peerbot run`: a real process
def test_console_greets_and_lists_commands(env: dict[str, str]) -> None:
    done = peerbot("run", env=env, stdin="/start\n/help\n")
    assert done.returncode == 0, done.stderr
    assert "Welcome" in done.stdout and "/profile" in done.stdout
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_console_buttons_still_work_after_a_restart(env: dict[str, str]) -> None:
    first = peerbot("run", env=env, stdin="/start\n")
    assert first.returncode == 0 and "1. I agree" in first.stdout
    again = peerbot("run", env=env, stdin="1\n")  # a new console, the same conversation
    assert again.returncode == 0, again.stderr
    assert "What is your name?" in again.stdout


@pytest.mark.slow  # `peerbot run`: a real process
def test_console_as_demo_coordinator(env: dict[str, str]) -> None:
    done = peerbot("run", "--as", "coordinator", env=env, stdin="/stats\n")
    assert done.returncode == 0, done.stderr
    assert "Active officers: 6" in done.stdout


def test_a_wrong_setting_is_one_clear_line_and_exit_2(env: dict[str, str]) -> None:
    done = peerbot("officers", "list", env={**env, "PEERBOT_HTTP_PORT": "99999"})
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "PEERBOT_HTTP_PORT" in done.stderr and "Traceback" not in done.stderr
    bad_url = peerbot("db", "upgrade", env={**env, "DATABASE_URL": "mysql://x"})
    assert bad_url.returncode == 2 and "DATABASE_URL" in bad_url.stderr


def test_an_unreachable_database_is_one_clear_line(env: dict[str, str]) -> None:
    url = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
    done = peerbot("db", "upgrade", env={**env, "DATABASE_URL": url})
    assert done.returncode == 1
    assert "cannot use the database" in done.stderr and "Traceback" not in done.stderr


def test_import_keeps_good_rows_reports_bad_ones_and_is_idempotent(
    env: dict[str, str], tmp_path: Path
) -> None:
    csv_file = tmp_path / "officers.csv"
    csv_file.write_text(GOOD_CSV, encoding="utf-8")
    first = peerbot("officers", "import", str(csv_file), "--json", env=env)
    assert first.returncode == 1  # some rows were rejected
    report = json.loads(first.stdout)
    assert report["created"] == 3 and report["updated"] == 0
    assert any(e.startswith("line 4:") and "ZZ" in e for e in report["errors"])
    assert any(e.startswith("line 5:") and "magic_money" in e for e in report["errors"])
    again = json.loads(peerbot("officers", "import", str(csv_file), "--json", env=env).stdout)
    assert again["created"] == 0 and again["updated"] == 3
    listed = json.loads(peerbot("officers", "list", "--json", env=env).stdout)
    assert sorted(o["email"] for o in listed) == [
        "anna@energy-cities.eu",
        "giulia@comune.milano.it",
        "pieter@gent.be",
    ]
    pieter = next(o for o in listed if o["email"] == "pieter@gent.be")
    assert pieter["identities"] == [{"platform": "telegram", "user_id": "1001"}]
    assert pieter["offers"] == ["epc", "esco"] and pieter["country"] == "BE"
    exported = tmp_path / "out.csv"
    assert peerbot("officers", "export", str(exported), env=env).returncode == 0
    assert exported.read_text(encoding="utf-8").count("\n") == 4


def test_a_csv_with_a_wrong_header_changes_nothing(env: dict[str, str], tmp_path: Path) -> None:
    csv_file = tmp_path / "wrong.csv"
    csv_file.write_text("who,mail\nA,b@c.de\n", encoding="utf-8")
    done = peerbot("officers", "import", str(csv_file), env=env)
    assert done.returncode == 1 and "header" in done.stderr
    assert json.loads(peerbot("officers", "list", "--json", env=env).stdout) == []


def test_programmes_list_and_content_check(env: dict[str, str]) -> None:
    assert json.loads(peerbot("programmes", "list", "--json", env=env).stdout) == []
    check = peerbot("content", "check", env=env)
    assert check.returncode == 0, check.stdout
    assert "0 problems" in check.stdout


def test_faq_ask_json(env: dict[str, str]) -> None:
    done = peerbot("faq", "ask", "what is ELENA?", "what's the weather?", "--json", env=env)
    rows = json.loads(done.stdout)
    assert [r["status"] for r in rows] == ["answer", "unknown"]
    assert rows[0]["id"] and "ELENA" in rows[0]["text"]


@pytest.mark.slow  # `peerbot run`: a real process
def test_a_database_at_a_newer_migration_is_refused(tmp_path: Path) -> None:
    import sqlite3

    url = f"sqlite+aiosqlite:///{tmp_path / 'newer.db'}"
    env = {"DATABASE_URL": url}
    assert peerbot("db", "upgrade", env=env).returncode == 0
    with sqlite3.connect(tmp_path / "newer.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'from_the_future'")
    done = peerbot("run", env=env, stdin="/help\n")
    assert done.returncode == 1
    assert "newer than this peerbot knows" in done.stderr and "Traceback" not in done.stderr


def test_demo_reset_restores_the_demo(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"}
    assert peerbot("demo", "reset", env=env).returncode == 0
    listed = json.loads(peerbot("officers", "list", "--json", env=env).stdout)
    assert len(listed) == 6 and any(o["role"] == "coordinator" for o in listed)
    assert peerbot("demo", "reset", env=env).returncode == 0
    assert len(json.loads(peerbot("officers", "list", "--json", env=env).stdout)) == 6


@pytest.mark.slow  # `peerbot run`: a real process
async def test_a_token_the_platform_rejects_is_one_clear_line_and_exit_2(
    env: dict[str, str],
) -> None:
    import asyncio
    import socket

    from tests.support.emulators.telegram_api import TelegramEmulator

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])

    async with TelegramEmulator() as api:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env={
                **os.environ,
                **env,
                "TELEGRAM_BOT_TOKEN": "999:not-the-right-token",
                "TELEGRAM_API_BASE_URL": api.base_url,
                "PEERBOT_HTTP_HOST": "127.0.0.1",
                "PEERBOT_HTTP_PORT": port,
            },
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2, err
    assert "TELEGRAM_BOT_TOKEN" in err.decode() and b"Traceback" not in err
