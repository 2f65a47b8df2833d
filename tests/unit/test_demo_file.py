"""`content/demo.yaml` is checked like the rest of the content: unknown keys are refused, with
the file and line, so a comma in an unquoted title cannot split it unnoticed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from handlers.programmes.demo import check_demo
from tests.support.paths import REPO_ROOT

ROOT = REPO_ROOT
CONTENT = ROOT / "content"


def test_the_shipped_demo_is_valid_and_keeps_its_titles_whole() -> None:
    assert check_demo(CONTENT / "demo.yaml") == []
    data = yaml.safe_load((CONTENT / "demo.yaml").read_text(encoding="utf-8"))
    titles = [p["title"] for p in data["practices"]]
    assert "EPC for 40,000 street lights" in titles


def test_an_unquoted_comma_and_an_unknown_key_are_reported_by_line(tmp_path: Path) -> None:
    text = (CONTENT / "demo.yaml").read_text(encoding="utf-8")
    broken = text.replace(
        'title: "EPC for 40,000 street lights"', "title: EPC for 40,000 street lights"
    )
    broken = broken.replace("checkin_days: 14", "checkin_days: 14\n  colour: green")
    path = tmp_path / "demo.yaml"
    path.write_text(broken, encoding="utf-8")
    problems = check_demo(path)
    line = next(n for n, row in enumerate(broken.splitlines(), 1) if "40,000" in row)
    assert (
        f"{path}:{line}: practices.0.000 street lights: Extra inputs are not permitted" in problems
    )
    assert f"{path}:7: programme.colour: Extra inputs are not permitted" in problems


@pytest.mark.slow  # a real `peerbot` process
def test_content_check_fails_on_a_broken_demo(tmp_path: Path) -> None:
    folder = tmp_path / "content"
    shutil.copytree(CONTENT, folder)
    demo = folder / "demo.yaml"
    demo.write_text(
        demo.read_text(encoding="utf-8").replace("checkin_days: 14", "checkin_days: 14\n  x: 1"),
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot", "content", "check", "--folder", str(folder)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert f"{demo}:7: programme.x: Extra inputs are not permitted" in done.stdout
