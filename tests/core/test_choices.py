"""Signed choice ids."""

from __future__ import annotations

import pytest

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
