"""Roster use cases shared by the CLI (`peerbot officers import`) and the console: preview an
import, apply it, list a programme's officers and its invites. Authorization inside."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from handlers.announcements.reach import never_started
from handlers.audit.service import Coordinator, authorize, record
from handlers.core.taxonomy import Taxonomy
from handlers.officers.roster import (
    ImportReport,
    Progress,
    RosterPreview,
    import_csv,
    preview_csv,
)
from storage.models import Programme
from storage.repositories.console import ConsoleRepo
from storage.uow import UnitOfWork


async def _programme(uow: UnitOfWork, who: Coordinator | None, programme: Programme) -> None:
    if who is not None:
        authorize(who, programme.id)


async def preview_roster(
    uow: UnitOfWork,
    who: Coordinator | None,
    programme: Programme,
    text: str,
    taxonomy: Taxonomy,
) -> RosterPreview:
    """What importing `text` into `programme` would do; nothing is written.

    `who` is None for the CLI (whoever holds the database may import)."""
    await _programme(uow, who, programme)
    return await preview_csv(uow, text, taxonomy)


async def import_roster(
    uow: UnitOfWork,
    who: Coordinator | None,
    programme: Programme,
    text: str,
    taxonomy: Taxonomy,
    now: datetime,
    *,
    move: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a roster CSV (see `import_csv`); a console import is written to the audit log."""
    await _programme(uow, who, programme)
    report = await import_csv(uow, text, taxonomy, programme, move=move, progress=progress)
    if who is not None:
        await record(
            uow,
            who,
            programme.id,
            "roster.import",
            now,
            created=report.created,
            updated=report.updated,
            rejected=len(report.errors),
        )
        await uow.commit()
    return report


@dataclass(frozen=True)
class RosterLine:
    """An officer of the programme as the console lists them."""

    id: int
    name: str
    email: str | None
    authority: str
    country: str
    role: str
    status: str
    locale: str | None
    platforms: tuple[str, ...]
    not_started: bool
    """On Telegram but never pressed Start: the bot cannot write to them yet."""


async def roster(uow: UnitOfWork, who: Coordinator, programme_id: int) -> list[RosterLine]:
    """The programme's officers, with who has not pressed Start on Telegram yet."""
    authorize(who, programme_id)
    lines = []
    for o in await uow.get(ConsoleRepo).roster(programme_id):
        lines.append(
            RosterLine(
                id=o.id,
                name=o.name,
                email=o.email,
                authority=o.authority.name if o.authority else "",
                country=o.authority.country if o.authority else "",
                role=o.role.value,
                status=o.status.value,
                locale=o.locale,
                platforms=tuple(sorted({i.platform for i in o.identities})),
                not_started=any(never_started(i) for i in o.identities)
                and not any(not never_started(i) for i in o.identities),
            )
        )
    return lines


def invite_state(used_at: datetime | None, expires_at: datetime | None, now: datetime) -> str:
    """used | expired | unused, as `peerbot invites list` and the console report an invite."""
    if used_at is not None:
        return "used"
    return "expired" if expires_at is not None and expires_at < now else "unused"


@dataclass(frozen=True)
class InviteLine:
    code: str
    authority: str
    country: str
    state: str
    expires_at: datetime | None
    used_at: datetime | None


async def invites(
    uow: UnitOfWork, who: Coordinator, programme_id: int, now: datetime
) -> list[InviteLine]:
    """Join invites of the programme's authorities, newest first, with their state."""
    authorize(who, programme_id)
    return [
        InviteLine(
            i.code,
            a.name,
            a.country,
            invite_state(i.used_at, i.expires_at, now),
            i.expires_at,
            i.used_at,
        )
        for i, a in await uow.get(ConsoleRepo).invites(programme_id)
    ]
