"""`programme create` keeps a programme's folder in the data directory (PEERBOT_DATA_DIR),
outside the installation, and `faq ask|list --programme` see its own FAQ."""

from __future__ import annotations

import json
from pathlib import Path

from bot.app import Runtime
from handlers.core.content import ContentStore
from handlers.faq.content import faq_index
from tests.conftest import CONTENT
from tests.support.cli import Completed
from tests.support.cli import peerbot as run_peerbot
from tests.support.paths import REPO_ROOT
from tests.unit.features.test_programmes import nordic_folder

ROOT = REPO_ROOT
NORDIC = "nordic-district-heating-bonds"


def peerbot(*args: str, database_url: str, data: Path) -> Completed:
    env = {"DATABASE_URL": database_url, "PEERBOT_DATA_DIR": str(data), "LOG_LEVEL": "WARNING"}
    return run_peerbot(*args, env=env)


async def test_a_created_programme_lives_in_the_data_directory(
    runtime: Runtime, database_url: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    folder = nordic_folder(tmp_path / "incoming")
    done = peerbot(
        "programme", "create", str(folder), "--json", database_url=database_url, data=data
    )
    assert done.returncode == 0, done.stderr
    assert (data / "programmes" / "nordic" / "faq" / "nordic.yaml").is_file()
    assert not (
        ROOT / "content" / "programmes" / "nordic"
    ).exists()  # the installation is untouched
    # no staging left behind (the parsed-content cache may be there)
    assert {p.name for p in data.iterdir()} <= {"programmes", "cache"}

    store = ContentStore(CONTENT, data / "programmes")
    assert NORDIC in {e.id for e in faq_index(store.for_programme("nordic")).entries}
    assert NORDIC not in {e.id for e in faq_index(store.current).entries}

    listed = peerbot("faq", "list", "--programme", "nordic", "--json", database_url=database_url,
                     data=data)  # fmt: skip
    assert NORDIC in {r["id"] for r in json.loads(listed.stdout)}
    base = peerbot("faq", "list", "--json", database_url=database_url, data=data)
    assert NORDIC not in {r["id"] for r in json.loads(base.stdout)}
    question = "How did Nordic cities finance district heating with municipal bonds?"
    asked = peerbot("faq", "ask", question, "--programme", "nordic", "--json",
                    database_url=database_url, data=data)  # fmt: skip
    assert asked.returncode == 0, asked.stderr
    [answer] = json.loads(asked.stdout)
    assert (answer["status"], answer["id"]) == ("answer", NORDIC)

    exported = tmp_path / "out"
    out = peerbot("programme", "export", "nordic", "--out", str(exported),
                  database_url=database_url, data=data)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert (exported / "faq" / "nordic.yaml").is_file()
