"""Slack officers imported from a roster press their buttons in the app's DM.

The roster stores a Slack officer's user id (U...) as their chat, and the bot writes to it. Slack
delivers such a post in the app's DM with the user, whose id is a D... id, and a button pressed
there names the D... channel. The emulator does the same (chat.postMessage to U... lands in
D...); these stories press the buttons of an introduction, a check-in and a survey there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from bot.config import Settings
from handlers.core.clock import FrozenClock
from handlers.officers.roster import import_csv
from storage.models import CheckIn, Officer, Pair, PairStatus, Role
from storage.uow import UnitOfWork
from tests.adapters.test_slack import Bot, running
from tests.support.emulators.slack_api import SlackApiEmulator
from tests.support.fakes import FakeMessenger, Talk
from tests.support.peers import make_pair, officer
from tests.unit.features.test_polls import ask

ROSTER = """name,email,authority,country,role,languages,timezone,sectors,wants,offers,platform,platform_user_id,consent
Marie Dubois,marie@lyon.fr,Lyon,FR,officer,fr;en,Europe/Paris,public_lighting,epc,,slack,UMARIE,yes
Pieter Janssens,pieter@gent.be,Ghent,BE,officer,en;nl,Europe/Brussels,public_lighting,,epc,slack,UPIETER,yes
"""
MARIE_DM, PIETER_DM = SlackApiEmulator.dm_channel("UMARIE"), SlackApiEmulator.dm_channel("UPIETER")


@pytest.fixture
async def bot(settings: Settings, clock: FrozenClock) -> AsyncIterator[Bot]:
    async with SlackApiEmulator() as api:
        api.add_user("UMARIE", "Marie Dubois", tz="Europe/Paris", locale="fr-FR")
        api.add_user("UPIETER", "Pieter Janssens", tz="Europe/Brussels", locale="en-GB")
        async with running(settings, clock, api) as started:
            async with UnitOfWork(started.runtime.sessionmaker) as uow:
                home = await uow.programmes.default_or_create()
                report = await import_csv(
                    uow, ROSTER, started.runtime.content.current.taxonomy, home
                )
                await uow.commit()
            assert not report.errors, report.errors
            yield started


async def people(bot: Bot) -> tuple[Officer, Officer]:
    async with UnitOfWork(bot.runtime.sessionmaker) as uow:
        found = {o.email: o for o in await uow.officers.list()}
    return found["marie@lyon.fr"], found["pieter@gent.be"]


async def press(bot: Bot, user: str, channel: str, label: str) -> str:
    """Press a button in a DM; what the bot showed there afterwards."""
    before = len(bot.api.messages_to(channel))
    assert (await bot.slack.press(user, channel, label)).status == 200
    await bot.settle()
    await bot.runtime.tick()
    await bot.settle()
    shown = bot.api.messages_to(channel)
    edited = [m.text for m in shown[:before] if m.edits]
    return "\n".join(edited + [m.text for m in shown[before:]])


async def test_an_imported_slack_officer_accepts_an_introduction_in_the_dm(bot: Bot) -> None:
    marie, pieter = await people(bot)
    assert {i.dm_chat_id for o in (marie, pieter) for i in o.identities} == {"UMARIE", "UPIETER"}
    pair = await make_pair(bot.runtime, marie, pieter)
    await bot.runtime.tick()
    assert any("Accept" in str(m.blocks) for m in bot.api.messages_to(MARIE_DM))
    shown = await press(bot, "UMARIE", MARIE_DM, "Accept")
    assert "expired" not in shown and "Pieter Janssens" in shown
    shown = await press(bot, "UPIETER", PIETER_DM, "Accept")
    assert "expired" not in shown and "is active" in shown
    async with UnitOfWork(bot.runtime.sessionmaker) as uow:
        status = (await uow.session.execute(select(Pair.status).where(Pair.id == pair.id))).scalar()
        marie_after = await uow.officers.get(marie.id)
        assert marie_after is not None
        dms = {i.dm_chat_id for i in marie_after.identities}
    assert status == PairStatus.ACTIVE
    assert dms == {MARIE_DM}  # the DM channel is learnt from her first press


async def test_an_imported_slack_officer_answers_a_check_in_in_the_dm(
    bot: Bot, clock: FrozenClock
) -> None:
    marie, pieter = await people(bot)
    pair = await make_pair(bot.runtime, marie, pieter, status=PairStatus.ACTIVE)
    due = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday, working hours in Paris
    async with UnitOfWork(bot.runtime.sessionmaker) as uow:
        await uow.session.execute(
            update(Pair).where(Pair.id == pair.id).values(next_checkin_at=due, activated_at=due)
        )
        await uow.commit()
    clock.set(due)
    await bot.runtime.tick()
    await bot.runtime.tick()
    assert bot.api.messages_to(MARIE_DM), "the check-in reached Marie's DM"
    shown = await press(bot, "UMARIE", MARIE_DM, "We met")
    assert "expired" not in shown
    async with UnitOfWork(bot.runtime.sessionmaker) as uow:
        answers = [c.answer for c in (await uow.session.execute(select(CheckIn))).scalars()]
    assert "met" in answers


async def test_an_imported_slack_officer_answers_a_survey_in_the_dm(bot: Bot) -> None:
    messenger = FakeMessenger()
    bot.runtime.messengers["fake"] = messenger
    async with UnitOfWork(bot.runtime.sessionmaker) as uow:  # she runs the roster's programme
        home = await uow.programmes.default_or_create()
    await officer(
        bot.runtime, "Anna Coordinator", authority="Besançon", country="FR",
        role=Role.COORDINATOR, user_id="anna", programme_slug=home.slug,
    )  # fmt: skip
    anna_talk = Talk(bot.runtime.core, messenger, user_id="anna", name="Anna Coordinator")
    await ask(anna_talk, "One choice", "Energy performance contracting; Green bonds; Grants")
    await bot.runtime.tick()
    await bot.settle()
    shown = await press(bot, "UPIETER", PIETER_DM, "Green bonds")
    assert "expired" not in shown and "Green bonds" in shown
