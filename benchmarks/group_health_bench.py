"""The `group_health` job at scale: how long a tick takes to read every running group's
check-ins and tell coordinators about the stalled ones, and that a second tick tells nobody.

    python -m benchmarks.group_health_bench [--groups 200] [--members 5]

A throw-away SQLite database is migrated and filled with `--groups` introduced groups of
`--members` officers, each group silent for 30 days with one unanswered check-in (all stalled),
and one reachable coordinator. It prints the wall time of the first tick (every group escalated,
one note per group queued) and of the second (nothing queued: once per silence).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.app import build
from bot.config import Settings
from handlers.core.clock import FrozenClock
from handlers.groups.health import escalate_silent_groups
from storage.models import (
    Authority,
    GroupCheckIn,
    GroupMember,
    LearningCycle,
    Officer,
    OfficerStatus,
    PeerGroup,
    Programme,
    Role,
    utcnow,
)
from storage.versions import upgrade_if_behind

START = datetime(2026, 11, 1, 10, tzinfo=UTC)


async def run(groups: int, members: int) -> None:
    path = Path(tempfile.mkdtemp()) / "health.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade_if_behind(url)
    settings = Settings(database_url=url, PEERBOT_CONTENT_DIR=Path("content"))  # type: ignore[call-arg]
    rt = await build(settings, clock=FrozenClock(START + timedelta(days=30)))
    try:
        async with rt.core.uow() as uow:
            home = Programme(slug="bench", name="Bench")
            uow.session.add(home)
            await uow.session.flush()
            anna = Officer(
                name="Anna", email="anna@bench.eu", role=Role.COORDINATOR, programme_id=home.id,
                status=OfficerStatus.ACTIVE, consent_at=utcnow(),
            )  # fmt: skip
            uow.session.add(anna)
            await uow.session.flush()
            identity = await uow.identities.get_or_create("fake", "anna", dm_chat_id="anna")
            identity.officer_id = anna.id
            cycle = LearningCycle(
                programme_id=home.id, name="C", starts_on=START, ends_on=START + timedelta(days=200)
            )
            uow.session.add(cycle)
            await uow.session.flush()
            asked = START + timedelta(days=14)
            for g in range(groups):
                group = PeerGroup(
                    cycle_id=cycle.id, scheme="epc", status="introduced", introduced_at=START
                )
                uow.session.add(group)
                await uow.session.flush()
                for m in range(members):
                    place = Authority(name=f"A{g}-{m}", country="FR")
                    uow.session.add(place)
                    await uow.session.flush()
                    person = Officer(
                        name=f"O{g}-{m}", email=f"o{g}-{m}@bench.eu", authority_id=place.id,
                        programme_id=home.id, status=OfficerStatus.ACTIVE, consent_at=utcnow(),
                    )  # fmt: skip
                    uow.session.add(person)
                    await uow.session.flush()
                    uow.session.add(
                        GroupMember(
                            group_id=group.id, authority_id=place.id, officer_id=person.id,
                            role="learner",
                        )
                    )  # fmt: skip
                    uow.session.add(
                        GroupCheckIn(
                            group_id=group.id, officer_id=person.id, period=1, due_at=asked,
                            sent_at=asked,
                        )
                    )  # fmt: skip
            await uow.commit()
        for tick in ("first", "second"):
            started = time.perf_counter()
            told = await escalate_silent_groups(rt.core, {})
            print(
                f"group_health, {groups} groups x {members} members, {tick} tick: "
                f"{(time.perf_counter() - started) * 1000:.0f} ms, {told} coordinator note(s)"
            )
    finally:
        await rt.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--members", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(run(args.groups, args.members))


if __name__ == "__main__":
    main()
