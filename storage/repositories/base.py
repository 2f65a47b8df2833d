"""Shared pieces of the repositories."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, bindparam, update
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


def take_leased(
    model: Any, working: Any, due: ColumnElement[bool], now: Any, returning: Sequence[Any] = ()
) -> Any:
    """The second statement of a claim (inbox and outbox alike): the picked rows (`ids`) that
    are still `due` become `working`, leased to `worker` at `now`, one attempt more; it returns
    them (as `model` objects, or the `returning` columns). `model` is a mapped class or a
    table. Built once with parameters: building it cost more than running it."""
    columns = getattr(model, "c", model)
    return (
        update(model)
        .where(columns.id.in_(bindparam("ids", expanding=True)), due)
        .values(
            status=working,
            claimed_by=bindparam("worker"),
            claimed_at=now,
            attempts=columns.attempts + 1,
        )
        .returning(*(returning or (model,)))
        .execution_options(synchronize_session=False)
    )
