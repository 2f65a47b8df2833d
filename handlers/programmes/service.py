"""Programme settings shared by `peerbot programme rename` and the console."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from handlers.audit.service import Coordinator, NotAllowed, authorize, record
from handlers.programmes.folder import rename
from storage.uow import UnitOfWork


@dataclass(frozen=True)
class Settings:
    id: int
    slug: str
    name: str
    languages: tuple[str, ...]


async def coordinated(uow: UnitOfWork, who: Coordinator) -> list[Settings]:
    """The programmes `who` coordinates, in creation order."""
    return [
        Settings(p.id, p.slug, p.name, tuple(p.languages or ["en"]))
        for p in await uow.programmes.list()
        if p.id in who.programme_ids
    ]


async def settings_of(uow: UnitOfWork, who: Coordinator, programme_id: int) -> Settings:
    """The programme's name and languages."""
    authorize(who, programme_id)
    found = next((p for p in await uow.programmes.list() if p.id == programme_id), None)
    if found is None:
        raise NotAllowed(f"programme {programme_id}")
    return Settings(found.id, found.slug, found.name, tuple(found.languages or ["en"]))


async def rename_programme(
    uow: UnitOfWork,
    who: Coordinator,
    programme_id: int,
    name: str | None,
    languages: list[str] | None,
    now: datetime,
) -> Settings:
    """Rename and/or change languages with the rules of `peerbot programme rename`
    (`ValueError` with the reason when a value is refused)."""
    current = await settings_of(uow, who, programme_id)
    found = await rename(uow, current.slug, name, languages)
    await record(
        uow,
        who,
        programme_id,
        "programme.settings",
        now,
        name=found.name,
        languages=list(found.languages),
    )
    await uow.commit()
    return Settings(found.id, found.slug, found.name, tuple(found.languages))
