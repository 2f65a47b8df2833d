"""Replication: a second programme from a folder, isolated from the first."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml

from bot.app import build
from bot.config import Settings
from handlers.core.clock import FrozenClock
from handlers.programmes.folder import check_folder, export, install, stand_up
from storage.models import Identity, Officer, OfficerStatus, Role, utcnow
from storage.uow import UnitOfWork
from tests.support.fakes import FakeMessenger, Talk
from tests.support.paths import REPO_ROOT

ROOT = REPO_ROOT

EXTRA_ENTRY = [
    {
        "id": "nordic-district-heating-bonds",
        "question": "How did Nordic cities finance district heating with municipal bonds?",
        "alternatives": ["district heating bonds nordic", "kommuninvest district heating"],
        "answer": "Through their joint municipal funding agencies, which issue green bonds.",
        "sectors": ["cross_sector"],
        "instruments": ["green_bond", "district_heat_fund"],
        "tags": ["district heating"],
        "sources": [{"title": "Kommuninvest", "url": "https://kommuninvest.se/en/"}],
        "lang": "en",
        "reviewed": "2026-11-24",
    }
]


def nordic_folder(base: Path) -> Path:
    folder = base / "nordic"
    (folder / "faq").mkdir(parents=True)
    (folder / "messages").mkdir()
    (folder / "programme.yaml").write_text(
        yaml.safe_dump(
            {
                "slug": "nordic",
                "name": "Nordic cohort",
                "languages": ["en", "sv"],
                "checkin_days": 21,
            }
        ),
        encoding="utf-8",
    )
    (folder / "taxonomy.yaml").write_text(
        yaml.safe_dump({"instruments": {"district_heat_fund": {"en": "District heating fund"}}}),
        encoding="utf-8",
    )
    (folder / "faq" / "nordic.yaml").write_text(yaml.safe_dump(EXTRA_ENTRY), encoding="utf-8")
    (folder / "messages" / "en.yaml").write_text(
        yaml.safe_dump({"start": {"welcome_back": "Välkommen back to the Nordic cohort, {name}!"}}),
        encoding="utf-8",
    )
    return folder


async def person(rt, name: str, programme_id: int, user: str, role: Role = Role.OFFICER) -> None:  # type: ignore[no-untyped-def]
    async with UnitOfWork(rt.sessionmaker) as uow:
        officer = await uow.officers.add(
            Officer(
                name=name,
                role=role,
                status=OfficerStatus.ACTIVE,
                consent_at=utcnow(),
                programme_id=programme_id,
                languages=["en"],
            )
        )
        uow.session.add(
            Identity(platform="fake", user_id=user, dm_chat_id=user, officer_id=officer.id)
        )
        await uow.commit()


async def test_a_second_programme_is_stood_up_from_a_folder_and_isolated(
    settings: Settings, clock: FrozenClock, tmp_path: Path
) -> None:
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    folder = nordic_folder(tmp_path)
    spec, problems = check_folder(folder, content)
    assert problems == [] and spec is not None
    install(folder, content, spec.slug)

    rt = await build(settings.model_copy(update={"content_dir": content}), clock=clock)
    messenger = FakeMessenger()
    rt.messengers["fake"] = messenger  # what the outbox sends through
    try:
        async with UnitOfWork(rt.sessionmaker) as uow:
            main = await uow.programmes.default_or_create()
            nordic, created = await stand_up(uow, spec)
            await uow.commit()
        assert created and nordic.checkin_days == 21
        await person(rt, "Anna (main)", main.id, "anna", Role.COORDINATOR)
        await person(rt, "Pieter (main)", main.id, "pieter")
        await person(rt, "Sven (nordic)", nordic.id, "sven")
        await person(rt, "Ingrid (nordic)", nordic.id, "ingrid", Role.COORDINATOR)

        sven = Talk(rt.core, messenger, user_id="sven", name="Sven")
        assert "Nordic cohort" in await sven.say("/start")
        assert "municipal funding agencies" in await sven.say("district heating bonds nordic")
        pieter = Talk(rt.core, messenger, user_id="pieter", name="Pieter")
        assert "municipal funding agencies" not in await pieter.say("district heating bonds nordic")
        await sven.say("how many days of annual leave do municipal staff get?")

        anna = Talk(rt.core, messenger, user_id="anna", name="Anna")
        ingrid = Talk(rt.core, messenger, user_id="ingrid", name="Ingrid")
        assert "Active officers: 2" in await anna.say("/stats")
        assert "annual leave" not in await anna.say("/unanswered")
        assert "annual leave" in await ingrid.say("/unanswered")
        queries = await ingrid.say("/unanswered")
        number = re.search(r"#(\d+)", queries).group(1)  # type: ignore[union-attr]
        assert "no question" in await anna.say(f"/unanswered {number} Ask HR.")

        # broadcasts: Anna reaches her programme only, and cannot name the other one
        await anna.say("/broadcast")
        await anna.say("Webinar for the main cohort")
        await anna.press("Choose recipients")
        assert "will receive this" in await anna.press("Everyone")
        assert "on its way to 2 officers" in await anna.press("Send now")
        await anna.say("/broadcast")
        await anna.say("Trying to reach the Nordic cohort")
        await anna.press("Choose recipients")
        refused = await anna.say("programme=nordic")
        assert "I did not understand: nordic" in refused and "will receive" not in refused
        await rt.tick()
        await rt.tick()
        assert "Webinar for the main cohort" in messenger.transcript("pieter")
        for nordic_person in ("sven", "ingrid"):
            assert "main cohort" not in messenger.transcript(nordic_person)
            assert "Nordic cohort" not in messenger.transcript(nordic_person).replace(
                "Välkommen back to the Nordic cohort", ""
            )

        out = tmp_path / "exported"
        async with UnitOfWork(rt.sessionmaker) as uow:
            programme = await uow.programmes.by_slug("nordic")
            assert programme is not None
            files = export(programme, content, out)
        exported = yaml.safe_load((out / "programme.yaml").read_text(encoding="utf-8"))
        assert exported["slug"] == "nordic" and exported["checkin_days"] == 21
        assert out / "faq" / "nordic.yaml" in files
        text = "".join(f.read_text(encoding="utf-8") for f in files)
        assert "@" not in text  # no personal data
    finally:
        await rt.close()


def test_a_broken_programme_folder_is_refused_with_reasons(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "programme.yaml").write_text("slug: Bad Slug\nname: x\nlanguages: [zz]\n")
    spec, problems = check_folder(folder, ROOT / "content")
    assert spec is None
    assert any("slug" in p for p in problems) and any("languages" in p for p in problems)
