"""Shared pieces of the repositories."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.sql.dml import Insert


class Repository:
    """A repository works on the session of the unit of work that holds it."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def insert_ignore(self, table: Table, values: dict[str, Any], keys: Sequence[str]) -> Insert:
        """`INSERT … ON CONFLICT (keys) DO NOTHING` for the session's dialect."""
        from sqlalchemy.dialects import postgresql, sqlite  # a listing needs neither

        if self.dialect == "postgresql":
            return (
                postgresql.insert(table)
                .values(**values)
                .on_conflict_do_nothing(index_elements=list(keys))
            )
        return (
            sqlite.insert(table).values(**values).on_conflict_do_nothing(index_elements=list(keys))
        )
