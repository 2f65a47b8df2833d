"""Demo content: a small programme a newcomer can talk to at once."""

from __future__ import annotations

from typing import Any

import yaml
from sqlalchemy import delete, func, select

from bot.config import Settings
from storage.db import make_engine, make_sessionmaker
from storage.models import (
    AuthorityKind,
    Base,
    GoodPractice,
    Officer,
    OfficerStatus,
    Programme,
    Role,
    utcnow,
)
from storage.uow import UnitOfWork


async def load_demo(uow: UnitOfWork, data: dict[str, Any]) -> None:
    """Create the demo programme, authorities, officers (with console identities), practices."""
    p = data["programme"]
    programme = await uow.programmes.add(
        Programme(
            slug=p["slug"], name=p["name"], languages=p["languages"], checkin_days=p["checkin_days"]
        )
    )
    authorities = {}
    for a in data["authorities"]:
        authorities[a["name"]] = await uow.authorities.get_or_create(
            a["name"], a["country"], AuthorityKind(a["kind"]), a.get("population")
        )
    officers = {}
    for o in data["officers"]:
        officer = await uow.officers.add(
            Officer(
                name=o["name"],
                email=o["email"],
                authority_id=authorities[o["authority"]].id,
                programme_id=programme.id,
                role=Role(o.get("role", "officer")),
                languages=o["languages"],
                timezone=o["timezone"],
                sectors=o.get("sectors", []),
                wants=o.get("wants", []),
                offers=o.get("offers", []),
                consent_at=utcnow(),
                consent_source="demo",
                status=OfficerStatus.ACTIVE,
            )
        )
        officers[o["email"]] = officer
        identity = await uow.identities.get_or_create(
            "console", o["console"], dm_chat_id=o["console"]
        )
        identity.officer_id = officer.id
    for g in data.get("practices", []):
        uow.session.add(
            GoodPractice(
                authority_id=authorities[g["authority"]].id,
                officer_id=officers[g["officer"]].id,
                sector=g["sector"],
                instruments=g["instruments"],
                title=g["title"],
                summary=g["summary"],
                year=g.get("year"),
                status="approved",
            )
        )
    await uow.kv.put("demo_loaded", "yes")


def _demo_data(settings: Settings) -> dict[str, Any]:
    with (settings.content_dir / "demo.yaml").open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


async def ensure_demo(settings: Settings) -> bool:
    """Load the demo on an empty database; True when it did."""
    engine = make_engine(settings.database_url)
    try:
        async with UnitOfWork(make_sessionmaker(engine)) as uow:
            count = (
                await uow.session.execute(select(func.count()).select_from(Officer))
            ).scalar_one()
            if count or await uow.kv.get("demo_loaded"):
                return False
            await load_demo(uow, _demo_data(settings))
            await uow.commit()
            return True
    finally:
        await engine.dispose()


async def reset_demo(settings: Settings) -> None:
    """Delete every row (the schema stays) and load the demo again."""
    from storage.migrate import upgrade

    await upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        async with UnitOfWork(make_sessionmaker(engine)) as uow:
            for table in reversed(Base.metadata.sorted_tables):
                if table.name != "key_value":
                    await uow.session.execute(delete(table))
            await uow.session.execute(
                delete(Base.metadata.tables["key_value"]).where(
                    Base.metadata.tables["key_value"].c.key == "demo_loaded"
                )
            )
            await load_demo(uow, _demo_data(settings))
            await uow.commit()
    finally:
        await engine.dispose()
