"""An officer's own data: invites, linking two platforms, export and forget."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from bot.app import Runtime
from handlers.core.clock import FrozenClock
from storage.models import (
    Conversation,
    FaqQuery,
    Identity,
    Invite,
    Officer,
    Outbox,
)
from storage.uow import UnitOfWork
from tests.support.fakes import FakeMessenger, Talk
from tests.unit.features.test_onboarding import onboard


async def test_an_invite_code_ties_onboarding_to_its_authority(
    runtime: Runtime, talk: Talk
) -> None:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        ghent = await uow.authorities.get_or_create("Ghent", "BE")
        uow.session.add(Invite(code="GHENT-1", purpose="join", authority_id=ghent.id))
        await uow.commit()
    reply = await talk.say("/start GHENT-1")
    assert "invited on behalf of Ghent" in reply
    await talk.press("I agree")
    await talk.say("Jan Peeters")
    assert "role" in talk.last().text  # authority and country were skipped
    again = Talk(runtime.core, talk.messenger, user_id="u9", name="Eve")
    assert "unknown or has expired" in await again.say("/start GHENT-1")


async def test_link_joins_a_second_platform_to_the_same_officer(
    runtime: Runtime, talk: Talk, messenger: FakeMessenger, clock: FrozenClock
) -> None:
    await onboard(talk)
    reply = await talk.say("/link")
    code = reply.split("link code is ", 1)[1].split(".", 1)[0]
    other = Talk(runtime.core, messenger, user_id="T-77", name="Marie", platform="telegram")
    assert "Linked" in await other.say(f"/link {code}")
    assert "Lyon" in await other.say("/profile")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        [marie] = await uow.officers.list()
        assert sorted(i.platform for i in marie.identities) == ["fake", "telegram"]
    third = Talk(runtime.core, messenger, user_id="T-78", name="Mallory", platform="telegram")
    assert "unknown, used or expired" in await third.say(f"/link {code}")
    code2 = (await talk.say("/link")).split("link code is ", 1)[1].split(".", 1)[0]
    clock.advance(minutes=16)
    assert "expired" in await third.say(f"/link {code2}")


async def test_export_returns_only_my_data(
    runtime: Runtime, talk: Talk, messenger: FakeMessenger
) -> None:
    await onboard(talk)
    other = Talk(runtime.core, messenger, user_id="u2", name="Someone Else")
    await onboard(other, "Someone Else", "Grenoble")
    await talk.say("what is ELENA?")
    reply = await talk.say("/export")
    data = json.loads(reply.split("\n", 1)[1])
    assert data["officer"]["name"] == "Marie Dubois"
    assert [q["text"] for q in data["questions"]] == ["what is ELENA?"]
    assert "Someone Else" not in reply


async def test_forget_really_deletes(runtime: Runtime, talk: Talk) -> None:
    await onboard(talk)
    await talk.say("what is ELENA?")
    await talk.say("/forget")
    assert "Nothing was deleted" in await talk.press("No, keep it")
    await talk.say("/forget")
    assert "has been deleted" in await talk.press("Yes, delete my data")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        s = uow.session
        assert await s.scalar(select(func.count()).select_from(Officer)) == 0
        assert (
            await s.scalar(
                select(func.count()).select_from(Identity).where(Identity.officer_id.isnot(None))
            )
            == 0
        )
        assert await s.scalar(select(func.count()).select_from(Conversation)) == 0
        texts = (await s.execute(select(FaqQuery.text))).scalars().all()
        assert texts == [""]  # the anonymous count stays, the words are gone
        payloads = (await s.execute(select(Outbox.payload))).scalars().all()
        assert all(p == {} for p in payloads)
    assert "join the programme first" in await talk.say("/profile")


async def test_language_switch(talk: Talk) -> None:
    await onboard(talk)
    await talk.say("/language")
    labels = [c.label for c in talk.last().choices]
    assert "English" in labels
    assert "Language set to English" in await talk.press("English")
