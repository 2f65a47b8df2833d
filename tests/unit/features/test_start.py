"""First contact, help, unknown commands and odd input."""

from __future__ import annotations

from tests.support.fakes import Talk


async def test_start_welcomes_and_asks_for_consent(talk: Talk) -> None:
    reply = await talk.say("/start")
    assert "Welcome" in reply and "Do you agree?" in reply
    assert [c.label for c in talk.last().choices] == ["I agree", "No, thanks"]


async def test_help_lists_the_commands(talk: Talk) -> None:
    reply = await talk.say("/help")
    for command in ("/start", "/profile", "/ask", "/match", "/export", "/forget", "/language"):
        assert command in reply
    assert "/broadcast" not in reply


async def test_unknown_command_is_polite(talk: Talk) -> None:
    assert "do not know the command /frobnicate" in await talk.say("/frobnicate")


async def test_coordinator_commands_are_refused_to_officers(talk: Talk) -> None:
    assert "only programme coordinators" in await talk.say("/stats")
    assert "only programme coordinators" in await talk.say("/unanswered")


async def test_huge_and_odd_messages_do_not_crash(talk: Talk) -> None:
    assert await talk.handle(text="x" * 20_000) == "handled"
    odd = "\u202eevil\u200b name \x00 with NUL 🎉 مرحبا"
    assert await talk.handle(text=odd) == "handled"


async def test_the_same_update_is_handled_once(talk: Talk) -> None:
    event = talk._event(text="/help")
    assert await talk.core.handle(event, talk.messenger) == "handled"
    assert await talk.core.handle(event, talk.messenger) == "duplicate"
    assert len(talk.messenger.sent) == 1
