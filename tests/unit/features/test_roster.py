"""The roster CSV: one set of field rules, names as well as codes, programmes that follow the
file, and exports a spreadsheet cannot run."""

from __future__ import annotations

import csv
import io
from typing import Any

from bot.app import Runtime
from handlers.core.taxonomy import Taxonomy
from handlers.officers.listing import every_officer
from handlers.officers.roster import export_csv, import_csv, parse_csv, stream_csv
from storage.models import Identity, Officer, Role
from storage.uow import UnitOfWork
from tests.support.peers import make_pair, programme, telegram_like

HEADER = "name,email,authority,country,role,languages,timezone,sectors,wants,offers,platform,platform_user_id,consent,job_title\n"  # noqa: E501


def taxonomy(runtime: Runtime) -> Taxonomy:
    return runtime.content.current.taxonomy


def parse(runtime: Runtime, body: str) -> tuple[list[object], list[str]]:
    rows, errors = parse_csv(HEADER + body, taxonomy(runtime))
    return list(rows), errors


async def load(runtime: Runtime, email: str) -> Officer:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        found = await uow.officers.by_email(email)
        assert found is not None
        return found


async def run_import(
    runtime: Runtime, body: str, slug: str = "prospect", move: bool = False, header: str = HEADER
) -> object:
    home = await programme(runtime, slug)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        return await import_csv(uow, header + body, taxonomy(runtime), home, move=move, batch=2)


async def test_names_and_labels_are_accepted_as_well_as_codes(runtime: Runtime) -> None:
    rows, errors = parse(
        runtime,
        "Jana Nováková,jana@brno.cz,Brno,Czech Republic,,French;English,,Public buildings,"
        "Energy performance contracting;Green bonds,,,,yes,\n"
        "Tom Hill,tom@leeds.uk,Leeds,UK,,en,Europe/London,,,,,,,\n"
        "Eva de Vries,eva@utrecht.nl,Utrecht,Holland,,nl,,,,,,,,\n"
        "Anna Kowalska,anna@gdansk.pl,Gdańsk,Polska,,Polski,,,,,,,,\n"
        "Marie Dubois,marie@lyon.fr,Lyon,France,,fr,europe/paris,public_buildings,,,,,,\n"
        "Ilze Ozola,ilze@riga.lv,Riga,LV,,lv;ru,,,,,,,,\n",
    )
    assert errors == []
    by_email = {r.email: r for r in rows}  # type: ignore[attr-defined]
    assert by_email["jana@brno.cz"].country == "CZ"
    assert by_email["jana@brno.cz"].languages == ["fr", "en"]
    assert by_email["jana@brno.cz"].sectors == ["public_buildings"]
    assert by_email["jana@brno.cz"].wants == ["epc", "green_bond"]
    assert by_email["tom@leeds.uk"].country == "GB"
    assert by_email["eva@utrecht.nl"].country == "NL"
    assert by_email["anna@gdansk.pl"].country == "PL"
    assert by_email["anna@gdansk.pl"].languages == ["pl"]
    assert by_email["marie@lyon.fr"].timezone == "Europe/Paris"
    assert by_email["ilze@riga.lv"].languages == ["lv", "ru"]


async def test_wrong_values_are_still_refused_with_their_line(runtime: Runtime) -> None:
    _, errors = parse(
        runtime,
        "Bad Country,bad@x.eu,Nowhere,Atlantis,,en,,,,,,,,\n"
        "Bad Lang,lang@x.eu,Lyon,FR,,Klingon,,,,,,,,\n"
        "Bad Code,code@x.eu,Lyon,FR,,en,,public_lighting,magic_money,,,,,\n",
    )
    assert errors[0].startswith("line 2:") and "Atlantis" in errors[0]
    assert errors[1].startswith("line 3:") and "Klingon" in errors[1]
    assert errors[2].startswith("line 4:") and "magic_money" in errors[2]


async def test_an_extra_column_is_a_column_error_not_a_bad_email(runtime: Runtime) -> None:
    _, errors = parse(runtime, "Martin, Camille,camille@savoie.fr,Savoie,FR,,fr,,,,,,,,\n")
    assert len(errors) == 1 and errors[0].startswith("line 2:")
    assert "15 values but the header has 14 columns" in errors[0]
    assert "email" not in errors[0]


async def test_a_100000_character_name_is_refused_with_its_line(runtime: Runtime) -> None:
    rows, errors = parse(
        runtime, "A" * 100_000 + ",long@x.eu,Lyon,FR,,,,,,,,,,\nOk Name,ok@x.eu,Lyon,FR,,,,,,,,,,\n"
    )
    assert len(errors) == 1 and errors[0].startswith("line 2:") and "name" in errors[0]
    assert len(errors[0]) < 200  # the report does not echo the name
    assert [r.email for r in rows] == ["ok@x.eu"]  # type: ignore[attr-defined]


