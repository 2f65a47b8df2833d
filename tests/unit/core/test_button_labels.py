"""Every button label fits a phone: at most 30 characters in every language."""

from __future__ import annotations

import ast
from functools import cache

import pytest

from handlers.core.i18n import load_catalogues, placeholders
from tests.support.paths import REPO_ROOT

ROOT = REPO_ROOT
CATALOGUES = load_catalogues(ROOT / "content" / "messages")
LOCALES = ["en", "fr", "de", "es", "it"]
LIMIT = 30
PLACEHOLDER = 3
"""Room kept for each placeholder (an id, a count); names are cut by the code that shows them."""


@cache
def choice_label_keys() -> frozenset[str]:
    """The catalogue keys found inside a `Choice(...)` call anywhere in handlers/ and bot/ (read
    when a test first asks, not at collection: every xdist worker collects this module)."""
    keys: set[str] = set()
    for path in [*(ROOT / "handlers").rglob("*.py"), *(ROOT / "bot").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name != "Choice":
                continue
            for sub in ast.walk(node):
                if isinstance(sub, ast.Constant) and sub.value in CATALOGUES["en"]:
                    keys.add(str(sub.value))
    return frozenset(keys)


BUILT_KEYS = {f"checkin.{answer}" for answer in ("met", "planned", "stuck", "end")}
"""Labels whose key is built in an f-string (handlers/checkins.py), which the scan cannot see."""


def label_keys() -> list[str]:
    return sorted(choice_label_keys() | BUILT_KEYS)


def test_the_scan_finds_the_buttons() -> None:
    expected = {
        "intro.accept",
        "onboarding.skip",
        "poll.done",
        "broadcast.schedule",
        "match.propose",
    }
    assert expected <= set(label_keys()), expected - set(label_keys())


@pytest.mark.parametrize("locale", LOCALES)
def test_every_button_label_has_at_most_30_characters(locale: str) -> None:
    too_long = {}
    for key in label_keys():
        label = CATALOGUES[locale][key]
        fields = placeholders(label)
        fixed = label
        for name in fields:
            fixed = fixed.replace("{" + name + "}", "")
        if len(fixed) + PLACEHOLDER * len(fields) > LIMIT:
            too_long[key] = label
    assert not too_long, f"{locale}: buttons over {LIMIT} characters: {too_long}"
