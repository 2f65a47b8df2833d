"""The durable outbox: enqueue idempotently, claim atomically, pace, record the outcome."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from storage.models import (
    DiscussionThread,
    Outbox,
    OutboxPace,
    OutboxStatus,
    PairSpace,
    Programme,
    utcnow,
)
from storage.repositories.base import Repository, take_leased

LEASE = timedelta(seconds=120)
"""A claimed row not recorded within this time is taken again (its sender is presumed dead)."""
MAX_ATTEMPTS = 8
MAX_AHEAD = 60.0
"""A shared send slot further ahead than this (a host with a wrong clock) is not waited for."""
ENQUEUE_CHUNK = 500
FINAL = (OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.UNDELIVERABLE)


def _claim_statements() -> tuple[Any, Any]:
    """The claim's two statements, built once with parameters (now, stale = now - LEASE,
    platform, limit; then ids, now, stale, worker): the outbox sender runs them on every poll,
    and building them cost more than running them."""
    now = bindparam("now", type_=Outbox.next_attempt_at.type)
    stale = bindparam("stale", type_=Outbox.claimed_at.type)
    due = or_(
        and_(Outbox.status == OutboxStatus.PENDING, Outbox.next_attempt_at <= now),
        and_(Outbox.status == OutboxStatus.SENDING, Outbox.claimed_at < stale),
    )
    other = aliased(Outbox)
    blocked = (
        exists()
        .where(
            other.platform == Outbox.platform,
            other.chat_id == Outbox.chat_id,
            other.id != Outbox.id,
            or_(
                and_(other.status == OutboxStatus.SENDING, other.claimed_at >= stale),
                and_(
                    other.id < Outbox.id,
                    other.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
                    or_(other.next_attempt_at <= now, other.claimed_at.is_not(None)),
                ),
            ),
        )
        .correlate(Outbox)
    )
    pick = (
        select(Outbox.id)
        # `platform || ''`: no index on platform for this term, so the planner reads the due
        # rows through ix_outbox_due instead of every row of the platform (SQLite chose
        # ix_outbox_chat and scanned each sent row on every poll)
        .where(Outbox.platform.concat(literal_column("''")) == bindparam("platform"), due, ~blocked)
        .order_by(Outbox.priority, Outbox.next_attempt_at, Outbox.id)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True)
    )
    take = take_leased(Outbox, OutboxStatus.SENDING, due, now)
    return pick, take


_PICK, _TAKE = _claim_statements()
_SENT = (
    update(Outbox.__table__)  # type: ignore[arg-type]
    .where(Outbox.__table__.c.id == bindparam("row_id"))  # type: ignore[attr-defined]
    .values(
        status=OutboxStatus.SENT.value,
        sent_at=bindparam("sent"),
        platform_message_id=bindparam("message_id"),
        error=None,
    )
)
"""Sent rows recorded (every reply: built once)."""
_ADD_CLAIMED = insert(Outbox.__table__).returning(  # type: ignore[arg-type]
    Outbox.__table__.c.id,  # type: ignore[attr-defined]
    sort_by_parameter_order=True,
)
"""A handler's replies inserted already claimed (every reply: built once)."""


