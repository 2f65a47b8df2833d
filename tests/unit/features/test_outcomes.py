"""From learning to investment: Lyon sets its learning plan, learns EPC from Ghent in a pair
(Ghent's officer sees the plan; the check-in asks about the plan's step), answers the
satisfaction survey when the pair closes, and records that its street-lighting project is
financed with EUR 2.4 M through an EPC; the FAQ then cites Ghent's practice with its figures. The funders' figures in JSON, on the page and
in the XLSX workbook agree with each other and with the values worked out by hand."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from bot.app import Runtime
from bot.web.render import render_report, translator_for
from handlers.core.clock import FrozenClock
from handlers.outcomes import service
from handlers.outcomes.export import DEFINITIONS, TOTAL, write_workbook
from handlers.outcomes.rules import INDICATORS, KPI_KEYS, check_application, parse_day, parse_figure
from handlers.practices.rules import PracticeFigures
from handlers.practices.service import set_figures
from handlers.report.figures import build_report
from storage.models import FaqQuery, Officer, Pair, PairStatus
from storage.uow import UnitOfWork
from tests.support.fakes import FakeMessenger
from tests.support.peers import coordinator, make_pair, officer, practice, programme, talk

EPC = "Energy performance contracting (EPC)"


async def people(runtime: Runtime) -> tuple[Officer, Officer, Officer]:
    await coordinator(runtime)
    marie = await officer(runtime, "Marie Dubois", authority="Lyon", country="FR")
    pieter = await officer(runtime, "Pieter Janssens", authority="Ghent", country="BE")
    aino = await officer(runtime, "Aino Virtanen", authority="Helsinki", country="FI")
    await practice(
        runtime, pieter, "EPC for 40,000 street lights", sector="public_lighting",
        instruments=("epc",), year=2019,
    )  # fmt: skip
    return marie, pieter, aino


async def closed_pair(runtime: Runtime, learner: Officer, mentor: Officer) -> Pair:
    """A pair that ran (both accepted) and has just ended."""
    pair = await make_pair(runtime, learner, mentor, topic="epc", status=PairStatus.ACTIVE)
    now = runtime.clock.now()
    async with UnitOfWork(runtime.sessionmaker) as uow:
        await uow.session.execute(
            update(Pair)
            .where(Pair.id == pair.id)
            .values(status=PairStatus.CLOSED, activated_at=now, closed_at=now, close_reason="done")
        )
        await uow.commit()
    return pair


async def questions(runtime: Runtime, marie: Officer, pieter: Officer, aino: Officer) -> None:
    """Two answered questions (one by the FAQ, one by a coordinator) and two that do not count."""
    now = runtime.clock.now()
    async with UnitOfWork(runtime.sessionmaker) as uow:
        uow.session.add_all(
            [
                FaqQuery(officer_id=marie.id, text="What is an EPC?", outcome="answer"),
                FaqQuery(officer_id=aino.id, text="Green bonds?", outcome="answer", feedback="no"),
                FaqQuery(officer_id=aino.id, text="Crowdfunding for schools?", outcome="unknown"),
                FaqQuery(
                    officer_id=pieter.id,
                    text="ELENA deadline?",
                    outcome="unknown",
                    answered_at=now,
                    answer_text="31 March",
                ),  # fmt: skip
            ]
        )
        await uow.commit()


async def test_lyon_plans_learns_from_ghent_is_financed_and_the_figures_agree(
    runtime: Runtime, clock: FrozenClock, messenger: FakeMessenger, tmp_path: Path
) -> None:
    marie, pieter, aino = await people(runtime)
    await questions(runtime, marie, pieter, aino)
    lyon = talk(runtime, messenger, "marie", "Marie Dubois")
    ghent = talk(runtime, messenger, "pieter", "Pieter Janssens")

    # 1. the learning plan, in chat
    assert "five short questions" in await lyon.say("/plan")
    assert "which sector" in (await lyon.press(EPC)).lower()
    assert "how large" in (await lyon.press("Public lighting")).lower()
    assert "next step" in (await lyon.say("2.5 million")).lower()
    assert "by when" in (await lyon.say("Draft the EPC tender with our legal team")).lower()
    assert "date has passed" in await lyon.say("2020-01-01")
    saved = await lyon.say("31/03/2027")
    assert "Plan saved" in saved and "Public lighting" in saved and "Draft the EPC tender" in saved
    async with UnitOfWork(runtime.sessionmaker) as uow:
        plan = await service.plan_of(uow, marie.authority_id)
    assert plan is not None
    assert (plan.scheme, plan.sector, plan.size_eur) == ("epc", "public_lighting", 2_500_000)
    assert plan.target_date == date(2027, 3, 31)

    # 2. the pair with Ghent runs: Pieter, the mentor, sees Lyon's plan; the check-in asks
    # Marie about her step, which moves the project to "learning" and sets the next step
    pair = await make_pair(runtime, marie, pieter, topic="epc", status=PairStatus.ACTIVE)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        await uow.session.execute(
            update(Pair)
            .where(Pair.id == pair.id)
            .values(activated_at=clock.now(), next_checkin_at=clock.now())
        )
        await uow.commit()
    plans = await ghent.say("/plans")
    assert "• Lyon, FR (pair #1): Energy performance contracting (EPC) for Public lighting" in plans
    assert "Next step: “Draft the EPC tender with our legal team”" in plans
    await runtime.tick()
    checkin = messenger.to("marie")[-1].reply
    assert "Your next step was “Draft the EPC tender with our legal team”" in checkin.text
    assert "reached its first stage, “Learning”" in await lyon.press("Done")
    assert "What is your next step" in await lyon.press("Yes")
    await lyon.say("Launch the EPC tender for 12,000 street lights")
    assert "Next step saved" in await lyon.say("31/05/2027")
    assert "“Launch the EPC tender for 12,000 street lights”" in await ghent.say("/plans")

    # 3. the pair with Ghent ends; both are asked how useful it was, in their language
    async with UnitOfWork(runtime.sessionmaker) as uow:
        await uow.session.execute(
            update(Pair)
            .where(Pair.id == pair.id)
            .values(status=PairStatus.CLOSED, closed_at=clock.now(), close_reason="done")
        )
        await uow.commit()
    await runtime.tick()
    await runtime.tick()  # a second tick asks nobody twice
    asked = [t for t in messenger.transcript("marie").split("\n") if "has ended" in t]
    assert len(asked) == 1 and "Pieter Janssens" in asked[0]
    assert [c.label for c in lyon.last().choices] == ["1", "2", "3", "4", "5"]
    assert "One comment" in await lyon.press("4")
    assert "Thank you, your answer" in await lyon.say("The site visit to Ghent helped most.")
    assert "One comment" in await ghent.press("5")
    assert "Thank you, your answer" in await ghent.press("Skip")

    # 4. the coordinator records the council's decision, then Lyon records the financing
    async with UnitOfWork(runtime.sessionmaker) as uow:
        await service.record_outcome(
            uow,
            None,
            service.OutcomeDraft(
                scheme="epc",
                stage="decision_taken",
                reached_on=date(2026, 10, 5),
                evidence_url="https://lyon.example/council/2026-118",
                savings_mwh=1000.0,
                method="Feasibility study",
            ),  # fmt: skip
            schemes=runtime.content.current.taxonomy.codes("instruments"),
            today=clock.now().date(),
            authority_id=marie.authority_id,
            coordinator=True,
        )
        await service.record_outcome(
            uow,
            None,
            service.OutcomeDraft(
                scheme="soft_loan",
                stage="project_defined",
                reached_on=date(2026, 11, 2),
                savings_mwh=50.0,
                method="Energy audit of the town hall",
            ),  # fmt: skip
            schemes=runtime.content.current.taxonomy.codes("instruments"),
            today=clock.now().date(),
            authority_id=aino.authority_id,
            coordinator=True,
        )
        await uow.commit()
    assert "what the learning led to" in await lyon.say("/outcome")
    assert "Which stage" in await lyon.press(EPC)
    assert "How much" in await lyon.press("Financed")
    assert "could not read an amount" in await lyon.say("a lot")
    assert "main instrument" in await lyon.say("2.4 million")
    assert "Where does the money come from" in await lyon.press(EPC)
    assert "On which day" in await lyon.say("ESCO investment 70%, ERDF 30%")
    assert "link to the evidence" in await lyon.press("Today")
    assert "http://" in await lyon.say("the council website")
    assert "energy savings" in await lyon.say("https://lyon.example/council/2026-131")
    assert "renewable" in await lyon.say("1,200 MWh")
    assert "CO2" in await lyon.press("Skip")
    assert "How were these figures estimated" in await lyon.say("300")
    done = await lyon.say("Energy audit before and after; national factor 0.25 t/MWh")
    assert 'stage "Financed"' in done and "replication" in done

    async with UnitOfWork(runtime.sessionmaker) as uow:
        listed = await service.list_outcomes(uow)
    by_name = {row["authority"]: row for row in listed}
    assert by_name["Lyon"]["stage_by_scheme"] == {"epc": "financed"}
    assert [s["stage"] for s in by_name["Lyon"]["stages"]] == [
        "learning", "decision_taken", "financed",
    ]  # fmt: skip
    financed = next(s for s in by_name["Lyon"]["stages"] if s["stage"] == "financed")
    assert financed["amount_eur"] == 2_400_000 and financed["instrument"] == "epc"
    assert financed["replication"] and financed["practice_id"] is not None
    assert financed["reached_on"] == "2026-11-24"
    assert by_name["Lyon"]["plan"]["scheme"] == "epc"
    assert not by_name["Helsinki"]["stages"][0]["replication"]

    # 5. the funders' figures, worked out by hand
    home = await programme(runtime)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        report = await build_report(uow, {home.id}, clock.now())
    figures = report.to_json()
    expected = {
        "authorities_engaged": 3,  # Lyon, Ghent, Helsinki (the coordinator's is not one)
        "officers": 3,
        "countries": 3,
        "learning_groups": 0,
        "pairs": 1,
        "schemes": 1,  # Ghent's approved EPC practice
        "mentor_authorities": 1,
        "questions_answered": 2,  # Marie's by the FAQ, Pieter's by a coordinator
        "investments_eur": 2_400_000,
        "energy_savings_mwh_per_year": 1250,  # Lyon's latest estimate 1200 (not 1000) + 50
        "renewable_mwh_per_year": 0,
        "co2_avoided_t_per_year": 300,
        "replications": 1,
        "satisfaction_mean": 4.5,
        "satisfaction_n": 2,
    }
    assert figures["kpis"] == expected
    rows = {r["authority"]: r for r in figures["kpis_by_authority"]}
    assert rows["Lyon"]["investments_eur"] == 2_400_000 and rows["Lyon"]["replications"] == 1
    assert rows["Lyon"]["satisfaction_mean"] == 4.0 and rows["Ghent"]["satisfaction_mean"] == 5.0
    assert rows["Ghent"]["mentor_authorities"] == 1 and rows["Lyon"]["mentor_authorities"] == 0
    assert rows["Helsinki"]["energy_savings_mwh_per_year"] == 50

    # the page shows the same figures
    content = runtime.content.current
    page = render_report(report, translator_for(content.t, "en"), lang="en")
    shown = dict(re.findall(r'data-kpi="(\w+)" data-raw="([^"]*)"', page))
    assert list(shown) == list(KPI_KEYS)
    for key, value in expected.items():
        assert shown[key] == str(value), key
    assert "Investments triggered (EUR)" in page and "2,400,000" in page

    # and so does the workbook: one sheet per indicator, one row per authority, definitions
    path = tmp_path / "kpis.xlsx"
    write_workbook(path, report.kpis, report.kpis_by_authority, report.generated_at, ["prospect"])
    book = load_workbook(path)
    assert book.sheetnames == [DEFINITIONS, *KPI_KEYS]
    definitions = {r[0]: r for r in book[DEFINITIONS].iter_rows(min_row=2, values_only=True) if r}
    for indicator in INDICATORS:
        key, unit, frameworks, method, total = definitions[indicator.key]
        assert total == expected[key] and frameworks and method
    assert "H2020" in definitions["investments_eur"][2]
    assert "LIFE CET" in definitions["authorities_engaged"][2]
    assert "Interreg" in definitions["replications"][2]
    for key, value in expected.items():
        sheet = list(book[key].iter_rows(values_only=True))
        assert sheet[0] == ("authority", "country", key)
        assert sheet[-1] == (TOTAL, None, value) or sheet[-1][2] == value, key
        per_authority = {r[0]: r[2] for r in sheet[1:-1]}
        assert per_authority == {name: rows[name][key] for name in rows}, key

    # 6. Ghent's practice carries its figures, and the FAQ cites them to Lyon
    async with UnitOfWork(runtime.sessionmaker) as uow:
        await set_figures(
            uow, pieter, financed["practice_id"],
            PracticeFigures(12_000_000, {"epc": 70, "eu_funds": 30}, 5_000.0, None, 1_250.0),
            runtime.content.current.taxonomy.codes("instruments"),
        )  # fmt: skip
        await uow.commit()
    answer = await lyon.say("/ask what is energy performance contracting?")
    assert (
        "Cities that did this: Ghent — EPC for 40,000 street lights (2019): €12M via EPC, "
        "5,000 MWh/year saved, 1,250 t CO2/year avoided"
    ) in answer


async def test_an_officer_records_only_for_their_own_authority_and_stages_need_their_facts(
    runtime: Runtime, clock: FrozenClock
) -> None:
    marie, pieter, _ = await people(runtime)
    schemes = runtime.content.current.taxonomy.codes("instruments")
    today = clock.now().date()

    async def record(draft: service.OutcomeDraft, **kw: Any) -> None:
        async with UnitOfWork(runtime.sessionmaker) as uow:
            await service.record_outcome(uow, marie, draft, schemes=schemes, today=today, **kw)

    with pytest.raises(service.NotAllowed):
        await record(
            service.OutcomeDraft("epc", "learning", today), authority_id=pieter.authority_id
        )
    refusals = {
        "financed_needs_amount": service.OutcomeDraft("epc", "financed", today),
        "financed_needs_sources": service.OutcomeDraft(
            "epc", "financed", today, amount_eur=10, instrument="epc"
        ),
        "figures_need_method": service.OutcomeDraft("epc", "learning", today, co2_t=3.0),
        "future_date": service.OutcomeDraft("epc", "learning", date(2027, 1, 1)),
        "unknown_stage": service.OutcomeDraft("epc", "dreaming", today),
        "unknown_scheme": service.OutcomeDraft("magic", "learning", today),
        "bad_link": service.OutcomeDraft("epc", "learning", today, evidence_url="javascript:x"),
        "amount_only_when_financed": service.OutcomeDraft("epc", "learning", today, amount_eur=5),
    }
    for key, draft in refusals.items():
        with pytest.raises(service.Invalid) as refused:
            await record(draft)
        assert refused.value.key == key
        assert runtime.content.current.t("fr", f"outcomes.errors.{key}") != key


async def test_the_survey_and_the_plan_speak_the_officers_language(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    marie, pieter, _ = await people(runtime)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        found = await uow.officers.get(marie.id)
        assert found is not None
        found.locale = "fr"
        await uow.commit()
    await closed_pair(runtime, marie, pieter)
    await runtime.tick()
    assert "votre binôme avec Pieter Janssens" in messenger.transcript("marie")
    lyon = talk(runtime, messenger, "marie", "Marie Dubois", locale="fr")
    assert "Un commentaire" in await lyon.press("3")
    assert "Merci, votre réponse" in await lyon.press("Passer")
    assert "cinq questions courtes" in await lyon.say("/plan")
    assert "C'est arrêté" in await lyon.say("annuler")


def test_answers_are_read_the_way_officers_write_them() -> None:
    today = date(2026, 11, 24)
    assert parse_day("31.03.2027", today) == date(2027, 3, 31)
    assert parse_day("heute", today) == today
    assert parse_day("31/02/2027", today) is None
    assert parse_figure("1 200,5") == 1200.5
    assert parse_figure("1,200.5") == 1200.5
    assert parse_figure("12.000") == 12000
    assert parse_figure("35,5 MWh") == 35.5
    assert parse_figure("-3") is None and parse_figure("lots") is None

    def country(text: str) -> str | None:
        return {"belgium": "BE"}.get(text.lower())

    good = {
        "authority": "Leuven", "country": "Belgium", "contact_name": "An Peeters",
        "email": "an.peeters@leuven.example", "wants": "LED street lighting via an EPC",
        "consent": "yes",
    }  # fmt: skip
    assert check_application(good, country).ok
    assert check_application({**good, "website": "http://spam"}, country).errors == {"form": "spam"}
    bad = check_application(
        {**good, "email": "not-an-email", "country": "Atlantis", "consent": "", "wants": "x"},
        country,
    )
    assert bad.errors == {
        "email": "bad_email",
        "country": "bad_country",
        "consent": "consent_needed",
        "wants": "too_short",
    }


async def test_a_survey_is_only_for_pairs_that_ran_and_closed_recently(
    runtime: Runtime, clock: FrozenClock, messenger: FakeMessenger
) -> None:
    marie, pieter, aino = await people(runtime)
    declined = await make_pair(runtime, aino, pieter, status=PairStatus.DECLINED)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        await uow.session.execute(
            update(Pair).where(Pair.id == declined.id).values(closed_at=clock.now())
        )
        await uow.commit()
    await closed_pair(runtime, marie, pieter)
    clock.set(datetime(2026, 12, 20, 10, tzinfo=UTC))  # 26 days later: too late to ask
    await runtime.tick()
    assert "has ended" not in messenger.transcript("marie")
    assert "has ended" not in messenger.transcript("aino")


async def test_the_survey_answer_is_in_export_and_forget_leaves_the_authoritys_outcomes(
    runtime: Runtime, clock: FrozenClock, messenger: FakeMessenger
) -> None:
    marie, pieter, _ = await people(runtime)
    await closed_pair(runtime, marie, pieter)
    await runtime.tick()
    lyon = talk(runtime, messenger, "marie", "Marie Dubois")
    await lyon.press("2")
    await lyon.say("Too few meetings.")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        await service.record_outcome(
            uow, marie, service.OutcomeDraft("epc", "project_defined", clock.now().date()),
            schemes=runtime.content.current.taxonomy.codes("instruments"),
            today=clock.now().date(),
        )  # fmt: skip
        await uow.commit()
    exported = json.loads((await lyon.say("/export")).split("\n", 1)[1])
    assert [(s["score"], s["comment"]) for s in exported["satisfaction_surveys"]] == [
        (2, "Too few meetings.")
    ]
    await lyon.say("/forget")
    assert "has been deleted" in await lyon.press("Yes, delete my data")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        listed = await service.list_outcomes(uow)
        surveys = await uow.surveys.answered([p.id for p in await uow.kpis.pairs([1])])
    assert [(r["authority"], r["stage_by_scheme"]) for r in listed] == [
        ("Lyon", {"epc": "project_defined"})
    ]  # the authority and its outcome stay; Marie's words do not
    assert [s.officer_id for s in surveys] == []


async def test_a_request_nobody_followed_up_is_deleted_after_a_year(
    runtime: Runtime, clock: FrozenClock
) -> None:
    def country(text: str) -> str | None:
        return {"belgium": "BE"}.get(text.lower())

    form = {
        "authority": "Leuven", "country": "Belgium", "contact_name": "An Peeters",
        "email": "an@leuven.example", "wants": "LED street lighting via an EPC", "consent": "yes",
    }  # fmt: skip
    async with UnitOfWork(runtime.sessionmaker) as uow:
        kept = await service.submit_application(uow, form, "en", clock.now(), country)
        stale = await service.submit_application(
            uow, {**form, "email": "bo@mechelen.example"}, "en", clock.now(), country
        )
        assert kept.application_id and stale.application_id
        await service.accept_application(uow, kept.application_id, "anna", clock.now())
        await uow.commit()
    clock.set(datetime(2027, 11, 23, 10, tzinfo=UTC))  # 364 days on: still kept
    await runtime.tick()
    async with UnitOfWork(runtime.sessionmaker) as uow:
        assert len(await service.list_applications(uow)) == 2
    clock.set(datetime(2027, 11, 26, 10, tzinfo=UTC))
    await runtime.tick()
    async with UnitOfWork(runtime.sessionmaker) as uow:
        left = await service.list_applications(uow)
    assert [(a["email"], a["status"]) for a in left] == [("an@leuven.example", "accepted")]


async def test_learning_groups_count_the_groups_that_met_and_each_authoritys_seats(
    runtime: Runtime,
) -> None:
    """A group introduced in a cycle counts, for the programme and for each authority seated in
    it; a group only proposed does not."""
    from storage.models import GroupMember, LearningCycle, PeerGroup

    marie, pieter, aino = await people(runtime)
    home = await programme(runtime)
    now = runtime.clock.now()
    async with UnitOfWork(runtime.sessionmaker) as uow:
        cycle = LearningCycle(
            programme_id=home.id, name="Cycle 1", starts_on=datetime(2026, 9, 1, tzinfo=UTC),
            ends_on=datetime(2027, 3, 1, tzinfo=UTC), modules=["public_lighting"],
        )  # fmt: skip
        uow.add(cycle)
        await uow.flush()
        met = PeerGroup(cycle_id=cycle.id, scheme="epc", introduced_at=now, status="introduced")
        proposed = PeerGroup(cycle_id=cycle.id, scheme="green_bond", status="proposed")
        uow.add(met)
        uow.add(proposed)
        await uow.flush()
        for group, who, role in (
            (met, pieter, "mentor"), (met, marie, "learner"), (proposed, aino, "learner"),
        ):  # fmt: skip
            assert who.authority_id is not None
            uow.add(
                GroupMember(
                    group_id=group.id, authority_id=who.authority_id, officer_id=who.id, role=role
                )
            )
        await uow.commit()
    async with UnitOfWork(runtime.sessionmaker) as uow:
        kpis = await service.programme_kpis(uow, {home.id})
    assert kpis.totals["learning_groups"] == 1
    seats = {row["authority"]: row["learning_groups"] for row in kpis.by_authority}
    assert seats == {"Lyon": 1, "Ghent": 1, "Helsinki": 0}


async def test_a_scheme_learnt_in_a_group_replicates_a_group_mentors_practice(
    runtime: Runtime, clock: FrozenClock
) -> None:
    from storage.models import GroupMember, LearningCycle, PeerGroup

    marie, pieter, aino = await people(runtime)
    home = await programme(runtime)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        cycle = LearningCycle(
            programme_id=home.id, name="Cycle 1", starts_on=datetime(2026, 9, 1, tzinfo=UTC),
            ends_on=datetime(2027, 3, 1, tzinfo=UTC), modules=["public_lighting"],
        )  # fmt: skip
        uow.add(cycle)
        await uow.flush()
        group = PeerGroup(
            cycle_id=cycle.id, scheme="epc", introduced_at=clock.now(), status="introduced"
        )
        uow.add(group)
        await uow.flush()
        for who, role in ((pieter, "mentor"), (marie, "learner")):
            assert who.authority_id is not None
            uow.add(
                GroupMember(
                    group_id=group.id, authority_id=who.authority_id, officer_id=who.id, role=role
                )
            )
        await uow.commit()
    schemes = runtime.content.current.taxonomy.codes("instruments")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        financed = await service.record_outcome(
            uow, marie,
            service.OutcomeDraft(
                "epc", "financed", clock.now().date(), amount_eur=2_400_000, instrument="epc",
                sources="ESCO, ERDF",
            ),
            schemes=schemes, today=clock.now().date(),
        )  # fmt: skip
        learnt = await service.record_outcome(
            uow, aino, service.OutcomeDraft("epc", "financed", clock.now().date(),
            amount_eur=10, instrument="epc", sources="city"),
            schemes=schemes, today=clock.now().date(),
        )  # fmt: skip
        shown = service.outcome_json(financed)
        alone = service.outcome_json(learnt)
    assert shown["pair_id"] is None and shown["practice_id"] is not None and shown["replication"]
    assert alone["practice_id"] is None and not alone["replication"]  # Helsinki was not there
