"""Good-practice review for the console, on the same function as chat and
`peerbot practices review` (`handlers.practices.flow.review`). Authorization inside: only
practices of the programme's officers are listed or reviewed."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from handlers.audit.service import Coordinator, NotAllowed, authorize, record
from handlers.core.content import Content
from handlers.practices.figures import apply_figures
from handlers.practices.flow import review
from handlers.practices.rules import FigureError, PracticeFigures, check_figures
from storage.models import GoodPractice, Officer
from storage.repositories.console import ConsoleRepo
from storage.repositories.practices import PENDING, PracticeRepo
from storage.uow import UnitOfWork


@dataclass(frozen=True)
class PracticeLine:
    id: int
    title: str
    summary: str
    sector: str
    instruments: tuple[str, ...]
    year: int | None
    author: str
    authority: str


async def _members(uow: UnitOfWork, programme_id: int) -> dict[int, tuple[str, str]]:
    return {
        o.id: (o.name, o.authority.name if o.authority else "")
        for o in await uow.get(ConsoleRepo).roster(programme_id)
    }


async def pending(uow: UnitOfWork, who: Coordinator, programme_id: int) -> list[PracticeLine]:
    """Practices of the programme's officers waiting for review, oldest first."""
    authorize(who, programme_id)
    members = await _members(uow, programme_id)
    found = await uow.get(PracticeRepo).list(status=PENDING, officer_ids=list(members))
    return [
        PracticeLine(
            p.id,
            p.title,
            p.summary,
            p.sector,
            tuple(str(c) for c in p.instruments),
            p.year,
            *members[p.officer_id or 0],
        )
        for p in found
        if p.officer_id in members
    ]


async def review_practice(
    uow: UnitOfWork,
    content: Content,
    secret: bytes,
    who: Coordinator,
    programme_id: int,
    practice_id: int,
    approve: bool,
    now: datetime,
) -> bool:
    """Approve or reject a pending practice of the programme (its author is told);
    whether it changed."""
    authorize(who, programme_id)
    practice = await uow.get(PracticeRepo).get(practice_id)
    members = await _members(uow, programme_id)
    if practice is None or practice.officer_id not in members:
        raise NotAllowed(f"practice {practice_id}")
    reviewer = await uow.officers.get(who.officer_id)
    reviewed = await review(uow, content, secret, practice_id, approve, reviewer, now)
    changed = reviewed.changed
    if changed:
        action = "practice.approve" if approve else "practice.reject"
        await record(uow, who, programme_id, action, now, practice=practice_id)
    await uow.commit()
    return changed


# -- figures ---------------------------------------------------------------------------------


async def set_figures(
    uow: UnitOfWork,
    actor: Officer | None,
    practice_id: int,
    figures: PracticeFigures,
    instruments: Collection[str],
    *,
    coordinator: bool = False,
) -> GoodPractice:
    """Record a practice's investment, instrument mix and yearly results (a figure left None
    keeps its value). Its author, an officer of its authority, or a coordinator (the CLI) only;
    the mix's instruments join the practice's instruments."""
    practice = await uow.get(PracticeRepo).get(practice_id)
    if practice is None:
        raise FigureError("no_practice", id=practice_id)
    own = actor is not None and (
        actor.id == practice.officer_id
        or (actor.authority_id is not None and actor.authority_id == practice.authority_id)
    )
    if not (coordinator or own):
        raise NotAllowed(f"practice {practice_id}")
    check_figures(figures, instruments)
    apply_figures(practice, figures)
    await uow.flush()
    return practice
