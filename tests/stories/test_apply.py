"""The open door: a stranger asks to join on the public `/apply` page (served by the bot's own
web app on 127.0.0.1), a coordinator accepts with `peerbot applications accept`, an invite is
created. The form refuses bad input and floods with clear messages and stores nothing it
refused. The coordinators' commands `outcomes record|list` and `report --json --xlsx` agree."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from openpyxl import load_workbook

from bot.app import Runtime, build
from bot.config import Settings
from bot.http import make_web_app
from storage.models import Invite
from storage.uow import UnitOfWork
from tests.conftest import CONTENT
from tests.stories.test_report import peerbot
from tests.support.peers import officer

GOOD = {
    "authority": "Leuven",
    "country": "Belgium",
    "contact_name": "An Peeters",
    "email": "an.peeters@leuven.example",
    "wants": "LED street lighting for 12,000 points through an EPC",
    "consent": "yes",
    "website": "",
}


@dataclass
class Site:
    url: str
    runtime: Runtime
    database_url: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def site(database_url: str) -> AsyncIterator[Site]:
    settings = Settings(database_url=database_url, PEERBOT_CONTENT_DIR=CONTENT)  # type: ignore[call-arg]
    runtime = await build(settings)
    runner = web.AppRunner(make_web_app(runtime), access_log=None)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield Site(f"http://127.0.0.1:{port}", runtime, database_url)
    finally:
        await runner.cleanup()
        await runtime.close()


async def submit(
    site: Site, form: dict[str, str], source: str = "127.0.0.1", lang: str = "en"
) -> tuple[int, str]:
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.post(f"{site.url}/apply", data={**form, "lang": lang}) as resp,
    ):
        return resp.status, await resp.text()


async def stored(site: Site) -> int:
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        return len(await uow.applications.list())


def errors(page: str) -> dict[str, str]:
    return dict(m.split(":") for m in re.findall(r'data-error="([^"]+)"', page))


async def test_a_stranger_applies_and_a_coordinator_accepts_with_an_invite(site: Site) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{site.url}/apply?lang=de") as resp:
        form = await resp.text()
        assert resp.status == 200
    assert "Am Peer-Learning-Programm teilnehmen" in form and 'name="website"' in form
    assert 'name="consent"' in form and "12 Monaten" in form

    status, page = await submit(site, GOOD)
    assert status == 200 and 'data-result="thanks"' in page
    assert await stored(site) == 1
    status, page = await submit(site, {**GOOD, "authority": "Leuven city"})
    assert 'data-result="duplicate"' in page and await stored(site) == 1

    listed = peerbot("applications", "list", "--json", database_url=site.database_url)
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)["applications"]
    assert (row["authority"], row["country"], row["status"]) == ("Leuven", "BE", "pending")
    assert row["email"] == GOOD["email"] and row["consent_at"]

    accepted = peerbot(
        "applications", "accept", str(row["id"]), "--json", database_url=site.database_url
    )
    assert accepted.returncode == 0, accepted.stderr
    invite = json.loads(accepted.stdout)["invite"]
    async with UnitOfWork(site.runtime.sessionmaker) as uow:
        authority = await uow.authorities.find("Leuven", "BE")
        assert authority is not None
        found = await uow.session.get(Invite, 1)
        assert found is not None and found.code == invite["code"]
        assert found.authority_id == authority.id and found.purpose == "join"
        assert found.used_at is None and found.expires_at is not None
    again = peerbot("applications", "accept", str(row["id"]), database_url=site.database_url)
    assert again.returncode == 2 and "already accepted" in again.stderr


async def test_bad_input_is_refused_field_by_field_and_nothing_is_stored(site: Site) -> None:
    status, page = await submit(
        site,
        {**GOOD, "email": "an.peeters", "country": "Atlantis", "consent": "", "wants": "LED"},
        lang="fr",
    )
    assert status == 400
    assert errors(page) == {
        "email": "bad_email",
        "country": "bad_country",
        "consent": "consent_needed",
        "wants": "too_short",
    }
    assert "Cela ne ressemble pas à une adresse e-mail." in page
    assert 'value="Leuven"' in page  # what was right is kept for the correction
    status, page = await submit(
        site, {**GOOD, "authority": "<script>x</script>"}, source="127.0.0.2"
    )
    assert status == 400 and errors(page) == {"authority": "bad_characters"}
    status, page = await submit(site, {**GOOD, "authority": ""}, source="127.0.0.2")
    assert errors(page) == {"authority": "required"}
    status, page = await submit(site, {**GOOD, "wants": "x" * 2001}, source="127.0.0.2")
    assert errors(page) == {"wants": "too_long"}
    # a bot filling the hidden field is thanked and forgotten
    status, page = await submit(site, {**GOOD, "website": "http://spam.example"}, "127.0.0.3")
    assert status == 200 and 'data-result="thanks"' in page
    assert await stored(site) == 0


async def test_a_flood_from_one_address_is_held_back_and_not_stored(site: Site) -> None:
    flood = [
        await submit(site, {**GOOD, "email": f"bot{n}@flood.example"}, source="127.0.0.4")
        for n in range(8)
    ]
    assert [status for status, _ in flood] == [200] * 5 + [429] * 3
    assert "Too many requests right now" in flood[-1][1]
    assert await stored(site) == 5
    status, _ = await submit(site, {**GOOD, "email": "someone@else.example"}, "127.0.0.5")
    assert status == 200 and await stored(site) == 6  # another address is not held back


async def test_coordinators_record_and_list_outcomes_and_export_the_figures(
    site: Site, tmp_path: Path
) -> None:
    marie = await officer(site.runtime, "Marie Dubois", authority="Lyon", country="FR")
    recorded = peerbot(
        "outcomes", "record", "--authority", "Lyon", "--country", "FR", "--scheme", "epc",
        "--stage", "financed", "--date", "2026-11-20", "--amount", "2400000",
        "--instrument", "epc", "--sources", "ESCO 70%, ERDF 30%", "--co2-t", "300",
        "--method", "Energy audit before and after", "--json",
        database_url=site.database_url,
    )  # fmt: skip
    assert recorded.returncode == 0, recorded.stderr
    assert json.loads(recorded.stdout)["amount_eur"] == 2_400_000
    refused = peerbot(
        "outcomes", "record", "--authority", "Lyon", "--country", "FR", "--scheme", "epc",
        "--stage", "financed", "--date", "2026-11-20", database_url=site.database_url,
    )  # fmt: skip
    assert refused.returncode == 2 and "needs the amount in euros" in refused.stderr
    listed = json.loads(
        peerbot("outcomes", "list", "--json", database_url=site.database_url).stdout
    )
    [lyon] = listed["authorities"]
    assert lyon["authority_id"] == marie.authority_id and lyon["stage_by_scheme"] == {
        "epc": "financed"
    }
    book_path = tmp_path / "figures.xlsx"
    report = peerbot("report", "--json", "--xlsx", str(book_path), database_url=site.database_url)
    assert report.returncode == 0, report.stderr
    kpis = json.loads(report.stdout)["kpis"]
    assert kpis["investments_eur"] == 2_400_000 and kpis["co2_avoided_t_per_year"] == 300
    assert kpis["replications"] == 0  # Lyon learnt EPC in no pair here
    book = load_workbook(book_path)
    for key, value in kpis.items():
        rows = list(book[key].iter_rows(values_only=True))
        assert rows[-1][2] == value, key
        assert rows[1][0] == "Lyon"
