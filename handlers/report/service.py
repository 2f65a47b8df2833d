"""The coordinators' figures as the CLI (`peerbot report`) and the dashboard ask for them."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from handlers.report.figures import Report, build_report
from storage.uow import UnitOfWork


async def programme_report(
    uow: UnitOfWork, programme_ids: Collection[int] | None, slug: str | None, now: datetime
) -> Report | None:
    """The figures of the programmes a viewer may see (`None`: every programme, for whoever
    holds the database), or of the one of them `slug` names; None when it names none of them."""
    ids = (
        {p.id for p in await uow.programmes.list()} if programme_ids is None else set(programme_ids)
    )
    if slug:
        programme = await uow.programmes.by_slug(slug)
        if programme is None or programme.id not in ids:
            return None
        ids = {programme.id}
    return await build_report(uow, ids, now)
