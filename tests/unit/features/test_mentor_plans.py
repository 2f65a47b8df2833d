"""Mentors see their learners' learning plans: in the pair's and the group's introduction, and
with `/plans`; nobody else does, except the programme's coordinators."""

from __future__ import annotations

import pytest

from bot.app import Runtime
from handlers.core.clock import FrozenClock
from handlers.outcomes import service
from storage.models import GroupMember, Officer, PairStatus, PeerGroup
from storage.uow import UnitOfWork
from tests.support.fakes import FakeMessenger
from tests.support.peers import coordinator, make_pair, officer, programme, talk
from tests.unit.features.test_plan_checkins import lyon_plan

PLAN = (
    "Lyon's learning plan: Energy performance contracting (EPC) for Public lighting, about "
    "EUR 2,500,000. Next step: “Draft the EPC tender”, by Wednesday 31 March 2027."
)


async def trio(runtime: Runtime) -> tuple[Officer, Officer, Officer]:
    await coordinator(runtime)
    marie = await officer(runtime, "Marie Dubois", authority="Lyon", country="FR")
    pieter = await officer(runtime, "Pieter Janssens", authority="Ghent", country="BE")
    aino = await officer(runtime, "Aino Virtanen", authority="Helsinki", country="FI")
    await lyon_plan(runtime, marie)
    return marie, pieter, aino


async def test_the_mentor_reads_the_plan_in_the_introduction_and_with_plans(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    marie, pieter, aino = await trio(runtime)
    await make_pair(runtime, marie, pieter, status=PairStatus.APPROVED)
    await runtime.tick()
    assert PLAN in messenger.transcript("pieter")
    assert "learning plan" not in messenger.transcript("marie")  # her own: /plan shows it

    shown = await talk(runtime, messenger, "pieter").say("/plans")
    assert shown.startswith("Learning plans of the authorities you mentor:")
    assert "• Lyon, FR (pair #1): Energy performance contracting (EPC) for Public lighting" in shown
    assert "Next step: “Draft the EPC tender”, by Wednesday 31 March 2027" in shown
    assert "You mentor no pair" in await talk(runtime, messenger, "aino").say("/plans")
    assert "You mentor no pair" in await talk(runtime, messenger, "marie").say("/plans")
    everyone = await talk(runtime, messenger, "anna").say("/plans")
    assert everyone.startswith("Learning plans of the programme's authorities:")
    assert "Lyon, FR (programme)" in everyone

    async with UnitOfWork(runtime.sessionmaker) as uow:
        assert marie.authority_id is not None
        found = await service.plan_for_mentor(uow, pieter, marie.authority_id)
        assert found is not None and found.next_step == "Draft the EPC tender"
        with pytest.raises(service.NotAllowed):
            await service.plan_for_mentor(uow, aino, marie.authority_id)
        assert await service.plan_for_mentor(uow, aino, marie.authority_id, coordinator=True)


async def test_a_closed_pair_no_longer_shows_the_plan_and_a_learner_without_plan_shows_none(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    marie, pieter, aino = await trio(runtime)
    await make_pair(runtime, marie, pieter, status=PairStatus.CLOSED)
    await make_pair(runtime, aino, pieter, status=PairStatus.ACTIVE)
    said = await talk(runtime, messenger, "pieter").say("/plans")
    assert said == "None of the authorities you mentor has a learning plan yet."


async def test_a_group_mentor_reads_the_learners_plans_in_the_introduction_and_with_plans(
    runtime: Runtime, clock: FrozenClock, messenger: FakeMessenger
) -> None:
    from handlers.groups import service as groups

    marie, pieter, aino = await trio(runtime)
    await programme(runtime)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        cycle = await groups.create_cycle(
            uow, runtime.content.current.taxonomy, name="Cycle 1",
            starts_on=clock.now().date(), ends_on=clock.now().date().replace(year=2027),
            modules=["public_lighting"], programme_slug="prospect",
        )  # fmt: skip
        group = await uow.groups.add(
            PeerGroup(cycle_id=cycle["id"], scheme="epc", status="approved"),
            [
                GroupMember(
                    authority_id=who.authority_id, officer_id=who.id, role=role
                )  # fmt: skip
                for who, role in ((pieter, "mentor"), (marie, "learner"), (aino, "learner"))
            ],
        )
        await uow.commit()
    await runtime.tick()
    assert PLAN in messenger.transcript("pieter")
    assert "learning plan" not in messenger.transcript("aino")
    shown = await talk(runtime, messenger, "pieter").say("/plans")
    assert f"• Lyon, FR (group #{group.id})" in shown and "Helsinki" not in shown
