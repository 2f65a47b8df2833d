"""Check-ins ask a learner with a learning plan about the plan's next step: done moves the
project a stage on and asks for the next step, under way keeps it, stuck tells the
coordinators; the mentor, and a learner without a plan, get the old "how is it going"."""

from __future__ import annotations

from datetime import date

import pytest

from bot.app import Runtime
from handlers.core.clock import FrozenClock
from handlers.groups import service as groups
from handlers.outcomes import service
from storage.models import Officer
from storage.uow import UnitOfWork
from tests.support.fakes import FakeMessenger, Talk
from tests.support.peers import coordinator, officer, talk
from tests.unit.features.test_checkins import active_pair, checkins
from tests.unit.features.test_group_sessions import introduced_group


async def lyon_plan(runtime: Runtime, marie: Officer, step: str = "Draft the EPC tender") -> None:
    tax = runtime.content.current.taxonomy
    async with UnitOfWork(runtime.sessionmaker) as uow:
        await service.set_plan(
            uow,
            marie,
            service.PlanDraft("epc", "public_lighting", 2_500_000, step, date(2027, 3, 31)),
            schemes=tax.codes("instruments"),
            sectors=tax.codes("sectors"),
        )
        await uow.commit()


async def stages(runtime: Runtime) -> list[tuple[str, str]]:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        return [(r["authority"], r["stage_by_scheme"]) for r in await service.list_outcomes(uow)]


async def test_the_learner_is_asked_about_the_plans_step_and_done_moves_the_project_on(
    runtime: Runtime, clock: FrozenClock, messenger: FakeMessenger
) -> None:
    await coordinator(runtime)
    marie = await officer(runtime, "Marie Dubois", authority="Lyon", country="FR")
    pieter = await officer(runtime, "Pieter Janssens", authority="Ghent", country="BE")
    await lyon_plan(runtime, marie)
    await active_pair(runtime, marie, pieter, clock.now())
    await runtime.tick()
    await runtime.tick()

    asked = messenger.to("marie")[-1].reply
    assert "Your next step was “Draft the EPC tender”, by Wednesday 31 March 2027" in asked.text
    assert [c.label for c in asked.choices] == ["Done", "Under way", "Stuck", "End this pair"]
    mentor = messenger.to("pieter")[-1].reply
    assert "how is your pair with Marie Dubois" in mentor.text  # the mentor: the old question
    assert [c.label for c in mentor.choices][0] == "We met"

    lyon = talk(runtime, messenger, "marie", "Marie Dubois")
    said = await lyon.press("Done")
    assert (
        "Has your project with Energy performance contracting (EPC) now reached its first stage, “Learning”?"
        in said
    )
    said = await lyon.press("Yes")
    assert "Recorded: Energy performance contracting (EPC), stage “Learning”" in said
    assert "What is your next step" in said
    assert "Please describe the next step" in await lyon.say("ok")
    assert "By when" in await lyon.say("Present the business case to the council")
    assert "That date has passed" in await lyon.say("2026-01-05")
    saved = await lyon.say("30/04/2027")
    assert "Next step saved: “Present the business case to the council”" in saved
    assert await stages(runtime) == [("Lyon", {"epc": "learning"})]
    async with UnitOfWork(runtime.sessionmaker) as uow:
        plan = await service.plan_of(uow, marie.authority_id)
    assert plan is not None and plan.target_date == date(2027, 4, 30)
    assert plan.next_step == "Present the business case to the council"
    assert plan.step_status is None  # a new step: nothing answered about it yet
    [row] = await checkins(runtime)
    assert row.answer == "step_done" and row.answered_at is not None

    # the next check-in asks about the new step; 'Done' again moves one stage on only
    clock.advance(days=14)
    await runtime.tick()
    assert "“Present the business case to the council”" in messenger.to("marie")[-1].reply.text
    said = await lyon.press("Done")
    assert "stage “Learning”" in said and "“Project defined”" in said
    assert "Fine, the step stays" not in said
    said = await lyon.press("Not yet")
    assert "What is your next step" in said
    assert "step stays" in await lyon.press("Cancel")
    assert await stages(runtime) == [("Lyon", {"epc": "learning"})]


