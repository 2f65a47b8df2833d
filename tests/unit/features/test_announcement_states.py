"""An announcement's state reaches a reader as a word of their language, never as its code."""

from __future__ import annotations

import pytest

from handlers.core.i18n import load_catalogues
from storage.repositories.announcements import CANCELLED, DONE, SCHEDULED, SENDING
from tests.support.paths import REPO_ROOT

CATALOGUES = load_catalogues(REPO_ROOT / "content" / "messages")
STATES = [SCHEDULED, SENDING, DONE, CANCELLED, "draft"]  # "draft": the model's default


@pytest.mark.parametrize("locale", ["en", "fr", "de", "es", "it"])
def test_every_state_has_a_word_in_chat_and_on_the_dashboard(locale: str) -> None:
    catalogue = CATALOGUES[locale]
    for state in STATES:
        assert catalogue.get(f"announcement_state.{state}"), (locale, state)
        assert catalogue.get(f"dashboard.state_{state}"), (locale, state)
        if locale != "en":
            assert catalogue[f"announcement_state.{state}"] != state
    assert catalogue["announcement_state.done"] != "done"  # "done" is a code, not a word
