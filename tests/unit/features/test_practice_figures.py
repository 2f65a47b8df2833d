"""A good practice with figures: investment, instrument mix and yearly results, checked the same
way in chat, on the command line and in the service; the FAQ cites them in the reader's number
format, selecting only the matching practices in one query."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from bot.app import Runtime
from bot.config import Settings
from handlers.practices.figures import money, short_label
from handlers.practices.flow import practices_citation
from handlers.practices.rules import FigureError, PracticeFigures, parse_mix
from handlers.practices.service import NotAllowed, set_figures
from storage.models import GoodPractice, Officer
from storage.uow import UnitOfWork
from tests.support.cli import invoke as peerbot
from tests.support.cli import with_runtime
from tests.support.fakes import FakeMessenger
from tests.support.peers import coordinator, officer, practice, talk


async def lyon_practice(runtime: Runtime) -> tuple[Officer, GoodPractice]:
    marie = await officer(runtime, "Marie Dubois", authority="Lyon", country="FR")
    row = await practice(
        runtime, marie, "EPC for the schools", sector="public_buildings", instruments=("epc",),
        year=2021,
    )  # fmt: skip
    return marie, row


def test_a_mix_is_read_the_way_officers_write_it(runtime: Runtime) -> None:
    tax = runtime.content.current.taxonomy
    assert parse_mix("EPC 70%, EU funds 30%", tax) == {"epc": 70, "eu_funds": 30}
    assert parse_mix("epc=60; grant=25 + soft_loan 15", tax) == {
        "epc": 60, "grant": 25, "soft_loan": 15,
    }  # fmt: skip
    with pytest.raises(FigureError) as unclear:
        parse_mix("EPC 70%, gold bars 30%", tax)
    assert unclear.value.key == "mix_unclear" and unclear.value.values == {"part": "gold bars 30%"}
    assert short_label("Energy performance contracting (EPC)") == "EPC"
    assert short_label("Obbligazioni verdi (green bond)") == "Obbligazioni verdi (green bond)"
    assert [money(2_400_000, lang) for lang in ("en", "fr", "de")] == [
        "€2.4M", "2,4\xa0M\xa0€", "2,4\xa0Mio.\xa0€",
    ]  # fmt: skip
    assert money(850_000, "de") == "850.000\xa0€"


async def test_only_the_practices_authority_or_a_coordinator_records_checked_figures(
    runtime: Runtime,
) -> None:
    marie, row = await lyon_practice(runtime)
    pieter = await officer(runtime, "Pieter Janssens", authority="Ghent", country="BE")
    codes = runtime.content.current.taxonomy.codes("instruments")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        with pytest.raises(NotAllowed):
            await set_figures(uow, pieter, row.id, PracticeFigures(investment_eur=10), codes)
        refusals: dict[str, Any] = {
            "bad_investment": PracticeFigures(investment_eur=-5),
            "mix_over_100": PracticeFigures(instrument_mix={"epc": 70, "grant": 40}),
            "bad_share": PracticeFigures(instrument_mix={"epc": 0}),
            "unknown_instrument": PracticeFigures(instrument_mix={"gold": 20}),
            "bad_figure": PracticeFigures(co2_t=-1.0),
        }
        for key, figures in refusals.items():
            with pytest.raises(FigureError) as refused:
                await set_figures(uow, marie, row.id, figures, codes)
            assert refused.value.key == key
            assert runtime.content.current.t("fr", f"practice_figures.errors.{key}") != key
        with pytest.raises(FigureError) as missing:
            await set_figures(uow, None, 999, PracticeFigures(co2_t=1.0), codes, coordinator=True)
        assert missing.value.key == "no_practice"
        done = await set_figures(
            uow, marie, row.id,
            PracticeFigures(2_400_000, {"epc": 70, "eu_funds": 30}, 1200.0, None, 300.0), codes,
        )  # fmt: skip
        await uow.commit()
    assert done.instruments == ["epc", "eu_funds"]
    assert (done.investment_eur, done.savings_mwh, done.renewable_mwh) == (2_400_000, 1200, None)


async def test_share_refuses_a_mix_over_100_and_unreadable_figures(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    await coordinator(runtime)
    await officer(runtime, "Pieter Janssens", authority="Ghent", country="BE")
    pieter = talk(runtime, messenger, "pieter")
    await pieter.say("/share")
    await pieter.say("EPC for 40,000 street lights")
    await pieter.press("Public lighting")
    await pieter.press("Energy performance contracting")
    await pieter.press("Done")
    assert "more than zero and at most EUR 100 billion" in await pieter.say("EUR 200 billion")
    await pieter.say("12 million")
    said = await pieter.say("EPC 80%, EU funds 40%")
    assert "The shares add up to 120%; together they can be at most 100%." in said
    await pieter.say("EPC 60%, EU funds 30%, city budget 10%")
    await pieter.say("LED lights, 60% less electricity")
    assert "could not read a figure" in await pieter.say("-20")
    await pieter.say("1200")
    await pieter.say("skip")
    await pieter.say("250")
    await pieter.say("2019")
    await pieter.say("skip")
    summary = await pieter.say("skip")
    assert (
        "Invested: EUR 12,000,000 (Energy performance contracting (EPC) 60%, EU funds 30%)"
        in summary
    )
    assert "Every year: 1,200 MWh/year saved, 250 t CO2/year avoided" in summary


async def test_the_faq_cites_matching_practices_with_figures_in_one_query(
    runtime: Runtime,
) -> None:
    marie, lyon = await lyon_practice(runtime)
    ghent = await officer(runtime, "Pieter Janssens", authority="Ghent", country="BE")
    street = await practice(
        runtime, ghent, "EPC for 40,000 street lights", sector="public_lighting",
        instruments=("epc", "esco"), year=2019,
    )  # fmt: skip
    for n in range(30):  # practices the answer does not concern, or not approved
        await practice(
            runtime, ghent, f"Green bond {n}", sector="public_buildings",
            instruments=("green_bond",), year=2024,
        )  # fmt: skip
    await practice(
        runtime, ghent, "Pending EPC", sector="public_buildings", instruments=("epc",),
        year=2025, status="pending",
    )  # fmt: skip
    codes = runtime.content.current.taxonomy.codes("instruments")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        await set_figures(
            uow, marie, lyon.id, PracticeFigures(2_400_000, {"epc": 100}, 1200.0), codes
        )
        await set_figures(uow, ghent, street.id, PracticeFigures(investment_eur=850_000), codes)
        await uow.commit()

    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    content = runtime.content.current
    event.listen(runtime.engine.sync_engine, "before_cursor_execute", count)
    try:
        async with UnitOfWork(runtime.sessionmaker) as uow:
            english = await practices_citation(uow, ["epc", "esco"], "en", content)
            selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
            french = await practices_citation(uow, ["epc"], "fr", content)
            german = await practices_citation(uow, ["epc"], "de", content, limit=1)
            nothing = await practices_citation(uow, ["crowdfunding"], "en", content)
    finally:
        event.remove(runtime.engine.sync_engine, "before_cursor_execute", count)
    assert len(selects) == 1 and "LIMIT" in selects[0].upper()
    assert english == (
        "Cities that did this: Ghent — EPC for 40,000 street lights (2019): €850,000 via EPC; "
        "Lyon — EPC for the schools (2021): €2.4M via EPC, 1,200 MWh/year saved"
    )
    assert french == (
        "Villes qui l'ont fait : Lyon — EPC for the schools (2021) : 2,4\xa0M\xa0€ en CPE, "
        "1\u202f200 MWh/an économisés ; Ghent — EPC for 40,000 street lights (2019) : "
        "850\u202f000\xa0€ en CPE"
    )
    assert german is not None and "2,4\xa0Mio.\xa0€ über EPC, 1.200 MWh/Jahr eingespart" in german
    assert "Ghent" not in german  # the limit
    assert nothing is None


def test_practices_figures_on_the_command_line(settings: Settings, tmp_path: Path) -> None:
    async def seed(rt: Runtime) -> int:
        await lyon_practice(rt)
        return 1

    with_runtime(settings, seed)
    done = peerbot(
        settings, "practices", "figures", "1", "--amount", "2.4M", "--mix", "epc=70,eu_funds=30",
        "--savings", "1 200", "--co2", "300", "--json",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    row = json.loads(done.stdout)
    assert (row["amount_eur"], row["instrument_mix"]) == (2_400_000, {"epc": 70, "eu_funds": 30})
    assert (row["savings_mwh_per_year"], row["co2_t_per_year"]) == (1200, 300)
    bad = peerbot(settings, "practices", "figures", "1", "--mix", "epc=70,grant=50")
    assert bad.exit_code == 2 and "The shares add up to 120%" in bad.output
    bad = peerbot(settings, "practices", "figures", "1", "--savings", "lots")
    assert bad.exit_code == 2 and "--savings must be a number" in bad.output
    missing = peerbot(settings, "practices", "figures", "9", "--co2", "3")
    assert missing.exit_code == 1 and "There is no good practice #9." in missing.output
    assert peerbot(settings, "practices", "figures", "1").exit_code == 2
    listed = json.loads(peerbot(settings, "practices", "list", "--json").stdout)
    assert listed[0]["renewable_mwh_per_year"] is None and listed[0]["amount_eur"] == 2_400_000