async def test_under_way_keeps_the_stage_and_stuck_tells_the_coordinators(
    runtime: Runtime, clock: FrozenClock, messenger: FakeMessenger
) -> None:
    await coordinator(runtime)
    marie = await officer(runtime, "Marie Dubois", authority="Lyon", country="FR")
    pieter = await officer(runtime, "Pieter Janssens", authority="Ghent", country="BE")
    await lyon_plan(runtime, marie)
    await active_pair(runtime, marie, pieter, clock.now())
    await runtime.tick()
    lyon = talk(runtime, messenger, "marie", "Marie Dubois")
    said = await lyon.press("Under way")
    assert "“Draft the EPC tender” is under way" in said
    assert "step stays" in await lyon.press("Keep this step")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        plan = await service.plan_of(uow, marie.authority_id)
    assert plan is not None and plan.step_status == "under_way"
    assert await stages(runtime) == [("Lyon", {})]

    clock.advance(days=14)
    await runtime.tick()
    said = await lyon.press("Stuck")
    assert "the coordinators know" in said
    await runtime.tick()
    assert "Pair #1 needs help: Marie Dubois" in messenger.transcript("anna")
    rows = await checkins(runtime)
    assert [r.answer for r in rows] == ["step_under_way", "stuck"]


async def test_without_a_plan_the_old_check_in_stays_and_the_plan_speaks_french(
    runtime: Runtime, clock: FrozenClock, messenger: FakeMessenger
) -> None:
    marie = await officer(runtime, "Marie Dubois", authority="Lyon", country="FR")
    pieter = await officer(runtime, "Pieter Janssens", authority="Ghent", country="BE")
    aino = await officer(runtime, "Aino Virtanen", authority="Helsinki", country="FI")
    await active_pair(runtime, aino, pieter, clock.now())
    await lyon_plan(runtime, marie, step="Rédiger l'appel d'offres CPE")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        found = await uow.officers.get(marie.id)
        assert found is not None
        found.locale = "fr"
        await uow.commit()
    await active_pair(runtime, marie, pieter, clock.now())
    await runtime.tick()
    assert [c.label for c in messenger.to("aino")[-1].reply.choices][0] == "We met"
    text = messenger.to("marie")[-1].reply.text
    assert "Votre prochaine étape était « Rédiger l'appel d'offres CPE »" in text
    assert "point d'étape de votre binôme avec Pieter Janssens" in text


async def test_a_group_learner_with_a_plan_is_asked_about_the_step(
    runtime: Runtime, clock: FrozenClock, messenger: FakeMessenger
) -> None:
    await coordinator(runtime)
    ivana = await officer(runtime, "Ivana Horvat", authority="Zagreb", country="HR")
    marie = await officer(runtime, "Marie Dubois", authority="Lyon", country="FR")
    await lyon_plan(runtime, marie)
    group_id = await introduced_group(runtime, [ivana, marie])  # Ivana mentors
    clock.advance(days=14)
    await runtime.tick()
    asked = messenger.to("marie")[-1].reply
    assert asked.text.startswith("How is your Energy performance contracting (EPC) group going?")
    assert "Your next step was “Draft the EPC tender”" in asked.text
    assert [c.label for c in asked.choices] == ["Done", "Under way", "Stuck"]
    assert [c.label for c in messenger.to("ivana")[-1].reply.choices][0] == "Going well"
    said = await Talk(runtime.core, messenger, user_id="marie").press("Done")
    assert "reached its first stage, “Learning”" in said
    await Talk(runtime.core, messenger, user_id="ivana").press("Going well")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        shown = await groups.show(uow, group_id)
        plan = await service.plan_of(uow, marie.authority_id)
    assert shown is not None and shown["health"] == "good"
    assert plan is not None and plan.step_status == "done"


async def test_only_the_next_stage_and_only_the_own_plan_can_be_advanced(
    runtime: Runtime, clock: FrozenClock
) -> None:
    marie = await officer(runtime, "Marie Dubois", authority="Lyon", country="FR")
    pieter = await officer(runtime, "Pieter Janssens", authority="Ghent", country="BE")
    await lyon_plan(runtime, marie)
    schemes = runtime.content.current.taxonomy.codes("instruments")
    today = clock.now().date()
    async with UnitOfWork(runtime.sessionmaker) as uow:
        for who, stage, key in (
            (marie, "financed", "stage_not_next"),
            (marie, "decision_taken", "stage_not_next"),
            (pieter, "learning", "no_plan"),
        ):
            with pytest.raises(service.Invalid) as refused:
                await service.advance_plan_stage(uow, who, stage, schemes=schemes, today=today)
            assert refused.value.key == key
        for stage in ("learning", "project_defined", "investment_ready", "decision_taken"):
            await service.advance_plan_stage(uow, marie, stage, schemes=schemes, today=today)
        choice = await service.stage_after_step(uow, marie)
        assert (choice.current, choice.next) == ("decision_taken", None)  # financed: /outcome
        with pytest.raises(service.Invalid) as bad:
            await service.answer_plan_step(uow, marie, "maybe", clock.now())
        assert bad.value.key == "bad_step_answer"