class OutboxRepo(Repository):
    """One row per outgoing message; senders on several processes share the table.

    Claiming is atomic (`UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING`) and
    takes at most one row per chat: the oldest due one, and only while no other row of that chat
    is in flight, so messages to one chat go out in order even with several senders.
    """

    async def enqueue(
        self,
        key: str,
        platform: str,
        chat_id: str,
        payload: dict[str, Any],
        *,
        thread_id: str | None = None,
        officer_id: int | None = None,
        purpose: str = "message",
        ref_id: int | None = None,
        not_before: datetime | None = None,
        priority: int = 0,
    ) -> bool:
        """Queue a message once per idempotency key; False when that key was already queued."""
        values = _row(
            key,
            platform,
            chat_id,
            payload,
            thread_id=thread_id,
            officer_id=officer_id,
            purpose=purpose,
            ref_id=ref_id,
            not_before=not_before,
            priority=priority,
        )
        stmt = self.insert_ignore(Outbox.__table__, values, ["idempotency_key"])  # type: ignore[arg-type]
        result = await self.session.execute(stmt)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def enqueue_many(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Queue many rows (each a `row()` mapping); returns how many keys were new."""
        table = Outbox.__table__
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        added = 0
        # The rows go as parameters of one statement (executemany with RETURNING), not as a
        # multi-row VALUES: SQLAlchemy caches this statement's compiled form, where it compiled
        # a VALUES of a chunk's size anew for every chunk (a second and a half at 6,500 rows).
        stmt = (
            insert(table)  # type: ignore[arg-type]
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(table.c.id)  # type: ignore[attr-defined]
        )
        for start in range(0, len(rows), ENQUEUE_CHUNK):
            chunk = [dict(r) for r in rows[start : start + ENQUEUE_CHUNK]]
            added += len((await self.session.execute(stmt, chunk)).all())
        return added

    async def claim(
        self,
        platform: str,
        worker: str,
        limit: int = 20,
        now: datetime | None = None,
    ) -> Sequence[Outbox]:
        """Claim due rows for one worker: pending ones, and sending ones whose lease ran out.

        Priority first (0 before bulk), then due time. A row is skipped while its chat has a row
        in flight or an older row that is due or already tried (one row per chat per claim).
        PostgreSQL locks the picked rows (FOR UPDATE SKIP LOCKED) so concurrent workers never take
        the same row; on SQLite the UPDATE re-checks that each row is still due, so a row another
        process took in between is left out.
        """
        now = now or utcnow()
        # Two statements, not `UPDATE … WHERE id IN (SELECT … LIMIT … SKIP LOCKED)`: PostgreSQL
        # may rescan such a subquery, and every rescan skips the rows the previous one locked,
        # so one claim could take far more than `limit` rows (it took 600 of 600, measured).
        params = {"now": now, "stale": now - LEASE, "platform": platform, "limit": limit}
        ids = list((await self.session.execute(_PICK, params)).scalars())
        if not ids:
            return []
        take = {"ids": ids, "now": now, "stale": now - LEASE, "worker": worker}
        rows = (await self.session.execute(_TAKE, take)).scalars().all()
        return sorted(rows, key=lambda r: (r.priority, r.next_attempt_at, r.id))

    async def enqueue_claimed(self, rows: Sequence[Mapping[str, Any]], worker: str) -> list[int]:
        """Insert rows already claimed by `worker` (a handler's replies, sent by that worker
        right after the commit); their ids in order. A dead worker's rows are taken back like
        any claimed row, so a reply is never lost with its process."""
        if not rows:
            return []
        now = utcnow()
        values = [
            dict(
                r, status=OutboxStatus.SENDING.value, claimed_by=worker, claimed_at=now, attempts=1
            )
            for r in rows
        ]
        # parameters apart from the statement (executemany with RETURNING), not a multi-row
        # VALUES: SQLAlchemy caches this statement's compiled form; it compiled the other one
        # anew for every answered question
        return sorted(int(r[0]) for r in await self.session.execute(_ADD_CLAIMED, values))

    async def last_choices(self, platform: str, chat_id: str) -> list[dict[str, Any]]:
        """The buttons of the newest message sent to a chat that had any (a console that
        restarts offers them again)."""
        stmt = (
            select(Outbox.payload)
            .where(
                Outbox.platform == platform,
                Outbox.chat_id == chat_id,
                Outbox.status == OutboxStatus.SENT,
            )
            .order_by(Outbox.id.desc())
            .limit(20)
        )
        for data in (await self.session.execute(stmt)).scalars():
            choices = (data or {}).get("choices") or []
            if choices:
                return [dict(c) for c in choices]
        return []

    async def mark_sent_many(self, sent: Sequence[tuple[int, str | None]]) -> None:
        """Record many sent rows at once (the replies of many handlers): one executemany."""
        if not sent:
            return
        now = utcnow()
        params = [
            {"row_id": row_id, "message_id": message_id, "sent": now} for row_id, message_id in sent
        ]
        await self.session.execute(_SENT, params)

    async def reserve(self, platform: str, count: int, rate: float, now: float) -> float:
        """Reserve `count` send slots at `rate` per second for a platform; returns the first.

        The next free slot is one row shared by every process (a virtual-time token bucket), so
        N senders together stay within the platform's overall rate. Times are epoch seconds.
        """
        span = count / rate
        table = OutboxPace.__table__
        current = table.c.next_slot  # type: ignore[attr-defined]
        if self.dialect == "postgresql":
            start = func.least(func.greatest(current, literal(now)), literal(now + MAX_AHEAD))
            insert: Any = postgresql.insert(table)  # type: ignore[arg-type]
        else:
            start = func.min(func.max(current, literal(now)), literal(now + MAX_AHEAD))
            insert = sqlite.insert(table)  # type: ignore[arg-type]
        stmt = (
            insert.values(platform=platform, next_slot=now + span)
            .on_conflict_do_update(index_elements=["platform"], set_={"next_slot": start + span})
            .returning(current)
        )
        end = float((await self.session.execute(stmt)).scalar_one())
        return end - span

    async def pause(self, platform: str, until: float) -> None:
        """No process sends on this platform before `until` (epoch seconds): a 429 was answered."""
        table = OutboxPace.__table__
        current = table.c.next_slot  # type: ignore[attr-defined]
        if self.dialect == "postgresql":
            later = func.greatest(current, literal(until))
            insert: Any = postgresql.insert(table)  # type: ignore[arg-type]
        else:
            later = func.max(current, literal(until))
            insert = sqlite.insert(table)  # type: ignore[arg-type]
        await self.session.execute(
            insert.values(platform=platform, next_slot=until).on_conflict_do_update(
                index_elements=["platform"], set_={"next_slot": later}
            )
        )

    async def mark_sent(
        self, row_id: int, message_id: str | None, now: datetime | None = None
    ) -> None:
        await self.session.execute(
            update(Outbox)
            .where(Outbox.id == row_id)
            .values(
                status=OutboxStatus.SENT,
                sent_at=now or utcnow(),
                platform_message_id=message_id,
                error=None,
            )
            .execution_options(synchronize_session=False)
        )

    async def mark_retry(
        self, row_id: int, delay: timedelta, error: str, attempts: int, now: datetime | None = None
    ) -> OutboxStatus:
        """Put a row back for later, or fail it for good after MAX_ATTEMPTS."""
        status = OutboxStatus.PENDING if attempts < MAX_ATTEMPTS else OutboxStatus.FAILED
        await self.session.execute(
            update(Outbox)
            .where(Outbox.id == row_id)
            .values(
                status=status,
                next_attempt_at=(now or utcnow()) + delay,
                error=error[:500],
                claimed_by=None,
            )
            .execution_options(synchronize_session=False)
        )
        return status

    async def release(self, row_id: int, at: datetime, error: str | None = None) -> None:
        """Put a claimed row back without counting the attempt (rate limit, shutdown)."""
        await self.session.execute(
            update(Outbox)
            .where(Outbox.id == row_id, Outbox.status == OutboxStatus.SENDING)
            .values(
                status=OutboxStatus.PENDING,
                next_attempt_at=at,
                attempts=func.max(Outbox.attempts - 1, 0)
                if self.dialect == "sqlite"
                else func.greatest(Outbox.attempts - 1, 0),
                error=error[:500] if error else Outbox.error,
                claimed_by=None,
            )
            .execution_options(synchronize_session=False)
        )

    async def mark_undeliverable(self, row_id: int, error: str) -> None:
        await self.session.execute(
            update(Outbox)
            .where(Outbox.id == row_id)
            .values(status=OutboxStatus.UNDELIVERABLE, error=error[:500], claimed_by=None)
            .execution_options(synchronize_session=False)
        )

    async def retarget(self, row_id: int, chat_id: str, now: datetime | None = None) -> None:
        """Point a row at a new chat (a Telegram group that became a supergroup) and retry now."""
        await self.session.execute(
            update(Outbox)
            .where(Outbox.id == row_id)
            .values(
                chat_id=chat_id,
                status=OutboxStatus.PENDING,
                next_attempt_at=now or utcnow(),
                claimed_by=None,
            )
            .execution_options(synchronize_session=False)
        )

    async def migrate_chat(self, platform: str, old: str, new: str) -> None:
        """A chat got a new id (a Telegram group became a supergroup): the queued rows, the
        programme's group, discussion threads and pair spaces follow it."""
        await self.session.execute(
            update(Outbox)
            .where(
                Outbox.platform == platform,
                Outbox.chat_id == old,
                Outbox.status == OutboxStatus.PENDING,
            )
            .values(chat_id=new)
            .execution_options(synchronize_session=False)
        )
        for model in (DiscussionThread, PairSpace):
            await self.session.execute(
                update(model)
                .where(model.platform == platform, model.chat_id == old)
                .values(chat_id=new)
                .execution_options(synchronize_session=False)
            )
        numeric = old.lstrip("-").isdigit() and new.lstrip("-").isdigit()
        if platform == "telegram" and numeric:
            await self.session.execute(
                update(Programme)
                .where(Programme.telegram_chat_id == int(old))
                .values(telegram_chat_id=int(new))
                .execution_options(synchronize_session=False)
            )

    async def claimers(self, platform: str, prefix: str) -> list[str]:
        """The workers (ids starting with `prefix`) that hold rows of a platform in flight."""
        stmt = (
            select(Outbox.claimed_by)
            .where(
                Outbox.platform == platform,
                Outbox.status == OutboxStatus.SENDING,
                Outbox.claimed_by.like(f"{prefix}%"),
            )
            .distinct()
        )
        return [str(w) for w in (await self.session.execute(stmt)).scalars() if w]

    async def release_worker(self, worker: str, at: datetime) -> int:
        """Give back every row a dead worker held; returns how many."""
        result = await self.session.execute(
            update(Outbox)
            .where(Outbox.claimed_by == worker, Outbox.status == OutboxStatus.SENDING)
            .values(status=OutboxStatus.PENDING, next_attempt_at=at, claimed_by=None)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def is_relay(self, platform: str, chat_id: str, message_id: str) -> bool:
        """Whether a platform message is one the bot itself sent (a relay must not echo)."""
        stmt = select(Outbox.id).where(
            Outbox.platform == platform,
            Outbox.chat_id == chat_id,
            Outbox.platform_message_id == message_id,
        )
        return (await self.session.execute(stmt.limit(1))).first() is not None

    async def counts(self, purpose: str, ref_id: int) -> dict[str, int]:
        """How many rows of one announcement (or other source) are in each status."""
        stmt = (
            select(Outbox.status, func.count())
            .where(Outbox.purpose == purpose, Outbox.ref_id == ref_id)
            .group_by(Outbox.status)
        )
        found = {
            str(getattr(s, "value", s)): int(n) for s, n in (await self.session.execute(stmt)).all()
        }
        return {status.value: found.get(status.value, 0) for status in OutboxStatus}

    async def pending_count(self) -> int:
        stmt = select(func.count()).where(
            Outbox.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING])
        )
        return int((await self.session.execute(stmt)).scalar_one())


def _row(
    key: str,
    platform: str,
    chat_id: str,
    payload: dict[str, Any],
    *,
    thread_id: str | None = None,
    officer_id: int | None = None,
    purpose: str = "message",
    ref_id: int | None = None,
    not_before: datetime | None = None,
    priority: int = 0,
) -> dict[str, Any]:
    now = utcnow()
    return {
        "idempotency_key": key[:200],
        "platform": platform,
        "chat_id": chat_id,
        "thread_id": thread_id,
        "officer_id": officer_id,
        "purpose": purpose,
        "ref_id": ref_id,
        "payload": payload,
        "status": OutboxStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": not_before or now,
        "created_at": now,
        "priority": priority,
    }


row = _row
"""The column values of one outbox row, for `OutboxRepo.enqueue_many`."""
