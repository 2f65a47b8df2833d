"""Retention: forget what is no longer needed (sent message bodies, old update ids, stale flows)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, update

from handlers.core.engine import Core
from handlers.core.jobs import job
from handlers.core.ports import Messenger
from storage.models import Conversation, Outbox, OutboxStatus, ProcessedUpdate
from storage.uow import UnitOfWork

SENT_BODIES = timedelta(days=30)
UPDATE_IDS = timedelta(days=7)
STALE_FLOWS = timedelta(days=60)
EVERY = timedelta(hours=1)
_last_run: dict[int, datetime] = {}


@job("housekeeping")
async def prune_old_data(core: Core, messengers: dict[str, Messenger]) -> int:
    """Hourly: blank messages sent 30+ days ago, drop update ids after 7 days, stale flows,
    and handled inbox rows (with their text) after the configured retention."""
    now = core.clock.now()
    last = _last_run.get(id(core))
    if last is not None and now - last < EVERY:
        return 0
    _last_run[id(core)] = now
    async with UnitOfWork(core.sessionmaker) as uow:
        s = uow.session
        blanked = await s.execute(
            update(Outbox)
            .where(
                Outbox.status.in_([OutboxStatus.SENT, OutboxStatus.UNDELIVERABLE]),
                Outbox.created_at < now - SENT_BODIES,
                Outbox.chat_id != "",
            )
            .values(payload={}, chat_id="")
            .execution_options(synchronize_session=False)
        )
        dropped = await s.execute(
            delete(ProcessedUpdate).where(ProcessedUpdate.created_at < now - UPDATE_IDS)
        )
        stale = await s.execute(
            delete(Conversation).where(Conversation.updated_at < now - STALE_FLOWS)
        )
        handled = await uow.inbox.prune(core.inbox_retention, now)
        await uow.commit()
    return (
        int(blanked.rowcount or 0)  # type: ignore[attr-defined]
        + int(dropped.rowcount or 0)  # type: ignore[attr-defined]
        + int(stale.rowcount or 0)  # type: ignore[attr-defined]
        + handled
    )
