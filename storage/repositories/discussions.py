"""Discussions, where they live on each platform, their stored messages and followers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from storage.models import (
    Discussion,
    DiscussionFollower,
    DiscussionMessage,
    DiscussionThread,
    Officer,
    utcnow,
)
from storage.repositories.base import Repository

OPEN = "open"
CLOSED = "closed"


class DiscussionRepo(Repository):
    """Threaded peer discussions mirrored on Slack and Telegram."""

    async def add(self, discussion: Discussion) -> Discussion:
        self.session.add(discussion)
        await self.session.flush()
        return discussion

    async def get(self, discussion_id: int) -> Discussion | None:
        return await self.session.get(Discussion, discussion_id)

    async def locked(self, discussion_id: int) -> Discussion | None:
        """The discussion, locked for this transaction (None if another process holds it)."""
        stmt = (
            select(Discussion)
            .where(Discussion.id == discussion_id)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def count_reply(self, discussion: Discussion, now: datetime) -> None:
        """One more reply, counted in the database (`reply_count + 1`): replies written at
        the same moment in two threads are all counted, none overwrites another's count."""
        result = await self.session.execute(
            update(Discussion)
            .where(Discussion.id == discussion.id)
            .values(reply_count=Discussion.reply_count + 1, last_activity_at=now)
            .returning(Discussion.reply_count)
            .execution_options(synchronize_session=False)
        )
        set_committed_value(discussion, "reply_count", int(result.scalar_one()))
        set_committed_value(discussion, "last_activity_at", now)

    async def threads(self, discussion_id: int) -> Sequence[DiscussionThread]:
        stmt = (
            select(DiscussionThread)
            .where(DiscussionThread.discussion_id == discussion_id)
            .order_by(DiscussionThread.id)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def add_thread(
        self, discussion_id: int, platform: str, chat_id: str, thread_id: str
    ) -> None:
        values = {
            "discussion_id": discussion_id,
            "platform": platform,
            "chat_id": chat_id,
            "thread_id": thread_id,
            "created_at": utcnow(),
        }
        stmt = self.insert_ignore(
            DiscussionThread.__table__,  # type: ignore[arg-type]
            values,
            ["platform", "chat_id", "thread_id"],
        )
        await self.session.execute(stmt)

    async def at(
        self, platform: str, chat_id: str, thread_id: str
    ) -> tuple[DiscussionThread, Discussion] | None:
        """The discussion a platform thread belongs to."""
        stmt = (
            select(DiscussionThread, Discussion)
            .join(Discussion, Discussion.id == DiscussionThread.discussion_id)
            .where(
                DiscussionThread.platform == platform,
                DiscussionThread.chat_id == chat_id,
                DiscussionThread.thread_id == thread_id,
            )
        )
        found = (await self.session.execute(stmt)).first()
        return (found[0], found[1]) if found else None

    async def listing(
        self, programme_ids: set[int] | None, status: str | None = OPEN, limit: int = 20
    ) -> Sequence[Discussion]:
        """Pinned first, then the newest activity."""
        stmt = select(Discussion)
        if status is not None:
            stmt = stmt.where(Discussion.status == status)
        if programme_ids is not None:
            stmt = stmt.where(
                or_(Discussion.programme_id.in_(programme_ids), Discussion.programme_id.is_(None))
            )
        stmt = stmt.order_by(
            Discussion.pinned.desc(), Discussion.last_activity_at.desc(), Discussion.id.desc()
        )
        return (await self.session.execute(stmt.limit(limit))).scalars().all()

    async def recent_open(self, since: datetime) -> Sequence[Discussion]:
        stmt = select(Discussion).where(Discussion.status == OPEN, Discussion.created_at >= since)
        return (await self.session.execute(stmt.order_by(Discussion.id))).scalars().all()

    async def add_message(self, message: DiscussionMessage) -> DiscussionMessage:
        self.session.add(message)
        await self.session.flush()
        return message

    async def message(self, message_id: int) -> DiscussionMessage | None:
        return await self.session.get(DiscussionMessage, message_id)

    async def messages(
        self, discussion_id: int, since: datetime | None = None, limit: int = 50
    ) -> Sequence[tuple[DiscussionMessage, Officer | None]]:
        """Stored messages with their authors, oldest first (the latest `limit`)."""
        stmt = (
            select(DiscussionMessage, Officer)
            .outerjoin(Officer, Officer.id == DiscussionMessage.officer_id)
            .where(DiscussionMessage.discussion_id == discussion_id)
        )
        if since is not None:
            stmt = stmt.where(DiscussionMessage.created_at > since)
        stmt = stmt.order_by(DiscussionMessage.created_at.desc(), DiscussionMessage.id.desc())
        rows = (await self.session.execute(stmt.limit(limit))).all()
        return [(m, o) for m, o in reversed(rows)]

    async def search(
        self, words: Sequence[str], programme_ids: set[int] | None, limit: int = 8
    ) -> Sequence[tuple[DiscussionMessage, Discussion]]:
        """Stored messages containing every word (case-insensitive), newest first."""
        stmt = select(DiscussionMessage, Discussion).join(
            Discussion, Discussion.id == DiscussionMessage.discussion_id
        )
        for word in words:
            pattern = f"%{word.lower()}%"
            stmt = stmt.where(
                or_(
                    func.lower(DiscussionMessage.text).like(pattern),
                    func.lower(Discussion.topic).like(pattern),
                )
            )
        if programme_ids is not None:
            stmt = stmt.where(
                or_(Discussion.programme_id.in_(programme_ids), Discussion.programme_id.is_(None))
            )
        stmt = stmt.order_by(DiscussionMessage.created_at.desc()).limit(limit)
        return [(m, d) for m, d in (await self.session.execute(stmt)).all()]

    async def follower(self, discussion_id: int, officer_id: int) -> DiscussionFollower | None:
        return await self.session.get(DiscussionFollower, (discussion_id, officer_id))

    async def follow(self, discussion_id: int, officer_id: int, now: datetime) -> bool:
        """Follow (True when new); the digest starts with replies after now.

        An insert that ignores a conflict: pressing Follow twice at once (two devices, a
        double tap) follows once instead of failing on the primary key."""
        values = {"discussion_id": discussion_id, "officer_id": officer_id, "digest_sent_at": now}
        stmt = self.insert_ignore(
            DiscussionFollower.__table__,  # type: ignore[arg-type]
            values,
            ["discussion_id", "officer_id"],
        )
        return bool((await self.session.execute(stmt)).rowcount)  # type: ignore[attr-defined]

    async def unfollow(self, discussion_id: int, officer_id: int) -> bool:
        found = await self.follower(discussion_id, officer_id)
        if found is None:
            return False
        await self.session.delete(found)
        await self.session.flush()
        return True

    async def followers_count(self, discussion_id: int) -> int:
        stmt = select(func.count()).where(DiscussionFollower.discussion_id == discussion_id)
        return int((await self.session.execute(stmt)).scalar_one())

    async def digest_due(self, before: datetime) -> Sequence[DiscussionFollower]:
        """Follows whose last digest is older than `before`."""
        stmt = select(DiscussionFollower).where(
            or_(
                DiscussionFollower.digest_sent_at.is_(None),
                DiscussionFollower.digest_sent_at <= before,
            )
        )
        return (await self.session.execute(stmt)).scalars().all()
