"""The coordinator behind a console action, the check that a programme is theirs, and the
audit log every action writes (who, when, what, which programme).

Every console use case takes a `Coordinator` and the programme it acts on and calls
`authorize` first: a programme the coordinator does not coordinate is `NotAllowed`, which
the web turns into 404, so another programme's pages cannot even be told apart from missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from storage.uow import UnitOfWork as UnitOfWork  # re-exported for the doors' type hints


class NotAllowed(LookupError):
    """Not found, or not in a programme the coordinator coordinates (the same to them)."""


@dataclass(frozen=True)
class Coordinator:
    """Who acts: an officer and the programmes they coordinate."""

    officer_id: int
    programme_ids: frozenset[int] = field(default_factory=frozenset)


def authorize(who: Coordinator, programme_id: int | None) -> int:
    """The programme id when `who` coordinates it; else `NotAllowed`."""
    if programme_id is None or programme_id not in who.programme_ids:
        raise NotAllowed(f"programme {programme_id}")
    return programme_id


async def record(
    uow: UnitOfWork,
    who: Coordinator,
    programme_id: int,
    action: str,
    now: datetime,
    **detail: Any,
) -> None:
    """Write one audit entry in the caller's transaction (it commits with the action)."""
    await uow.audit.add(programme_id, who.officer_id, action, detail, now)


@dataclass(frozen=True)
class AuditLine:
    """One entry as the console shows it."""

    at: datetime
    who: str
    action: str
    detail: dict[str, Any]


async def recent(
    uow: UnitOfWork, who: Coordinator, programme_id: int, limit: int = 200
) -> list[AuditLine]:
    """The latest entries of one programme, newest first."""
    authorize(who, programme_id)
    rows = await uow.audit.recent({programme_id}, limit)
    return [
        AuditLine(a.created_at, o.name if o else "—", a.action, dict(a.detail or {}))
        for a, o in rows
    ]
