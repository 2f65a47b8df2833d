"""`peerbot programme rename`: any programme, the default one too, gets a new name and languages,
checked like programme.yaml; nothing changes on a bad value."""

from __future__ import annotations

import json

import pytest

from bot.app import Runtime
from handlers.programmes.folder import rename
from storage.models import Programme
from storage.uow import UnitOfWork
from tests.stories.test_report import peerbot


async def _default(runtime: Runtime) -> Programme:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        found = await uow.programmes.default_or_create()
        await uow.commit()
        return found


async def test_rename_checks_the_values(runtime: Runtime) -> None:
    home = await _default(runtime)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        with pytest.raises(ValueError, match="unknown language codes"):
            await rename(uow, home.slug, languages=["en", "xx"])
        with pytest.raises(ValueError, match="name"):
            await rename(uow, home.slug, name="  ")
        with pytest.raises(LookupError):
            await rename(uow, "nowhere", name="Somewhere")
        done = await rename(uow, home.slug, name="PROSPECT+ 2027", languages=["en", "fr", "fr"])
        await uow.commit()
    assert (done.name, done.languages) == ("PROSPECT+ 2027", ["en", "fr"])


async def test_peerbot_programme_rename(runtime: Runtime, database_url: str) -> None:
    home = await _default(runtime)
    done = peerbot(
        "programme", "rename", home.slug, "--name", "Financing SECAPs 2027",
        "--languages", "en,it", "--json", database_url=database_url,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "slug": home.slug,
        "name": "Financing SECAPs 2027",
        "languages": ["en", "it"],
    }
    bad = peerbot(
        "programme", "rename", home.slug, "--languages", "klingon", database_url=database_url
    )
    assert bad.returncode == 2 and "nothing was changed" in bad.stderr
    async with UnitOfWork(runtime.sessionmaker) as uow:
        found = await uow.programmes.by_slug(home.slug)
        assert found is not None
        assert (found.name, found.languages) == ("Financing SECAPs 2027", ["en", "it"])