async def test_a_field_over_128_kib_is_a_line_error_not_a_crash(runtime: Runtime) -> None:
    huge = '"' + "x" * (200 * 1024) + '"'
    rows, errors = parse(
        runtime, f"Big Job,big@x.eu,Lyon,FR,,,,,,,,,,{huge}\nOk Name,ok@x.eu,Lyon,FR,,,,,,,,,,\n"
    )
    assert len(errors) == 1 and errors[0].startswith("line 2:") and "job_title" in errors[0]
    assert [r.email for r in rows] == ["ok@x.eu"]  # type: ignore[attr-defined]


async def test_nul_bidi_and_zero_width_characters_are_removed(runtime: Runtime) -> None:
    body = (
        "Ma\x00rie\u202e Du\u200bbois,marie@lyon.fr,Ly\u2067on\u2069 M\u00e9tropole,FR,,fr,,,,,,,,"
        "Chef\u200d de projet\n"
        "Nul Mail,nul\x00@x.eu,Lyon,FR,,,,,,,,,,\n"
    )
    await run_import(runtime, body)
    marie = await load(runtime, "marie@lyon.fr")
    assert marie.name == "Marie Dubois"
    assert marie.authority is not None and marie.authority.name == "Lyon Métropole"
    assert marie.job_title == "Chef de projet"
    rows, errors = parse(runtime, body)
    assert len(errors) == 1 and errors[0].startswith("line 3:") and "bad email" in errors[0]


async def test_export_neutralises_formulas_and_re_imports_the_same(runtime: Runtime) -> None:
    await run_import(
        runtime,
        '"=HYPERLINK(""http://evil"",""x"")",a@x.eu,+cmd|\' /C calc\'!A0,FR,,,,,,,,,,-2+3\n'
        "@SUM(A1),b@x.eu,\tTab Town,FR,,,,,,,,,,Officer\n",
    )
    async with UnitOfWork(runtime.sessionmaker) as uow:
        officers = list(await uow.officers.list())
        text = export_csv(officers)
        streamed = "".join([chunk async for chunk in stream_csv(uow, page=1)])
    assert streamed == text
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    assert all(not c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)
    assert '\'=HYPERLINK("http://evil","x")' in cells and "'-2+3" in cells
    assert "'@SUM(A1)" in cells
    rows, errors = parse_csv(text, taxonomy(runtime))
    assert errors == []
    assert {r.name for r in rows} == {'=HYPERLINK("http://evil","x")', "@SUM(A1)"}


async def test_a_coordinator_of_x_is_not_made_coordinator_of_y(runtime: Runtime) -> None:
    await run_import(runtime, "Anna Lind,anna@x.eu,Uppsala,SE,officer,en,,,,,,,,\n", "y-prog")
    report = await run_import(
        runtime, "Anna Lind,anna@x.eu,Uppsala,SE,coordinator,en,,,,,,,,\n", "x-prog"
    )
    anna = await load(runtime, "anna@x.eu")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        x = await uow.programmes.by_slug("x-prog")
        y = await uow.programmes.by_slug("y-prog")
        assert x is not None and y is not None
        assert anna.programme_id == y.id and anna.role == Role.OFFICER  # untouched at home
        assert await uow.officers.coordinated_programme_ids(anna) == {x.id}
        assert await uow.officers.programme_ids(anna) == {x.id, y.id}
        assert [o.id for o in await uow.officers.coordinators(y.id)] == []
    assert report.updated == 1  # type: ignore[attr-defined]
    assert any(
        "belongs to programme y-prog; added to x-prog" in n
        for n in report.notes  # type: ignore[attr-defined]
    )


async def test_a_move_to_another_programme_is_explicit_and_reported(runtime: Runtime) -> None:
    await run_import(runtime, "Anna Lind,anna@x.eu,Uppsala,SE,,en,,,,,,,,\n", "y-prog")
    report = await run_import(
        runtime, "Anna Lind,anna@x.eu,Uppsala,SE,coordinator,en,,,,,,,,\n", "x-prog", move=True
    )
    anna = await load(runtime, "anna@x.eu")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        x = await uow.programmes.by_slug("x-prog")
        assert x is not None
        assert anna.programme_id == x.id and anna.role == Role.COORDINATOR
        assert await uow.officers.programme_ids(anna) == {x.id}
    assert report.notes == [  # type: ignore[attr-defined]
        "line 2: anna@x.eu moved from programme y-prog to x-prog"
    ]


