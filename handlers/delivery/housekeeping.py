"""Retention: forget what is no longer needed (sent message bodies, old update ids, stale flows)."""

from __future__ import annotations

from datetime import datetime, timedelta

from handlers.core.jobs import JobCtx, job
from handlers.core.ports import Messenger

SENT_BODIES = timedelta(days=30)
UPDATE_IDS = timedelta(days=7)
STALE_FLOWS = timedelta(days=60)
EVERY = timedelta(hours=1)
_last_run: dict[int, datetime] = {}


@job("housekeeping")
async def prune_old_data(core: JobCtx, messengers: dict[str, Messenger]) -> int:
    """Hourly: blank messages sent 30+ days ago, drop update ids after 7 days, stale flows,
    and handled inbox rows (with their text) after the configured retention."""
    now = core.clock.now()
    last = _last_run.get(id(core))
    if last is not None and now - last < EVERY:
        return 0
    _last_run[id(core)] = now
    async with core.uow() as uow:
        retention = uow.retention
        pruned = await retention.blank_sent_bodies(now - SENT_BODIES)
        pruned += await retention.drop_update_ids(now - UPDATE_IDS)
        pruned += await retention.drop_stale_flows(now - STALE_FLOWS)
        pruned += await uow.inbox.prune(core.inbox_retention, now)
        await uow.commit()
    return pruned
