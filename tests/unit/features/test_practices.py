"""Good practices: a mentor shares one, a coordinator approves it, officers find it."""

from __future__ import annotations

from bot.app import Runtime
from handlers.practices.files import export_yaml, import_yaml
from handlers.practices.flow import parse_amount, practices_citation
from storage.models import GoodPractice
from storage.uow import UnitOfWork
from tests.support.fakes import FakeMessenger
from tests.support.peers import coordinator, officer, practice, talk


async def practices(runtime: Runtime) -> list[GoodPractice]:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        return list(await uow.practices.list())


async def test_a_mentor_shares_a_practice_and_a_coordinator_publishes_it(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    await coordinator(runtime)
    await officer(runtime, "Pieter Janssens", authority="Ghent", country="BE", offers=("epc",))
    await officer(runtime, "Marie Dubois", authority="Lyon", country="FR", wants=("epc",))
    pieter = talk(runtime, messenger, "pieter")
    anna = talk(runtime, messenger, "anna")
    marie = talk(runtime, messenger, "marie")

    assert "good practice" in await pieter.say("/share")
    await pieter.say("EPC for 40,000 street lights")
    await pieter.press("Public lighting")
    await pieter.press("Energy performance contracting")
    await pieter.press("ESCO")
    await pieter.press("Done")
    assert "invested" in pieter.last().text
    await pieter.say("about 12 million euros")
    await pieter.say("ESCO 70%, city budget 30%")
    assert "MWh" in await pieter.say("60% less electricity, paid back in 12 years")
    assert "could not read a figure" in await pieter.say("plenty")
    assert "renewable" in await pieter.say("1 200 MWh")
    await pieter.press("Skip")
    assert "which year" in await pieter.say("300 t")
    await pieter.say("2019")
    await pieter.press("Skip")  # what they would do differently
    summary = await pieter.press("Pieter Janssens")
    assert "EPC for 40,000 street lights — Ghent (BE), 2019" in summary
    assert "Invested: EUR 12,000,000 (ESCO models 70%)" in summary
    assert "Funding: ESCO 70%" in summary
    assert "Every year: 1,200 MWh/year saved, 300 t CO2/year avoided" in summary
    assert "Would do differently" not in summary
    assert "with the coordinators" in await pieter.press("Submit")

    [stored] = await practices(runtime)
    assert stored.status == "pending" and stored.instruments == ["epc", "esco"]
    assert stored.investment_eur == 12_000_000 and stored.instrument_mix == {"esco": 70}
    assert (stored.savings_mwh, stored.renewable_mwh, stored.co2_t) == (1200, None, 300)
    assert "No published good practice" in await marie.say("/practices street lighting")

    await runtime.tick()  # the review request reaches the coordinator
    assert "waiting for your review" in messenger.transcript("anna")
    assert "Approved #1" in await anna.press("Approve")
    await runtime.tick()
    assert "is published" in messenger.transcript("pieter")
    [stored] = await practices(runtime)
    assert stored.status == "approved" and stored.reviewed_by_id is not None

    found = await marie.say("/practices street lights")
    assert "EPC for 40,000 street lights" in found
    assert "EPC for 40,000" in await marie.say("/practices energy perfomance contract")
    assert "No published" in await marie.say("/practices crowdfunding for schools")

    # the FAQ answer on the same instrument now cites the published practice
    answer = await marie.say("/ask what is energy performance contracting?")
    assert "Cities that did this: Ghent — EPC for 40,000 street lights (2019)" in answer


async def test_the_share_flow_goes_back_skips_and_cancels(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    await officer(runtime, "Giulia Rossi", authority="Milano", country="IT")
    giulia = talk(runtime, messenger, "giulia")
    await giulia.say("/share")
    assert "characters" in await giulia.say("Fund")  # too short
    await giulia.say("Revolving fund for school retrofits")
    await giulia.say("public buildings")
    assert "instruments" in giulia.last().text
    await giulia.say("back")
    assert "sector" in giulia.last().text
    await giulia.say("public buildings")
    await giulia.say("revolving fund and ELENA")
    assert "invested" in giulia.last().text
    assert "could not read an amount" in await giulia.say("a lot")
    await giulia.say("skip")
    await giulia.say("skip")
    await giulia.say("Savings of EUR 1.9 million a year flow back into the fund.")
    for _ in range(3):  # no yearly figures
        await giulia.say("skip")
    assert "not a year" in await giulia.say("last year")
    await giulia.say("cancel")
    assert await practices(runtime) == []
    assert "Stopped" in giulia.last().text


async def test_coordinators_review_pending_practices_in_chat(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    await coordinator(runtime)
    lena = await officer(runtime, "Lena Weber", authority="Freiburg", country="DE")
    await practice(
        runtime,
        lena,
        "Citizen energy cooperative",
        sector="private_buildings",
        instruments=("energy_cooperative",),
        status="pending",
    )
    anna = talk(runtime, messenger, "anna")
    shown = await anna.say("/practices review")
    assert "Citizen energy cooperative" in shown
    assert "Rejected #1" in await anna.press("Reject")
    await runtime.tick()
    assert "did not publish" in messenger.transcript("lena")
    lena_talk = talk(runtime, messenger, "lena")
    assert "No published" in await lena_talk.say("/practices cooperative")
    assert "No published good practice matches 'review'" in await lena_talk.say("/practices review")


async def test_faq_answers_can_cite_practices_on_the_same_instrument(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    pieter = await officer(runtime, "Pieter Janssens", authority="Ghent", country="BE")
    giulia = await officer(runtime, "Giulia Rossi", authority="Milano", country="IT")
    await practice(
        runtime,
        pieter,
        "EPC for 40,000 street lights",
        sector="public_lighting",
        instruments=("epc",),
        year=2019,
    )
    await practice(
        runtime,
        giulia,
        "Revolving fund for schools",
        sector="public_buildings",
        instruments=("revolving_fund", "epc"),
        year=2021,
    )
    await practice(
        runtime,
        giulia,
        "Draft idea",
        sector="public_buildings",
        instruments=("epc",),
        status="pending",
    )
    async with UnitOfWork(runtime.sessionmaker) as uow:
        content = runtime.content.current
        cited = await practices_citation(uow, ["epc"], "en", content)
        bare = await practices_citation(uow, ["epc"], "en")
        nothing = await practices_citation(uow, ["crowdfunding"], "en", content)
    assert cited == (
        "Cities that did this: Milano — Revolving fund for schools (2021); "
        "Ghent — EPC for 40,000 street lights (2019)"
    )
    assert bare is not None and bare.startswith("Milano — Revolving fund")
    assert nothing is None


GOOD_YAML = """
practices:
  - title: EPC for 40,000 street lights
    authority: Ghent
    country: BE
    sector: public_lighting
    instruments: [epc, esco]
    year: 2019
    amount_eur: 12000000
    instrument_mix: {esco: 70, eu_funds: 30}
    savings_mwh_per_year: 1200
    co2_t_per_year: 300.5
    results: 60% less electricity
  - title: Green bond for schools
    authority: Göteborg
    country: SE
    sector: public_buildings
    instruments: [green_bond]
    officer_email: marie@lyon.example
"""

BAD_YAML = """
- title: Fine one
  authority: Porto
  country: PT
  sector: mobility
  instruments: [soft_loan]
- title: Broken
  authority: Atlantis
  country: ZZ
  sector: space_travel
  instruments: [magic_money]
- {title: No instruments, authority: Oslo, country: NO, sector: mobility, instruments: []}
- {title: Unknown person, authority: Oslo, country: NO, sector: mobility, instruments: [grant], officer_email: nobody@x.eu}
- {title: Too much, authority: Oslo, country: NO, sector: mobility, instruments: [grant], instrument_mix: {grant: 80, epc: 50}}
- {title: Negative, authority: Oslo, country: NO, sector: mobility, instruments: [grant], co2_t_per_year: -3, amount_eur: 0}
- {title: Odd mix, authority: Oslo, country: NO, sector: mobility, instruments: [grant], instrument_mix: {gold: 10}}
"""


async def test_yaml_import_validates_everything_first_and_round_trips(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    await officer(runtime, "Marie Dubois", authority="Lyon", country="FR")
    taxonomy = runtime.content.current.taxonomy
    async with UnitOfWork(runtime.sessionmaker) as uow:
        report = await import_yaml(uow, BAD_YAML, taxonomy)
        await uow.commit()
    assert report.created == 0 and await practices(runtime) == []
    errors = "\n".join(report.errors)
    assert "item 2: country" in errors and "ZZ" in errors
    assert "item 2: sector: unknown sector 'space_travel'" in errors
    assert "item 2: instruments: unknown instrument 'magic_money'" in errors
    assert "item 3: instruments" in errors
    assert "item 4: no officer with email 'nobody@x.eu'" in errors
    assert "item 5: instrument_mix: the shares add up to 130, more than 100" in errors
    assert "item 6: co2_t_per_year: Input should be greater than or equal to 0" in errors
    assert "item 6: amount_eur: Input should be greater than 0" in errors
    assert "item 7: instrument_mix: unknown instrument 'gold'" in errors
    assert "item 1" not in errors

    async with UnitOfWork(runtime.sessionmaker) as uow:
        report = await import_yaml(uow, GOOD_YAML, taxonomy)
        await uow.commit()
    assert (report.created, report.updated, report.errors) == (2, 0, [])
    async with UnitOfWork(runtime.sessionmaker) as uow:
        report = await import_yaml(uow, GOOD_YAML, taxonomy)
        await uow.commit()
        exported = await export_yaml(uow)
    assert (report.created, report.updated) == (0, 2)
    rows = await practices(runtime)
    assert [p.status for p in rows] == ["approved", "approved"]
    assert rows[0].figures == {} and rows[0].investment_eur == 12_000_000
    assert rows[0].instrument_mix == {"esco": 70, "eu_funds": 30}
    assert rows[0].instruments == ["epc", "esco", "eu_funds"]
    assert (rows[0].savings_mwh, rows[0].renewable_mwh, rows[0].co2_t) == (1200, None, 300.5)
    assert "instrument_mix:" in exported and "co2_t_per_year: 300.5" in exported
    assert rows[1].officer_id is not None
    assert "Göteborg" in exported and "officer_email: marie@lyon.example" in exported
    async with UnitOfWork(runtime.sessionmaker) as uow:
        again = await import_yaml(uow, exported, taxonomy)
    assert (again.created, again.updated, again.errors) == (0, 2, [])


def test_amounts_are_read_the_way_officers_write_them() -> None:
    assert parse_amount("2.5 million") == 2_500_000
    assert parse_amount("EUR 40m") == 40_000_000
    assert parse_amount("€1,200,000") == 1_200_000
    assert parse_amount("3,2 Mio €") == 3_200_000
    assert parse_amount("1.200.000 EUR") == 1_200_000
    assert parse_amount("12 000 000") == 12_000_000
    assert parse_amount("500k") == 500_000
    assert parse_amount("a lot") is None
    # the scale words of the five programme languages
    assert parse_amount("2,5 Millionen Euro") == 2_500_000
    assert parse_amount("2,5 millones de euros") == 2_500_000
    assert parse_amount("2,5 milioni di euro") == 2_500_000
    assert parse_amount("1,2 Milliarden") == 1_200_000_000
    assert parse_amount("3 milliards d'euros") == 3_000_000_000
    assert parse_amount("500 mila euro") == 500_000
