"""An officer asks a short follow-up right after an answer; the bot reads it with that answer."""

from __future__ import annotations

from bot.app import Runtime
from handlers.core.clock import FrozenClock
from tests.support.fakes import FakeMessenger, Talk


async def test_a_short_follow_up_is_answered_in_the_context_of_the_previous_answer(
    talk: Talk,
) -> None:
    first = await talk.say("what is energy performance contracting?")
    assert "Read more" in first
    reply = await talk.say("how long does it last?")
    assert "Following on from" in reply
    assert "8 to 15 years" in reply  # the EPC duration entry, not a did-you-mean
    assert [c.label for c in talk.last().choices][:2] == ["Yes", "No"]


async def test_the_same_question_without_a_previous_answer_is_not_guessed(talk: Talk) -> None:
    reply = await talk.say("how long does it last?")
    assert "Following on from" not in reply
    assert "8 to 15 years" not in reply


async def test_a_thank_you_after_an_answer_does_not_repeat_it(talk: Talk) -> None:
    await talk.say("what is energy performance contracting?")
    reply = await talk.say("thanks, ok")
    assert "Following on from" not in reply


async def test_an_old_answer_is_no_longer_the_context(talk: Talk, clock: FrozenClock) -> None:
    await talk.say("what is energy performance contracting?")
    clock.advance(hours=2)
    reply = await talk.say("how long does it last?")
    assert "Following on from" not in reply
    assert "8 to 15 years" not in reply


async def test_a_follow_up_in_french_is_read_and_answered_in_french(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    claire = Talk(runtime.core, messenger, user_id="fr1", name="Claire", locale="fr")
    assert "ELENA (European Local Energy Assistance) est un dispositif" in await claire.say(
        "qu'est-ce que ELENA ?"
    )
    reply = await claire.say("et pour les petites communes ?")
    # Read with ELENA in mind: answered with ELENA for small towns, in French, where the question
    # alone is a did-you-mean leading with EPC for a small municipality.
    assert "ELENA vise des programmes d'investissement" in reply


async def test_a_follow_up_opening_with_and_is_read_in_context_though_it_has_an_answer_alone(
    talk: Talk,
) -> None:
    # Alone, "and for small towns?" is answered directly with EPC for small municipalities.
    alone = await talk.say("and for small towns?")
    assert "ESCOs tend to lose interest" in alone
    await talk.say("what is a green bond?")
    reply = await talk.say("and for small towns?")
    assert "Following on from" in reply
    assert "Few small or medium-sized cities issue bonds on their own" in reply
    await talk.say("what is ELENA?")
    reply = await talk.say("and for small towns?")
    assert "ELENA targets investment programmes of typically EUR 30 million" in reply


async def test_a_short_question_without_a_continuation_keeps_its_own_answer(talk: Talk) -> None:
    await talk.say("what is ELENA?")
    reply = await talk.say("green bonds for small cities?")
    assert "Following on from" not in reply
