"""Idempotent ingress: remember which platform updates were handled."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete

from storage.models import ProcessedUpdate, utcnow
from storage.repositories.base import Repository


class IngressRepo(Repository):
    """The processed-update log."""

    async def first_time(self, platform: str, update_id: str) -> bool:
        """Record the update; False when it was already recorded (a retry or duplicate)."""
        stmt = self.insert_ignore(
            ProcessedUpdate.__table__,  # type: ignore[arg-type]
            {"platform": platform, "update_id": update_id, "created_at": utcnow()},
            ["platform", "update_id"],
        )
        result = await self.session.execute(stmt)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def prune(self, older_than: timedelta, now: datetime | None = None) -> int:
        """Forget updates older than the platforms' redelivery windows."""
        cutoff = (now or utcnow()) - older_than
        result = await self.session.execute(
            delete(ProcessedUpdate).where(ProcessedUpdate.created_at < cutoff)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