async def test_imported_officers_speak_their_language_and_show_their_job_title(
    runtime: Runtime,
) -> None:
    telegram = telegram_like(runtime, forum=False)
    report = await run_import(
        runtime,
        "Camille Martin,camille@savoie.fr,Energy Agency of Savoie,France,,Italian;French,,,"
        "epc,,telegram,camille,yes,Chargée de mission énergie\n"
        "Pieter Janssens,pieter@gent.be,Gent,BE,,nl;en,,,,epc,telegram,pieter,yes,"
        "Energy coordinator\n"
        "Jan Novak,jan@brno.cz,Brno,CZ,,cs,,,,,,,,\n",
    )
    assert report.errors == []  # type: ignore[attr-defined]
    camille = await load(runtime, "camille@savoie.fr")
    pieter = await load(runtime, "pieter@gent.be")
    jan = await load(runtime, "jan@brno.cz")
    # programme languages en, fr: the first of their languages it supports, else its first
    assert (camille.locale, pieter.locale, jan.locale) == ("fr", "en", "en")
    await make_pair(runtime, camille, pieter)
    await runtime.tick()
    to_camille = telegram.transcript("camille")
    to_pieter = telegram.transcript("pieter")
    assert "Energy coordinator" in to_camille
    assert "Chargée de mission énergie" in to_pieter
    assert "(—)" not in to_camille + to_pieter


async def test_reimport_updates_and_a_profile_locale_is_kept(runtime: Runtime) -> None:
    body = "Marie Dubois,marie@lyon.fr,Lyon,FR,,fr,,,,,,,,\n"
    first = await run_import(runtime, body)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        marie = await uow.officers.by_email("marie@lyon.fr")
        assert marie is not None
        marie.locale = "de"  # chosen with /language
        await uow.commit()
    again = await run_import(runtime, body)
    assert (first.created, again.created, again.updated) == (1, 0, 1)  # type: ignore[attr-defined]
    assert (await load(runtime, "marie@lyon.fr")).locale == "de"


async def test_a_batch_the_database_refuses_keeps_its_other_rows(runtime: Runtime) -> None:
    home = await programme(runtime)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        other = Officer(name="Someone Else", email="else@x.eu", programme_id=home.id)
        await uow.officers.add(other)
        identity = await uow.identities.get_or_create("telegram", "777")
        identity.officer_id = other.id
        await uow.commit()
    report = await run_import(
        runtime,
        "Ann One,one@x.eu,Lyon,FR,,,,,,,telegram,777,,\nBen Two,two@x.eu,Lyon,FR,,,,,,,,,,\n",
    )
    assert report.created == 1  # type: ignore[attr-defined]
    assert report.errors == [  # type: ignore[attr-defined]
        "line 2: telegram user 777 belongs to another officer"
    ]


def as_listed(o: Officer) -> dict[str, Any]:
    """An officer read as an object, in the `officers list --json` shape: the reference the
    row-based listing must equal."""
    return {
        "id": o.id,
        "name": o.name,
        "email": o.email,
        "role": o.role.value,
        "status": o.status.value,
        "authority": o.authority.name if o.authority else None,
        "country": o.authority.country if o.authority else None,
        "job_title": o.job_title,
        "languages": list(o.languages),
        "locale": o.locale,
        "timezone": o.timezone,
        "sectors": list(o.sectors),
        "wants": list(o.wants),
        "offers": list(o.offers),
        "consent": o.consent_at is not None,
        "programme_id": o.programme_id,
        "identities": [{"platform": i.platform, "user_id": i.user_id} for i in o.identities],
    }


async def test_the_listing_read_as_rows_equals_the_officers_read_as_objects(
    runtime: Runtime,
) -> None:
    report = await run_import(
        runtime,
        "Ana Silva,ana@x.eu,Lisboa,PT,,pt;en,Europe/Lisbon,public_buildings,epc,,telegram,111,yes,"
        "Engineer\n"
        "Bo Berg,bo@x.eu,Malmö,SE,,sv;en,Europe/Stockholm,,,epc;green_bond,slack,U22,yes,\n"
        "Cy Dunn,cy@x.eu,Cork,IE,,en,,,,,,,,\n",
    )
    assert not report.errors, report  # type: ignore[attr-defined]
    async with UnitOfWork(runtime.sessionmaker) as uow:
        bo = await uow.officers.by_email("bo@x.eu")
        assert bo is not None
        uow.session.add(Identity(platform="console", user_id="bo-console", officer_id=bo.id))
        uow.session.add(Officer(name="No Authority", email=None))
        await uow.commit()
    async with UnitOfWork(runtime.sessionmaker) as uow:
        listed = await every_officer(uow)
        expected = [as_listed(o) for o in await uow.officers.list()]
    assert listed == expected
    assert len(listed) == 4 and any(len(r["identities"]) == 2 for r in listed)
    assert any(r["authority"] is None for r in listed)
