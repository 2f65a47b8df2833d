"""What a database failure means to the callers of storage, without their naming the driver."""

from __future__ import annotations

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, ProgrammingError

Conflict = IntegrityError
"""A write the database refused for a constraint (a duplicate key, a missing reference)."""


def conflict_detail(exc: Conflict) -> str:
    """The first line of what the database said about the conflict, at most 200 characters."""
    return str(exc.orig).splitlines()[0][:200]


def database_down(exc: BaseException) -> bool:
    """A lost connection or a restarting server (worth waiting for), not a bad statement."""
    if isinstance(exc, IntegrityError | DataError | ProgrammingError):
        return False
    return isinstance(exc, OSError | DBAPIError)


def database_problem(exc: BaseException) -> str | None:
    """What is wrong with the database in one line when `exc` is the driver's error (a refused
    connection, a bad statement); None for anything else."""
    if not isinstance(exc, DBAPIError | ConnectionError):
        return None
    return str(getattr(exc, "orig", exc)).splitlines()[0][:200]
