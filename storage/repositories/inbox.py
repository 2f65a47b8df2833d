"""The durable inbox: store an update once, claim it in conversation order, record the outcome."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    delete,
    exists,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from storage.models import InboxItem, InboxStatus, utcnow
from storage.repositories.base import Repository, take_leased

LEASE = timedelta(seconds=60)
"""A claimed row not finished within this time is taken again (its worker is presumed dead)."""
OPEN = (InboxStatus.PENDING, InboxStatus.WORKING)


class Claimed(NamedTuple):
    """A claimed row: what its worker needs to handle it (plain values, no ORM object)."""

    id: int
    platform: str
    update_key: str
    conversation: str
    event: dict[str, Any] | None
    attempts: int


def _claim_statements() -> tuple[Any, Any, Any]:
    """The claim's statements, built once with parameters (now, stale = now - LEASE, limit,
    platforms; then ids, now, stale, worker): building them cost more than running them.
    Core statements on the table: the ORM's bulk UPDATE and the objects it built from the
    RETURNING rows cost more than the claim's SQL."""
    inbox = InboxItem.__table__
    c = inbox.c  # type: ignore[attr-defined]
    now = bindparam("now", type_=c.next_attempt_at.type)
    stale = bindparam("stale", type_=c.claimed_at.type)
    due = or_(
        and_(c.status == InboxStatus.PENDING, c.next_attempt_at <= now),
        and_(c.status == InboxStatus.WORKING, c.claimed_at < stale),
    )
    earlier = inbox.alias("earlier")
    blocked = (
        exists()
        .where(
            earlier.c.conversation == c.conversation,
            earlier.c.id < c.id,
            earlier.c.status.in_(OPEN),
        )
        .correlate(inbox)
    )
    pick = select(c.id).where(due, ~blocked)
    # `platform || ''`: not the (platform, update_key) index, which made SQLite read every
    # row of the platform, handled ones included, on each claim; the due index instead
    platform = c.platform.concat(literal_column("''"))
    pick_on = pick.where(platform.in_(bindparam("platforms", expanding=True)))

    def ordered(stmt: Any) -> Any:
        return (
            stmt.order_by(c.id)
            .limit(bindparam("limit", type_=Integer))
            .with_for_update(skip_locked=True)
        )

    returning = (c.id, c.platform, c.update_key, c.conversation, c.event, c.attempts)
    take = take_leased(inbox, InboxStatus.WORKING, due, now, returning)
    return ordered(pick), ordered(pick_on), take


_PICK, _PICK_ON, _TAKE = _claim_statements()


@functools.cache
def _add_statement(dialect: str) -> Any:
    """`add_many`'s INSERT … ON CONFLICT DO NOTHING RETURNING for a dialect, built once: every
    accepted update runs it, and building it cost about as much as running it."""
    table = InboxItem.__table__
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(table)  # type: ignore[arg-type]
        .on_conflict_do_nothing(index_elements=["platform", "update_key"])
        .returning(table.c.platform, table.c.update_key)  # type: ignore[attr-defined]
    )


_FINISH = (
    update(InboxItem.__table__)  # type: ignore[arg-type]
    .where(
        InboxItem.__table__.c.id == bindparam("item_id"),  # type: ignore[attr-defined]
        InboxItem.__table__.c.claimed_by == bindparam("worker"),  # type: ignore[attr-defined]
        InboxItem.__table__.c.status == InboxStatus.WORKING.value,  # type: ignore[attr-defined]
    )
    .values(status=InboxStatus.DONE.value, handled_at=bindparam("handled"), error=None)
)
"""A handled row done (every handled update runs it: built once, a plain Core statement)."""


