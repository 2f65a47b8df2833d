"""Applications, plans and outcomes in the console over real HTTP, as Alice (coordinator of
programme alpha) works: she accepts one request to join (the page shows the invite link) and
declines another with a reason, sets Ghent's learning plan and records its financed stage (typing
mistakes come back next to their field), and downloads the funders' figures, whose workbook,
CSV files, `peerbot report --csv` and JSON agree. Bob, of programme beta, sees none of it."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from bot.web.render import render_report, translator_for
from handlers.core.taxonomy import match_country
from handlers.outcomes import service
from handlers.outcomes.export import BREAKDOWN_TABLES, DEFINITIONS, TOTAL
from handlers.outcomes.rules import KPI_KEYS
from handlers.report.figures import build_report
from storage.uow import UnitOfWork
from tests.stories.test_console_pages import audit_actions, text_of
from tests.stories.test_report import peerbot
from tests.support.console import (  # noqa: F401
    EVIL,
    Browser,
    Site,
    alice_fixture,
    sign_in,
    site_fixture,
)
from tests.support.report_seed import COORD_B

A = "/dashboard/p/alpha"


async def apply_as(site: Site, authority: str, email: str) -> int:
    """A request sent through the public form's service."""
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        done = await service.submit_application(
            uow,
            {
                "authority": authority,
                "country": "PT",
                "contact_name": "Rita Sousa",
                "email": email,
                "wants": "An energy performance contract for 30 schools.",
                "consent": "yes",
            },
            "pt",
            datetime.now(UTC),
            match_country,
        )
        await uow.commit()
    assert done.application_id is not None, done
    return done.application_id


def row_of(page: str, attribute: str, value: object) -> str:
    found = re.search(rf'<tr {attribute}="{value}".*?</tr>', page, re.S)
    assert found, page[:600]
    return found.group(0)


async def test_a_request_is_accepted_with_its_invite_and_another_declined_with_a_reason(
    site: Site, alice: Browser
) -> None:
    porto = await apply_as(site, "Porto", "rita@porto.pt")
    braga = await apply_as(site, "Braga", "ana@braga.pt")
    status, page = await alice.get(f"{A}/applications")
    assert status == 200 and 'id="nav-applications"' in page
    pending = re.search(r'<table data-status="pending">.*?</table>', page, re.S)
    assert pending and f'data-application="{porto}"' in pending.group(0)
    assert "30 schools" in pending.group(0)

    # No token, or another site's form: refused, nothing decided.
    status, _, _ = await alice.post(f"{A}/applications/{porto}/accept", {}, csrf=None)
    assert status == 403
    status, _, _ = await alice.post(f"{A}/applications/{porto}/accept", {}, origin=EVIL)
    assert status == 403

    status, page, _ = await alice.post(f"{A}/applications/{porto}/accept", {})
    assert status == 200, page[:500]
    link = re.search(r'id="invite-telegram" readonly value="([^"]+)"', page)
    assert link and "?start=" in link.group(1)
    code = link.group(1).rsplit("=", 1)[1]
    assert f'value="/peerbot join {code}"' in page
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        rows = {r["id"]: r for r in await service.list_applications(uow)}
    assert rows[porto]["status"] == "accepted" and rows[porto]["invite_code"] == code
    # The invite is the CLI's: `peerbot invites list` shows it for Porto.
    listed = await asyncio.to_thread(
        peerbot, "invites", "list", "--json", database_url=site.database_url
    )
    assert code in listed.stdout and "Porto" in listed.stdout

    # Accepting twice says so.
    status, page, _ = await alice.post(f"{A}/applications/{porto}/accept", {})
    assert status == 409 and "already accepted" in text_of(page)

    # A reason is needed to decline; the problem is shown by the field, as typed.
    status, page, _ = await alice.post(f"{A}/applications/{braga}/decline", {"reason": "no"})
    assert status == 400
    assert f'id="reason-{braga}-error"' in page
    assert f'aria-describedby="reason-{braga}-error"' in page
    status, _, location = await alice.post(
        f"{A}/applications/{braga}/decline", {"reason": "Not a public authority"}
    )
    assert status == 303 and location.endswith("applications?done=declined")
    status, page = await alice.get(f"{A}/applications?done=declined")
    assert "Not a public authority" in row_of(page, "data-application", braga)
    assert await audit_actions(alice) == ["application.decline", "application.accept"]

    # Bob (programme beta) sees neither: both were decided in alpha.
    bob = await sign_in(site, COORD_B)
    try:
        status, page = await bob.get("/dashboard/p/beta/applications")
        assert status == 200
        assert "Porto" not in page and "Braga" not in page
        status, _, _ = await bob.post(
            f"/dashboard/p/beta/applications/{braga}/decline",
            {"reason": "Trying another programme's"},
            csrf=await bob.csrf("/dashboard/p/beta/roster"),
        )
        assert status == 404
        status, _, _ = await bob.post(
            f"{A}/applications/{braga}/decline",
            {"reason": "Trying another programme's"},
            csrf=await bob.csrf("/dashboard/p/beta/roster"),
        )
        assert status == 404
    finally:
        await bob.http.close()


