"""Parsed content is pickled in the data directory and read back by the next process."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from handlers.core import content as content_module
from handlers.core.content import load_content
from handlers.faq.content import faq_index
from tests.support.paths import REPO_ROOT

CONTENT = REPO_ROOT / "content"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    copy = tmp_path / "content"
    shutil.copytree(CONTENT, copy, ignore=shutil.ignore_patterns("programmes"))
    return copy


def _forget_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start as a new process would: nothing parsed in memory."""
    monkeypatch.setattr(content_module, "_LOADED", {})


def test_a_second_process_reads_the_cache_instead_of_parsing(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    first = load_content(folder, cache_dir=cache)
    assert len(list(cache.glob("content-*.pickle"))) == 1

    _forget_parsed(monkeypatch)

    def no_parsing(*_: object) -> None:
        raise AssertionError("parsed again although the cache was good")

    monkeypatch.setattr(content_module, "parse_content", no_parsing)
    again = load_content(folder, cache_dir=cache)
    assert again is not first
    assert len(faq_index(again)) == len(faq_index(first))
    assert again.t("fr", "help.coordinators") == first.t("fr", "help.coordinators")


def test_a_changed_file_or_a_torn_cache_means_parsing_again(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    load_content(folder, cache_dir=cache)
    (pickled,) = cache.glob("content-*.pickle")
    pickled.write_bytes(b"not a pickle")
    _forget_parsed(monkeypatch)
    assert len(faq_index(load_content(folder, cache_dir=cache))) > 0  # a warning, no crash

    en = folder / "messages" / "en.yaml"
    en.write_text(en.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    _forget_parsed(monkeypatch)
    load_content(folder, cache_dir=cache)
    assert len(list(cache.glob("content-*.pickle"))) == 2  # a new key for the new files


def test_an_unwritable_cache_is_only_skipped(folder: Path, tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("in the way", encoding="utf-8")
    assert len(faq_index(load_content(folder, cache_dir=blocked / "cache"))) > 0