class InboxRepo(Repository):
    """Rows in, claimed by workers of any process, done in the handler's own transaction.

    Claiming takes only the oldest open row of each conversation, so an officer's second
    message is never handled before the first, while different officers run in parallel.
    PostgreSQL locks the picked rows (FOR UPDATE SKIP LOCKED); SQLite has one writer at a time,
    and the UPDATE re-checks that each row is still due, so two processes never take one row.
    """

    async def add(
        self,
        platform: str,
        key: str,
        conversation: str,
        event: dict[str, Any] | None,
        *,
        status: InboxStatus = InboxStatus.PENDING,
        error: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Store an update once per (platform, key); False when it was stored before."""
        now = now or utcnow()
        values = {
            "platform": platform,
            "update_key": key[:128],
            "conversation": conversation[:200],
            "event": event,
            "status": status.value,
            "attempts": 0,
            "next_attempt_at": now,
            "received_at": now,
            "error": error,
        }
        stmt = self.insert_ignore(InboxItem.__table__, values, ["platform", "update_key"])  # type: ignore[arg-type]
        result = await self.session.execute(stmt)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def add_many(
        self,
        updates: Sequence[tuple[str, str, str, dict[str, Any] | None]],
        now: datetime | None = None,
    ) -> list[bool]:
        """Store several updates (platform, key, conversation, event) in one statement, each
        once per (platform, key); which were new (a key repeated in the batch: its first)."""
        if not updates:
            return []
        now = now or utcnow()
        rows = [
            {
                "platform": platform,
                "update_key": key[:128],
                "conversation": conversation[:200],
                "event": event,
                "status": InboxStatus.PENDING.value,
                "attempts": 0,
                "next_attempt_at": now,
                "received_at": now,
                "error": None,
            }
            for platform, key, conversation, event in updates
        ]
        # one executemany (SQLAlchemy sends it as one multi-row INSERT) and a compiled form
        # cached once, instead of a statement built and sent per update
        stmt = _add_statement(self.dialect)
        stored = {(str(p), str(k)) for p, k in (await self.session.execute(stmt, rows)).all()}
        news = []
        for row in rows:
            ident = (row["platform"], row["update_key"])
            news.append(ident in stored)
            stored.discard(ident)
        return news

    async def claim(
        self, worker: str, limit: int, now: datetime | None = None, platforms: Sequence[str] = ()
    ) -> list[Claimed]:
        """Claim up to `limit` due rows, at most one per conversation, oldest first."""
        now = now or utcnow()
        params: dict[str, Any] = {"now": now, "stale": now - LEASE, "limit": limit}
        pick = _PICK
        if platforms:
            pick = _PICK_ON
            params["platforms"] = list(platforms)
        ids = [r[0] for r in await self.session.execute(pick, params)]
        if not ids:
            return []
        take = {"ids": ids, "now": now, "stale": now - LEASE, "worker": worker}
        rows = (await self.session.execute(_TAKE, take)).all()
        return sorted((Claimed(*r) for r in rows), key=lambda r: r.id)

    async def finish(self, item_id: int, worker: str, now: datetime | None = None) -> bool:
        """Mark a claimed row done, in the handler's transaction; False if it is no longer ours
        (its lease ran out and another worker took it): the caller must then roll back."""
        params = {"item_id": item_id, "worker": worker, "handled": now or utcnow()}
        result = await self.session.execute(_FINISH, params)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def fail(
        self, item_id: int, worker: str, error: str, delay: timedelta | None
    ) -> InboxStatus:
        """Put a failed row back after `delay`, or park it as poison when `delay` is None."""
        status = InboxStatus.POISON if delay is None else InboxStatus.PENDING
        now = utcnow()
        await self.session.execute(
            update(InboxItem)
            .where(InboxItem.id == item_id, InboxItem.claimed_by == worker)
            .values(
                status=status,
                next_attempt_at=now + (delay or timedelta(0)),
                claimed_by=None,
                error=error[:2000],
                handled_at=now if delay is None else None,
            )
            .execution_options(synchronize_session=False)
        )
        return status

    async def release_worker(self, worker: str) -> int:
        """Give back the rows a stopping (or dead) worker had claimed."""
        result = await self.session.execute(
            update(InboxItem)
            .where(InboxItem.claimed_by == worker, InboxItem.status == InboxStatus.WORKING)
            .values(
                status=InboxStatus.PENDING,
                claimed_by=None,
                attempts=func.max(InboxItem.attempts - 1, 0)
                if self.dialect == "sqlite"
                else func.greatest(InboxItem.attempts - 1, 0),
            )
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def claimers(self, prefix: str) -> list[str]:
        """Workers whose id starts with `prefix` that hold rows now."""
        stmt = (
            select(InboxItem.claimed_by)
            .where(InboxItem.status == InboxStatus.WORKING, InboxItem.claimed_by.like(prefix + "%"))
            .distinct()
        )
        return [str(w) for w in (await self.session.execute(stmt)).scalars() if w]

    async def open_count(self, platforms: Sequence[str] = ()) -> int:
        """Rows not yet finished (pending, waiting for a retry, or being handled)."""
        stmt = select(func.count()).where(InboxItem.status.in_(OPEN))
        if platforms:
            stmt = stmt.where(InboxItem.platform.in_(list(platforms)))
        return int((await self.session.execute(stmt)).scalar_one())

    async def stats(self, now: datetime | None = None) -> dict[str, float]:
        """Depth (open rows), age of the oldest open row in seconds, and poison rows."""
        now = now or utcnow()
        depth, oldest = (
            await self.session.execute(
                select(func.count(), func.min(InboxItem.received_at)).where(
                    InboxItem.status.in_(OPEN)
                )
            )
        ).one()
        poison = (
            await self.session.execute(
                select(func.count()).where(InboxItem.status == InboxStatus.POISON)
            )
        ).scalar_one()
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=now.tzinfo)
        age = (now - oldest).total_seconds() if oldest is not None else 0.0
        return {"depth": float(depth), "oldest_age": max(0.0, age), "poison": float(poison)}

    async def prune(self, older_than: timedelta, now: datetime | None = None) -> int:
        """Delete finished rows (done, poison, malformed) received before the cutoff."""
        cutoff = (now or utcnow()) - older_than
        result = await self.session.execute(
            delete(InboxItem).where(InboxItem.received_at < cutoff, InboxItem.status.not_in(OPEN))
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def forget(self, platform: str, conversations: Sequence[str], keep: int | None) -> int:
        """Erase what the inbox holds of a person (their `/forget`): finished rows are deleted,
        open ones lose their text; `keep` is the row being handled now."""
        if not conversations:
            return 0
        mine = and_(InboxItem.platform == platform, InboxItem.conversation.in_(list(conversations)))
        gone = await self.session.execute(
            delete(InboxItem).where(
                mine, InboxItem.status.not_in(OPEN), InboxItem.id != (keep or -1)
            )
        )
        await self.session.execute(
            update(InboxItem)
            .where(mine, or_(InboxItem.status.in_(OPEN), InboxItem.id == (keep or -1)))
            .values(event=None, error=None)
            .execution_options(synchronize_session=False)
        )
        return int(gone.rowcount)  # type: ignore[attr-defined]
