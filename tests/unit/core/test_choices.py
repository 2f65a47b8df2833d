"""Signed choice ids."""

from __future__ import annotations

import pytest

from bot.config import Settings
from handlers.core import choices


def test_signed_ids_verify_only_in_their_chat() -> None:
    wire = choices.sign(b"k", "chat-1", "onb:pick:epc")
    assert len(wire.encode()) <= 64
    assert choices.verify(b"k", "chat-1", wire) == "onb:pick:epc"
    assert choices.verify(b"k", "chat-2", wire) is None
    assert choices.verify(b"other", "chat-1", wire) is None
    assert choices.verify(b"k", "chat-1", "onb:pick:epc") is None


def test_ids_too_long_for_telegram_are_refused() -> None:
    with pytest.raises(ValueError, match="too long"):
        choices.sign(b"k", "c", "x" * 60)


async def test_the_signing_key_is_the_setting_when_given_else_one_kept_in_the_database(
    settings: Settings,
) -> None:
    from bot.app import build

    generated = await build(settings)
    again = await build(settings)
    given = await build(
        settings.model_copy(update={"secret_key": "a-shared-key-of-32-characters!!!"})
    )
    try:
        assert generated.core.secret == again.core.secret  # every process shares the stored key
        assert given.core.secret == b"a-shared-key-of-32-characters!!!"
    finally:
        for rt in (generated, again, given):
            await rt.close()
