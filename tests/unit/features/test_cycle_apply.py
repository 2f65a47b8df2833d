"""Officers apply to a learning cycle in chat: tick schemes to learn and to mentor, confirm."""

from __future__ import annotations

from datetime import date

from bot.app import Runtime
from handlers.groups import service
from storage.models import Officer
from storage.uow import UnitOfWork
from tests.support.fakes import FakeMessenger, Talk
from tests.support.peers import officer, programme


async def open_cycle(runtime: Runtime, name: str = "Cycle 2: public buildings") -> int:
    await programme(runtime)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        made = await service.create_cycle(
            uow,
            runtime.content.current.taxonomy,
            name=name,
            starts_on=date(2026, 12, 1),
            ends_on=date(2027, 6, 30),
            modules=["public_buildings"],
            programme_slug="prospect",
        )
        await uow.commit()
    return int(made["id"])


async def application(runtime: Runtime, cycle_id: int, person: Officer) -> tuple[list, list]:  # type: ignore[type-arg]
    async with UnitOfWork(runtime.sessionmaker) as uow:
        found = await uow.cycles.application(cycle_id, person.id)
        assert found is not None
        return list(found.wants), list(found.offers)


async def test_an_officer_applies_with_buttons(runtime: Runtime, messenger: FakeMessenger) -> None:
    cycle_id = await open_cycle(runtime)
    marie = await officer(runtime, "Marie Dubois", authority="Lyon", country="FR", user_id="u1")
    talk = Talk(runtime.core, messenger, user_id="u1", name="Marie Dubois")

    said = await talk.say("/cycle")
    assert "Learning cycle “Cycle 2: public buildings” (2026-12-01 to 2027-06-30)" in said
    assert "Which financing schemes would you like to learn about" in said
    await talk.press("Green bonds")
    await talk.press("Energy performance contracting")
    assert [c.label for c in talk.last().choices if c.selected] == [
        "Energy performance contracting (EPC)",
        "Green bonds",
    ]
    said = await talk.press("Next")
    assert "Which schemes has your authority already put into practice" in said
    await talk.press("Revolving fund")
    said = await talk.press("Next")
    assert "To learn: Green bonds, Energy performance contracting (EPC)" in said
    assert "To mentor: Revolving fund" in said
    said = await talk.press("Send my application")
    assert "your application to “Cycle 2: public buildings” has been received" in said
    assert await application(runtime, cycle_id, marie) == (
        ["green_bond", "epc"],  # in the order ticked: green bonds first
        ["revolving_fund"],
    )

    said = await talk.say("/apply")  # applying again starts from what was sent
    assert [c.label for c in talk.last().choices if c.selected] == [
        "Energy performance contracting (EPC)",
        "Green bonds",
    ]
    await talk.press("Next")
    await talk.press("Revolving fund")  # un-ticked
    await talk.press("Next")
    said = await talk.press("Send my application")
    assert "has been updated" in said
    assert await application(runtime, cycle_id, marie) == (["green_bond", "epc"], [])


async def test_an_officer_types_the_schemes_in_french(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    cycle_id = await open_cycle(runtime, "Cycle 3")
    luc = await officer(runtime, "Luc Moreau", authority="Nantes", country="FR", user_id="u2")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        found = await uow.officers.get(luc.id)
        assert found is not None
        found.locale = "fr"
        await uow.commit()
    talk = Talk(runtime.core, messenger, user_id="u2", name="Luc Moreau", locale="fr")

    said = await talk.say("/cycle")
    assert "Sur quels modèles de financement souhaitez-vous vous former" in said
    said = await talk.say("fonds renouvelable, obligations vertes")
    assert "Quels modèles votre collectivité a-t-elle déjà mis en œuvre" in said
    said = await talk.say("42")
    assert "Je n'ai pas reconnu de modèle de financement" in said
    said = await talk.say("CPE")
    assert "À apprendre : Fonds renouvelable, Obligations vertes" in said
    assert "À transmettre : Contrat de performance énergétique (CPE)" in said
    said = await talk.press("Envoyer ma candidature")
    assert "votre candidature à « Cycle 3 » a bien été reçue" in said
    assert await application(runtime, cycle_id, luc) == (["revolving_fund", "green_bond"], ["epc"])


async def test_no_open_cycle_and_cancelling_leave_nothing_behind(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    await officer(runtime, "Marie Dubois", authority="Lyon", country="FR", user_id="u1")
    talk = Talk(runtime.core, messenger, user_id="u1", name="Marie Dubois")
    assert "No learning cycle in your programme is taking applications" in await talk.say("/cycle")

    cycle_id = await open_cycle(runtime)
    await talk.say("/cycle")
    await talk.press("Next")
    said = await talk.press("Next")  # nothing ticked at all
    assert "Please choose at least one scheme" in said
    said = await talk.say("cancel")
    assert "Application cancelled" in said
    async with UnitOfWork(runtime.sessionmaker) as uow:
        assert await uow.cycles.count_applications(cycle_id) == 0