async def authority_id(site: Site, email: str) -> int:
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        officer = await uow.officers.by_email(email)
        assert officer is not None and officer.authority_id is not None
        return officer.authority_id


async def test_a_plan_and_a_financed_stage_are_recorded_with_problems_by_their_field(
    site: Site, alice: Browser
) -> None:
    ghent = await authority_id(site, "a1@ghent.be")
    status, page = await alice.get(f"{A}/outcomes")
    assert status == 200
    assert "Ghent" in row_of(page, "data-authority", ghent)
    assert "Valencia" not in page  # beta's authority

    status, page = await alice.get(f"{A}/outcomes?authority={ghent}")
    assert 'id="plan-form"' in page and 'id="stage-form"' in page

    # Unreadable size and a next step too short: both fields say so, as typed.
    status, page, _ = await alice.post(
        f"{A}/outcomes/plan",
        {"authority_id": ghent, "scheme": "epc", "sector": "public_lighting", "size_eur": "lots",
         "next_step": "go"},
    )  # fmt: skip
    assert status == 400
    assert 'id="size_eur-error"' in page and 'id="next_step-error"' in page
    assert 'could not read an amount in "lots"' in text_of(page)
    assert 'value="lots"' in page
    status, _, location = await alice.post(
        f"{A}/outcomes/plan",
        {"authority_id": ghent, "scheme": "epc", "sector": "public_lighting",
         "size_eur": "2.5 million", "next_step": "Draft the EPC tender", "target_date": "2030-01-31"},
    )  # fmt: skip
    assert status == 303 and "done=plan" in location

    # The service's rules, placed on their field: financed needs an amount.
    today = datetime.now(UTC).date()
    stage = {"authority_id": ghent, "scheme": "epc", "stage": "financed",
             "reached_on": today.isoformat(), "instrument": "epc", "sources": "ESCO 70%, ERDF 30%"}  # fmt: skip
    status, page, _ = await alice.post(f"{A}/outcomes/stage", stage)
    assert status == 400 and 'id="amount_eur-error"' in page
    assert "needs the amount in euros" in text_of(page)
    tomorrow = (today + timedelta(days=2)).isoformat()
    status, page, _ = await alice.post(
        f"{A}/outcomes/stage", {**stage, "amount_eur": "2.4 million", "reached_on": tomorrow}
    )
    assert status == 400 and 'id="reached_on-error"' in page
    status, page, _ = await alice.post(
        f"{A}/outcomes/stage", {**stage, "amount_eur": "2.4 million", "co2_t": "300"}
    )
    assert status == 400 and 'id="method-error"' in page
    status, page, _ = await alice.post(
        f"{A}/outcomes/stage", {**stage, "amount_eur": "2.4 million", "evidence_url": "ftp://x"}
    )
    assert status == 400 and 'id="evidence_url-error"' in page
    status, _, location = await alice.post(
        f"{A}/outcomes/stage",
        {**stage, "amount_eur": "2.4 million", "co2_t": "300", "savings_mwh": "1 200",
         "method": "Energy audit before and after", "evidence_url": "https://ghent.example/d/1"},
    )  # fmt: skip
    assert status == 303 and "done=stage" in location

    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        listed = {r["authority_id"]: r for r in await service.list_outcomes(uow)}
    assert listed[ghent]["plan"]["size_eur"] == 2_500_000
    financed = listed[ghent]["stages"][0]
    assert (financed["stage"], financed["amount_eur"], financed["savings_mwh_per_year"]) == (
        "financed",
        2_400_000,
        1200.0,
    )

    status, page = await alice.get(f"{A}/outcomes?authority={ghent}&done=stage")
    assert 'data-stage="epc:financed"' in row_of(page, "data-authority", ghent)
    assert 'data-kpi="investments_eur" data-raw="2400000"' in page
    assert 'data-instrument="epc" data-raw="2400000"' in page
    assert 'data-sector="public_lighting" data-raw="2400000"' in page  # the plan's sector
    assert "LIFE CET" in page and "Interreg" in page
    assert await audit_actions(alice) == ["outcomes.stage", "outcomes.plan"]

    # Another programme's authority is not found.
    valencia = await authority_id(site, "b1@valencia.es")
    status, _, _ = await alice.post(
        f"{A}/outcomes/plan",
        {"authority_id": valencia, "scheme": "epc", "sector": "public_lighting",
         "next_step": "Draft the EPC tender"},
    )  # fmt: skip
    assert status == 404
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        assert await service.plan_of(uow, valencia) is None


