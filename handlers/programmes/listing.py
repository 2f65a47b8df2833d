"""Every programme as `peerbot programmes list` shows them, read as plain rows: the command
imports neither the ORM models nor the programme services."""

from __future__ import annotations

from storage.uow import UnitOfWork


async def every_programme(uow: UnitOfWork) -> list[dict[str, object]]:
    """Every programme as `peerbot programmes list --json` prints it."""
    return [
        {"id": i, "slug": slug, "name": name, "languages": languages, "checkin_days": days}
        for i, slug, name, languages, days in await uow.listings.programme_rows()
    ]
