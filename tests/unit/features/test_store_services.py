"""The services the CLI now calls instead of reaching storage: programmes (list, create,
rename), the demo (load once, reset), the report's scope, pairs listed by programme, and the
check-ins of one officer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.app import Runtime
from handlers.audit.service import Coordinator, NotAllowed
from handlers.pairing.service import every_pair, pair_detail
from handlers.programmes.demo import ensure_demo, reset_demo
from handlers.programmes.folder import ProgrammeFile
from handlers.programmes.listing import every_programme
from handlers.programmes.service import (
    create_programme,
    programme_named,
    programme_or_default,
    rename_programme,
)
from handlers.report.service import programme_report
from storage.models import Officer, PairStatus, Programme
from tests.support.paths import CONTENT
from tests.support.peers import make_pair, officer, programme

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


async def test_create_programme_writes_nothing_when_a_coordinator_is_unknown(
    runtime: Runtime,
) -> None:
    anna = await officer(runtime, "Anna Coordinator", authority="Energy Cities", country="FR")
    spec = ProgrammeFile(slug="nordic", name="Nordic cohort", languages=["en", "sv"])
    async with runtime.core.uow() as uow:
        with pytest.raises(LookupError, match="no officer with email nobody@x.eu"):
            await create_programme(uow, spec, [str(anna.email), "nobody@x.eu"])
    async with runtime.core.uow() as uow:
        assert await programme_named(uow, "nordic") is None
        made, created = await create_programme(uow, spec, [str(anna.email)])
    assert created and made.slug == "nordic"
    async with runtime.core.uow() as uow:
        listed = {p["slug"]: p for p in await every_programme(uow)}
        again, created = await create_programme(uow, spec, [])
        coordinated = await uow.officers.coordinated_programme_ids(anna)
    assert set(listed) == {"prospect", "nordic"} and listed["nordic"]["languages"] == ["en", "sv"]
    assert not created and again.id == made.id
    assert coordinated == {made.id}


async def test_the_cli_renames_any_programme_a_coordinator_only_their_own(
    runtime: Runtime,
) -> None:
    home = await programme(runtime)
    async with runtime.core.uow() as uow:
        other = await uow.programmes.add(Programme(slug="other", name="Other", languages=["en"]))
        await uow.commit()
    async with runtime.core.uow() as uow:
        renamed = await rename_programme(uow, None, other.id, "Renamed", ["fr", "fr"], NOW)
        with pytest.raises(ValueError, match="languages"):
            await rename_programme(uow, None, other.id, None, ["xx-not-a-code"], NOW)
        with pytest.raises(NotAllowed):
            await rename_programme(
                uow, Coordinator(1, frozenset({home.id})), other.id, "X", None, NOW
            )
    assert (renamed.name, renamed.languages) == ("Renamed", ("fr",))
    async with runtime.core.uow() as uow:
        found = await programme_named(uow, "other")
        assert found is not None and found.name == "Renamed"
        assert (await programme_or_default(uow, "missing")) is None
        assert (await programme_or_default(uow, None)) is not None


async def test_the_demo_loads_once_and_a_reset_keeps_the_installation_secret(
    runtime: Runtime,
) -> None:
    async with runtime.core.uow() as uow:
        secret = await uow.kv.secret()
        await uow.commit()
    async with runtime.core.uow() as uow:
        assert await ensure_demo(uow, CONTENT)
    async with runtime.core.uow() as uow:
        count = await uow.demo.officer_count()
        assert count > 0
        assert not await ensure_demo(uow, CONTENT)
        await uow.officers.add(Officer(name="Extra", languages=["en"]))
        await uow.commit()
    async with runtime.core.uow() as uow:
        await reset_demo(uow, CONTENT)
    async with runtime.core.uow() as uow:
        assert await uow.demo.officer_count() == count
        assert await uow.kv.secret() == secret
        assert await uow.kv.get("demo_loaded") == "yes"


async def test_a_report_names_only_a_programme_the_viewer_may_see(runtime: Runtime) -> None:
    home = await programme(runtime)
    async with runtime.core.uow() as uow:
        other = await uow.programmes.add(Programme(slug="other", name="Other", languages=["en"]))
        await uow.commit()
    async with runtime.core.uow() as uow:
        everything = await programme_report(uow, None, None, NOW)
        one = await programme_report(uow, None, "other", NOW)
        hidden = await programme_report(uow, {home.id}, "other", NOW)
        missing = await programme_report(uow, None, "nope", NOW)
    assert everything is not None and {p["slug"] for p in everything.programmes} == {
        "prospect",
        "other",
    }
    assert one is not None and [p["id"] for p in one.programmes] == [other.id]
    assert hidden is None and missing is None


async def test_pairs_are_listed_by_programme_and_proposals_only_when_asked(
    runtime: Runtime,
) -> None:
    marie = await officer(runtime, "Marie Dubois", authority="Lyon", country="FR")
    pieter = await officer(runtime, "Pieter Janssens", authority="Ghent", country="BE")
    ana = await officer(runtime, "Ana Silva", authority="Porto", country="PT")
    live = await make_pair(runtime, marie, pieter, status=PairStatus.ACTIVE)
    proposed = await make_pair(runtime, ana, pieter, status=PairStatus.PROPOSED)
    async with runtime.core.uow() as uow:
        default = await every_pair(uow, NOW, None, [])
        asked = await every_pair(uow, NOW, "prospect", ["proposed"])
        nowhere = await every_pair(uow, NOW, "nope", [])
        shown = await pair_detail(uow, NOW, live.id)
        gone = await pair_detail(uow, NOW, 999_999)
    assert default is not None and [r["id"] for r in default] == [live.id]
    assert asked is not None and [r["id"] for r in asked] == [proposed.id]
    assert nowhere is None and gone is None
    assert shown is not None and shown["id"] == live.id and shown["checkins"] == []


async def test_an_officers_check_ins_are_those_of_their_pairs_either_side(
    runtime: Runtime,
) -> None:
    marie = await officer(runtime, "Marie Dubois", authority="Lyon", country="FR")
    pieter = await officer(runtime, "Pieter Janssens", authority="Ghent", country="BE")
    ana = await officer(runtime, "Ana Silva", authority="Porto", country="PT")
    jan = await officer(runtime, "Jan Novak", authority="Brno", country="CZ")
    first = await make_pair(runtime, marie, pieter, status=PairStatus.ACTIVE)
    second = await make_pair(runtime, ana, marie, status=PairStatus.ACTIVE)
    apart = await make_pair(runtime, jan, pieter, status=PairStatus.ACTIVE)
    async with runtime.core.uow() as uow:
        repo = uow.checkins
        for pair in (second, first, apart):
            for period in (2, 1):
                await repo.create(pair.id, period, NOW)
        await uow.commit()
    async with runtime.core.uow() as uow:
        found = await uow.checkins.of_officer(marie.id)
    assert [(c.pair_id, c.period) for c in found] == [
        (first.id, 1),
        (first.id, 2),
        (second.id, 1),
        (second.id, 2),
    ]