async def test_workbook_csv_files_and_json_agree(
    site: Site, alice: Browser, tmp_path: Path
) -> None:
    ghent = await authority_id(site, "a1@ghent.be")
    milano = await authority_id(site, "a3@milano.it")
    for authority, amount, instrument in (
        (ghent, "2.4 million", "epc"),
        (milano, "800k", "green_bond"),
    ):
        status, page, _ = await alice.post(
            f"{A}/outcomes/stage",
            {"authority_id": authority, "scheme": instrument, "stage": "financed",
             "amount_eur": amount, "instrument": instrument, "sources": "ESCO 70%, ERDF 30%",
             "co2_t": "12,5", "method": "National emission factor"},
        )  # fmt: skip
        assert status == 303, text_of(page)[:400]

    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        alpha = await uow.programmes.by_slug("alpha")
        assert alpha is not None
        figures = await build_report(uow, {alpha.id}, datetime.now(UTC))
    report = figures.to_json()
    # The report page (`/dashboard`, `peerbot report --html`) shows the breakdown too.
    content = site.runtime.content.current
    html_page = render_report(figures, translator_for(content.t, "fr"), lang="fr")
    assert 'data-instrument="green_bond" data-raw="800000"' in html_page
    assert 'data-sector="unspecified" data-raw="3200000"' in html_page
    assert "Investissements par instrument (EUR)" in html_page and "Secteur inconnu" in html_page
    assert report["kpis"]["investments_eur"] == 3_200_000
    assert report["investments_by_instrument"] == {"epc": 2_400_000, "green_bond": 800_000}
    assert report["investments_by_sector"] == {"unspecified": 3_200_000}  # no plan, no practice
    assert tuple(report["kpis"]) == KPI_KEYS  # the existing keys, unchanged
    by_name = {r["authority"]: r for r in report["kpis_by_authority"]}
    assert by_name["Milano"]["investments_by_instrument"] == {"green_bond": 800_000}

    async with alice.http.get(f"{site.url}{A}/outcomes/indicators.xlsx") as resp:
        assert resp.status == 200
        book = load_workbook(io.BytesIO(await resp.read()))
    assert book.sheetnames == [DEFINITIONS, *KPI_KEYS, *BREAKDOWN_TABLES]

    done = await asyncio.to_thread(
        peerbot, "report", "--csv", str(tmp_path / "csv"), "--programme", "alpha",
        database_url=site.database_url,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    files = sorted(p.stem for p in (tmp_path / "csv").glob("*.csv"))
    assert files == sorted([DEFINITIONS, *KPI_KEYS, *BREAKDOWN_TABLES])

    def cells(rows: list[list[str]]) -> list[list[str]]:
        return [["" if v is None else str(v) for v in row] for row in rows]

    for key in (*KPI_KEYS, *BREAKDOWN_TABLES):
        async with alice.http.get(f"{site.url}{A}/outcomes/csv/{key}.csv") as resp:
            assert resp.status == 200 and resp.content_type == "text/csv"
            downloaded = list(csv.reader(io.StringIO(await resp.text())))
        written = list(csv.reader((tmp_path / "csv" / f"{key}.csv").open(encoding="utf-8")))
        sheet = cells([list(r) for r in book[key].iter_rows(values_only=True)])
        assert downloaded == written == sheet, key
        assert downloaded[-1][0] == TOTAL
        per_authority = {r[0]: r[2:] for r in downloaded[1:-1]}
        if key in KPI_KEYS:
            assert per_authority == {
                name: ["" if row[key] is None else str(row[key])] for name, row in by_name.items()
            }, key
            assert downloaded[-1][2] == (
                "" if report["kpis"][key] is None else str(report["kpis"][key])
            )
        else:
            codes = downloaded[0][2:]
            assert downloaded[-1][2:] == [str(report[key][c]) for c in codes]
            for name, row in by_name.items():
                assert per_authority[name] == [str(row[key].get(c, 0)) for c in codes], key
    # The JSON document `peerbot report --json` prints has the same breakdown.
    printed = await asyncio.to_thread(
        peerbot, "report", "--json", "--programme", "alpha", database_url=site.database_url
    )
    assert (
        json.loads(printed.stdout)["investments_by_instrument"]
        == report["investments_by_instrument"]
    )

    status, _ = await alice.get(f"{A}/outcomes/csv/nothing.csv")
    assert status == 404


async def test_a_request_declined_with_peerbot_shows_in_the_console(
    site: Site, alice: Browser
) -> None:
    lisboa = await apply_as(site, "Lisboa", "joao@lisboa.pt")

    async def decline(reason: str) -> Any:
        return await asyncio.to_thread(
            peerbot, "applications", "decline", str(lisboa), "--reason", reason, "--json",
            database_url=site.database_url,
        )  # fmt: skip

    refused = await decline("x")
    assert refused.returncode == 2 and "3 to 1000 characters" in refused.stderr
    done = await decline("  Already a member through its region  ")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert (found["status"], found["decline_reason"]) == (
        "declined",
        "Already a member through its region",
    )
    assert (await decline("Once more, with feeling")).returncode == 2

    status, page = await alice.get(f"{A}/applications")
    declined = re.search(r'<table data-status="declined">.*?</table>', page, re.S)
    assert declined and "Already a member through its region" in declined.group(0)
    assert f'id="accept-{lisboa}"' not in page


@pytest.mark.parametrize("lang", ["en", "fr", "de", "es", "it"])
async def test_the_pages_have_labels_and_speak_each_language(
    site: Site, alice: Browser, lang: str
) -> None:
    await apply_as(site, "Porto", "rita@porto.pt")
    ghent = await authority_id(site, "a1@ghent.be")
    await alice.post(f"{A}/language", {"lang": lang, "back": f"{A}/roster"})
    for path in ("applications", f"outcomes?authority={ghent}"):
        status, page = await alice.get(f"{A}/{path}")
        assert status == 200 and f'<html lang="{lang}">' in page
        shown = text_of(page)
        for area in ("console.", "outcomes.", "dashboard."):
            assert area not in shown, (path, area)  # no message key left untranslated
        for field in re.findall(r'<(?:input|select|textarea)\b[^>]*\bid="([^"]+)"', page):
            assert f'for="{field}"' in page, (path, field)
