"""An invite made for a programme (the console's, `create_invites`) brings the officer who
joins with it into that programme, not the default one; a coordinator's pause cannot be lifted
with `/resume`."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.app import Runtime
from handlers.officers.pausing import pause_by_coordinator
from handlers.officers.service import create_invites
from storage.models import Programme
from storage.uow import UnitOfWork
from tests.support.fakes import Talk


async def test_an_invite_of_a_programme_joins_that_programme(runtime: Runtime, talk: Talk) -> None:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        await uow.programmes.add(Programme(slug="main", name="Main", languages=["en"]))
        second = await uow.programmes.add(Programme(slug="second", name="Second", languages=["en"]))
        await uow.commit()
        [code] = await create_invites(uow, None, second.id, "Ghent", "Belgium", datetime.now(UTC))
    assert "invited on behalf of Ghent" in await talk.say(f"/start {code}")
    await talk.press("I agree")
    await talk.say("Jan Peeters")
    await talk.say("Energy manager")
    await talk.press("French")
    await talk.press("Done")
    await talk.press("Europe/Brussels")
    await talk.say("public lighting")
    await talk.press("Energy performance contracting")
    await talk.press("Done")
    await talk.say("none")
    await talk.say("no")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        [jan] = await uow.officers.list()
        assert jan.programme_id == second.id
        assert jan.authority is not None and jan.authority.name == "Ghent"

    async with UnitOfWork(runtime.sessionmaker) as uow:
        [jan] = await uow.officers.list()
        assert pause_by_coordinator(jan, None)
        await uow.commit()
    assert "coordinators" in (await talk.say("/resume")).lower()
