"""Pre-consent state stays small and short-lived.

Anyone on the workspace or on Telegram can write /start. Before they agree, the bot keeps
only what it needs to continue the conversation: the platform identity (account id, chat,
display name, language; the core needs it to answer and to check buttons) and the onboarding
step with no answers yet. Nobody agreed to more, so it is not kept for long nor without
limit: identities that never consented are deleted after `PRE_CONSENT_DAYS` without
activity, and at most `MAX_PRE_CONSENT` are kept (the least recently seen go first), so a
flood of strangers cannot grow the database or keep their traces. A stranger who comes back
later simply starts again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from handlers.core.jobs import JobCtx, job
from handlers.core.ports import Messenger

log = logging.getLogger(__name__)

PRE_CONSENT_DAYS = 7
MAX_PRE_CONSENT = 5000
EVERY = timedelta(hours=1)
_last_run: dict[int, datetime] = {}


@job("pre_consent")
async def prune_pre_consent(core: JobCtx, messengers: dict[str, Messenger]) -> int:
    """Hourly: forget people who wrote to the bot but never consented (old or too many)."""
    now = core.clock.now()
    last = _last_run.get(id(core))
    if last is not None and now - last < EVERY:
        return 0
    _last_run[id(core)] = now
    async with core.uow() as uow:
        pruned = await uow.pre_consent.prune(
            now - timedelta(days=PRE_CONSENT_DAYS), MAX_PRE_CONSENT
        )
        await uow.commit()
    if pruned:
        log.info("forgot %d identities that never consented", pruned)
    return pruned
