"""`peerbot officers import|export|list` and `programmes list` as real processes: programme
changes that are explicit and reported, bad files that are line errors, safe exports and
listings that start without the solver."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from handlers.officers.listing import every_officer
from storage.db import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.models import Programme
from storage.uow import UnitOfWork
from tests.stories.test_cli import ROOT, peerbot

HEADER = "name,email,authority,country,role,languages,timezone,sectors,wants,offers,platform,platform_user_id,consent,job_title\n"  # noqa: E501


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}


async def programmes(url: str, *slugs: str) -> None:
    await upgrade(url)
    engine = make_engine(url)
    async with UnitOfWork(make_sessionmaker(engine)) as uow:
        for slug in slugs:
            await uow.programmes.add(Programme(slug=slug, name=slug, languages=["en", "fr"]))
        await uow.commit()
    await engine.dispose()


def write(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return str(path)


async def test_a_programme_change_is_explicit_and_reported(
    env: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    await programmes(database_url, "y-prog", "x-prog")
    first = write(tmp_path, "y.csv", "Anna Lind,anna@x.eu,Uppsala,Sweden,,en,,,,,,,,\n")
    assert peerbot("officers", "import", first, "--programme", "y-prog", env=env).returncode == 0
    again = write(tmp_path, "x.csv", "Anna Lind,anna@x.eu,Uppsala,SE,coordinator,en,,,,,,,,\n")
    joined = peerbot("officers", "import", again, "--programme", "x-prog", "--json", env=env)
    assert joined.returncode == 0, joined.stderr
    report = json.loads(joined.stdout)
    assert report["updated"] == 1
    assert report["notes"] == [
        "line 2: anna@x.eu belongs to programme y-prog; added to x-prog as coordinator "
        "(--move makes x-prog their programme)"
    ]
    moved = peerbot("officers", "import", again, "--programme", "x-prog", "--move", env=env)
    assert moved.returncode == 0, moved.stderr
    assert "anna@x.eu moved from programme y-prog to x-prog" in moved.stderr
    listed = json.loads(peerbot("programmes", "list", "--json", env=env).stdout)
    x_id = next(p["id"] for p in listed if p["slug"] == "x-prog")
    anna = json.loads(peerbot("officers", "list", "--json", env=env).stdout)[0]
    assert anna["programme_id"] == x_id and anna["role"] == "coordinator"


def test_a_huge_field_and_an_extra_column_are_line_errors(
    env: dict[str, str], tmp_path: Path
) -> None:
    body = (
        "Big Field,big@x.eu,Lyon,FR,,fr,,,,,,,," + '"' + "x" * (200 * 1024) + '"\n'
        "Martin, Camille,camille@savoie.fr,Savoie,FR,,fr,,,,,,,,\n"
        "Good Row,good@x.eu,Lyon,France,,French;English,,Public buildings,,,,,,Energy manager\n"
    )
    done = peerbot("officers", "import", write(tmp_path, "bad.csv", body), "--json", env=env)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    assert report["created"] == 1
    assert report["errors"][0].startswith("line 2: job_title is 204800 characters long")
    assert report["errors"][1].startswith("line 3: 15 values but the header has 14 columns")


def test_an_export_cannot_run_formulas_in_a_spreadsheet(
    env: dict[str, str], tmp_path: Path
) -> None:
    body = (
        '"=HYPERLINK(""http://x.example"",""click"")",a@x.eu,"+cmd|\' /C calc\'!A0",FR,,,,,,,,,,\n'
    )
    assert peerbot("officers", "import", write(tmp_path, "f.csv", body), env=env).returncode == 0
    out = tmp_path / "out.csv"
    assert peerbot("officers", "export", str(out), env=env).returncode == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].endswith(",consent,job_title")
    assert lines[1].startswith('"\'=HYPERLINK(""http://x.example"",""click"")",a@x.eu,\'+cmd|')
    again = peerbot("officers", "import", str(out), "--json", env=env)
    assert json.loads(again.stdout) == {"created": 0, "updated": 1, "errors": [], "notes": []}
    names = [o["name"] for o in json.loads(peerbot("officers", "list", "--json", env=env).stdout)]
    assert names == ['=HYPERLINK("http://x.example","click")']


async def listed_items(url: str) -> list[dict[str, object]]:
    engine = make_engine(url)
    async with UnitOfWork(make_sessionmaker(engine)) as uow:
        items = await every_officer(uow)
    await engine.dispose()
    return items


async def test_a_short_listing_prints_indented_a_long_one_an_officer_a_line(
    env: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    await programmes(database_url, "prospect")
    rows = [
        f'Zoë "{i}",o{i}@x.eu,Köln,DE,,de;en,,,,,telegram,{1000 + i},yes,\n' for i in range(201)
    ]
    short = peerbot("officers", "import", write(tmp_path, "a.csv", "".join(rows[:3])), env=env)
    assert short.returncode == 0, short.stderr
    items = await listed_items(database_url)
    assert peerbot("officers", "list", "--json", env=env).stdout == (
        json.dumps(items, ensure_ascii=False, indent=2) + "\n"
    )
    long = peerbot("officers", "import", write(tmp_path, "b.csv", "".join(rows)), env=env)
    assert long.returncode == 0, long.stderr
    items = await listed_items(database_url)
    assert len(items) == 201
    assert peerbot("officers", "list", "--json", env=env).stdout == (
        "[\n  " + ",\n  ".join(json.dumps(i, ensure_ascii=False) for i in items) + "\n]\n"
    )


@pytest.mark.slow  # a real `peerbot` process, to see what it imports
@pytest.mark.parametrize("command", [["programmes", "list"], ["officers", "list"]])
def test_listings_start_without_the_solver_or_the_bot(
    env: dict[str, str], command: list[str]
) -> None:
    probe = (
        "import gc, sys\n"
        "from bot.cli.main import main\n"
        f"sys.argv = ['peerbot', *{command!r}, '--json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('scipy', 'numpy', 'bot.app', 'handlers.pairing.solver', "
        "'storage.models', 'alembic', 'yaml') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
        "print('COLLECTING', gc.isenabled())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout
    assert "COLLECTING True" in done.stdout  # paused for the start-up only
