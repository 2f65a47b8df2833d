"""Both officers of a pair press Accept at the same moment, in two processes (PostgreSQL).

Each press runs in its own runtime (its own engine, pool and sessions), as two bot processes
behind a load balancer would. Without a lock each transaction read the partner's acceptance
from its own snapshot, both committed "accepted" and the pair stuck at "introduced".
"""

from __future__ import annotations

import asyncio

import pytest

from bot.app import Runtime, build
from bot.config import Settings
from handlers.core.clock import FrozenClock
from storage.models import PairStatus
from tests.conftest import PG_URL
from tests.support.fakes import FakeMessenger, Talk
from tests.support.peers import make_pair, officer, pair_row, programme

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="a race needs PostgreSQL (TEST_DATABASE_URL)"),
]

PAIRS = 50
ACTIVE = "is active!"


async def test_both_officers_accept_at_once_and_every_pair_becomes_active(
    runtime: Runtime, messenger: FakeMessenger, settings: Settings, clock: FrozenClock
) -> None:
    await programme(runtime)
    pairs = []
    for n in range(PAIRS):
        learner = await officer(
            runtime, f"Learner {n}", user_id=f"l{n}", authority=f"City {n}", country="FR"
        )
        mentor = await officer(
            runtime, f"Mentor {n}", user_id=f"m{n}", authority=f"Town {n}", country="BE"
        )
        pairs.append(await make_pair(runtime, learner, mentor))
    for _ in range(PAIRS // 20 + 1):
        await runtime.tick()  # introductions go out 20 at a time
    second = await build(settings, clock=clock)  # a second bot process on the same database
    try:
        for n, pair in enumerate(pairs):
            assert (await pair_row(runtime, pair.id)).status == PairStatus.INTRODUCED
            one = Talk(runtime.core, messenger, user_id=f"l{n}", name=f"Learner {n}")
            two = Talk(second.core, messenger, user_id=f"m{n}", name=f"Mentor {n}")
            await asyncio.gather(one.press("Accept"), two.press("Accept"))
    finally:
        await second.close()
    await runtime.tick()  # the partner's notice leaves through the outbox
    stuck = [p.id for p in pairs if (await pair_row(runtime, p.id)).status != PairStatus.ACTIVE]
    assert stuck == []
    for n in range(PAIRS):
        for chat in (f"l{n}", f"m{n}"):
            told = [t for t in (s.reply.text for s in messenger.to(chat)) if ACTIVE in t]
            assert len(told) == 1, (chat, messenger.transcript(chat))
