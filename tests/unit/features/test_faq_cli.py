"""`peerbot faq …` run as a real process: answer language, per-language figures, candidates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import peerbot
from tests.support.paths import REPO_ROOT

ROOT = REPO_ROOT


@pytest.fixture
def env(database_url: str) -> dict[str, str]:
    return {"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}


def test_faq_ask_answers_in_the_asked_language_and_says_which(env: dict[str, str]) -> None:
    done = peerbot("faq", "ask", "--json", "--lang", "es", "kan ik crowdfunding gebruiken", env=env)
    [row] = json.loads(done.stdout)
    assert row["status"] == "answer" and row["id"] == "crowdfunding-what-is"
    assert row["question_lang"] == "nl" and row["lang"] == "es"
    assert row["semantic"] is False  # the suite sets PEERBOT_FAQ_SEMANTIC=false (conftest)
    assert row["text"].startswith("La financiación colectiva")
    bad = peerbot("faq", "ask", "--lang", "xx", "what is ELENA?", env=env)
    assert bad.returncode == 2 and "--lang must be one of" in bad.stderr + bad.stdout


def test_faq_list_eval_and_candidate_export(env: dict[str, str], tmp_path: Path) -> None:
    listed = json.loads(peerbot("faq", "list", "--json", env=env).stdout)
    assert len(listed) >= 60
    assert all(r["helpful"] == {"yes": 0, "no": 0} for r in listed)
    assert all(set(r["languages"]) >= {"en", "fr", "de", "es", "it"} for r in listed)
    dev = tmp_path / "dev.jsonl"
    dev.write_text(
        "\n".join(
            json.dumps(r, ensure_ascii=False)
            for r in [
                {"q": "what is ELENA?", "id": "elena-what-is", "lang": "en"},
                {"q": "wat is een energieprestatiecontract", "id": "epc-what-is", "lang": "nl"},
                {"q": "recette de la tarte tatin", "id": None, "lang": "fr"},
                {"q": "to label", "id": None, "needs_label": True},
            ]
            * 3
        ),
        encoding="utf-8",
    )
    out = tmp_path / "candidates.jsonl"
    done = peerbot("faq", "eval", str(dev), "--cv", "--export-candidates", str(out), env=env)
    assert done.returncode == 0, done.stderr
    assert "3 rows skipped" in done.stdout
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if "n=" in line}
    assert {"en", "nl", "fr", "all", "pipeline:"} <= set(lines)
    assert "wrote 0 candidate rows" in done.stdout and out.read_text() == ""
