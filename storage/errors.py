"""What a database failure means to the callers of storage, without their naming the driver."""

from __future__ import annotations

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, ProgrammingError


def database_down(exc: BaseException) -> bool:
    """A lost connection or a restarting server (worth waiting for), not a bad statement."""
    if isinstance(exc, IntegrityError | DataError | ProgrammingError):
        return False
    return isinstance(exc, OSError | DBAPIError)
