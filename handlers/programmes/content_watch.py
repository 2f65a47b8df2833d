"""Reload curated content when its files change; a broken file keeps the last good content."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from handlers.core.jobs import JobCtx, job
from handlers.core.ports import Messenger
from handlers.delivery.outbox import queue_to_officer

log = logging.getLogger(__name__)
_seen: dict[int, float] = {}


def stamp(root: Path) -> float:
    """The newest modification time of any content file."""
    times = [p.stat().st_mtime for p in root.rglob("*.yaml")]
    return max(times, default=0.0)


@job("content_watch")
async def reload_changed_content(core: JobCtx, messengers: dict[str, Messenger]) -> int:
    """Reload content/ when a file changed; tell the coordinators about any problem."""
    root = core.content.root
    now = stamp(root)
    previous = _seen.setdefault(id(core), now)
    if now <= previous:
        return 0
    _seen[id(core)] = now
    problems = core.content.reload()
    if not problems:
        log.info("content reloaded from %s", root)
        return 1
    digest = hashlib.sha256("\n".join(problems).encode()).hexdigest()[:16]
    async with core.uow() as uow:
        for coordinator in await uow.officers.coordinators():
            await queue_to_officer(
                uow,
                core.content.current,
                core.secret,
                coordinator,
                "content.problems",
                idempotency_key=f"content:{digest}:{coordinator.id}",
                values={"count": len(problems), "problems": "\n".join(problems[:10])},
                purpose="content",
            )
        await uow.commit()
    return 1
