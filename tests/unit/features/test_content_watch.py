"""A broken content file never takes the bot down; coordinators are told."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from bot.app import build
from bot.config import Settings
from handlers.core.clock import FrozenClock
from handlers.faq.content import faq_index
from handlers.programmes.content_watch import reload_changed_content
from tests.support.fakes import FakeMessenger
from tests.support.paths import REPO_ROOT
from tests.unit.features.test_faq import add_coordinator

ROOT = REPO_ROOT


async def test_broken_faq_file_keeps_the_last_good_content(
    settings: Settings, clock: FrozenClock, tmp_path: Path
) -> None:
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    rt = await build(settings.model_copy(update={"content_dir": content}), clock=clock)
    messenger = FakeMessenger()
    rt.messengers["fake"] = messenger
    try:
        await add_coordinator(rt)
        before = len(faq_index(rt.content.current))
        assert await reload_changed_content(rt.core, rt.messengers) == 0
        broken = next((content / "faq").glob("epc*.yaml"))
        broken.write_text(
            broken.read_text(encoding="utf-8") + "\n- id: [unclosed\n", encoding="utf-8"
        )
        os.utime(broken, (broken.stat().st_atime + 10, broken.stat().st_mtime + 10))
        assert await reload_changed_content(rt.core, rt.messengers) == 1
        assert len(faq_index(rt.content.current)) == before
        await rt.tick()
        note = messenger.transcript("coord")
        assert "problem" in note and broken.name in note
        assert faq_index(rt.content.current).search("what is ELENA?").status == "answer"
    finally:
        await rt.close()
