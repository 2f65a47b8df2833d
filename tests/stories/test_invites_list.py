"""`peerbot invites list --json`: every join invite with its authority and state."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import update

from bot.app import Runtime
from storage.models import Invite
from storage.uow import UnitOfWork
from tests.stories.test_report import peerbot


async def test_invites_are_listed_as_used_unused_or_expired(
    runtime: Runtime, database_url: str
) -> None:
    made = peerbot(
        "invites", "create", "--authority", "Ghent", "--country", "BE", "--count", "3", "--json",
        database_url=database_url,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    first, second, third = (r["code"] for r in json.loads(made.stdout)["invites"])
    async with UnitOfWork(runtime.sessionmaker) as uow:
        long_ago = datetime(2000, 1, 1, tzinfo=UTC)
        await uow.session.execute(
            update(Invite).where(Invite.code == first).values(used_at=long_ago)
        )
        await uow.session.execute(
            update(Invite).where(Invite.code == second).values(expires_at=long_ago)
        )
        await uow.commit()
    listed = peerbot("invites", "list", "--json", database_url=database_url)
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    states = {r["code"]: (r["state"], r["authority"], r["country"]) for r in data["invites"]}
    assert states == {
        first: ("used", "Ghent", "BE"),
        second: ("expired", "Ghent", "BE"),
        third: ("unused", "Ghent", "BE"),
    }
    assert data["counts"] == {"used": 1, "unused": 1, "expired": 1}
    unused = json.loads(peerbot("invites", "list", "--state", "unused", "--json",
                                database_url=database_url).stdout)  # fmt: skip
    assert [r["code"] for r in unused["invites"]] == [third]
    bad = peerbot("invites", "list", "--state", "lost", database_url=database_url)
    assert bad.returncode == 2 and "unknown state" in bad.stderr


async def test_invites_create_refuses_an_unknown_country(database_url: str) -> None:
    bad = peerbot(
        "invites", "create", "--authority", "Ghent", "--country", "Atlantis",
        database_url=database_url,
    )  # fmt: skip
    assert bad.returncode == 2 and "unknown country 'Atlantis'" in bad.stderr
    named = peerbot(
        "invites", "create", "--authority", "Gent", "--country", "Belgium", "--json",
        database_url=database_url,
    )  # fmt: skip
    assert named.returncode == 0, named.stderr
    assert json.loads(named.stdout)["invites"][0]["telegram"].startswith("https://t.me/")
