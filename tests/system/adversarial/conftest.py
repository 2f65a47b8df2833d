"""The adversarial suite's tally: every test adds what it injected and what it saw.

At the end of the session the tally is printed (visible with `-s`) and written as JSON to
`$PEERBOT_TALLY` when that is set, e.g.
`PEERBOT_TALLY=/tmp/tally.json python -m pytest -m adversarial -s tests/system/adversarial`.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, text

from storage.models import Base

KEYS = (
    "crashes injected",
    "duplicates seen",
    "messages lost",
    "fuzzed inputs",
    "exceptions",
    "forged requests sent",
    "forged requests accepted",
)


@pytest.fixture(scope="session")
def tally() -> Iterator[Counter[str]]:
    """A session-wide counter; printed and saved when the session ends."""
    counts: Counter[str] = Counter({k: 0 for k in KEYS})
    yield counts
    lines = [f"  {k}: {counts[k]}" for k in sorted(counts)]
    sys.stdout.write("\n== adversarial tally\n" + "\n".join(lines) + "\n")
    target = os.environ.get("PEERBOT_TALLY")
    if target:
        with open(target, "w", encoding="utf-8") as out:
            json.dump(dict(counts), out, indent=1, sort_keys=True)


# Written for any update that reaches the core: the de-duplication ledger, the contact record
# (platform user, display name, locale) and the per-process secret.
LEDGER = frozenset({"processed_update", "inbox", "identity", "key_value"})


async def table_counts(sessionmaker: Any, skip: frozenset[str] = LEDGER) -> dict[str, int]:
    """Row count of every table (but `skip`). The outbox counts what the bot queued on its own
    (announcements, relays, notes), not the replies it gave to the input itself (an "expired
    button" answer is a reply: it is recorded in the outbox since replies are sent after the
    commit)."""
    counts: dict[str, int] = {}
    async with sessionmaker() as session:
        for table in Base.metadata.sorted_tables:
            if table.name in skip:
                continue
            stmt = select(func.count()).select_from(table)
            if table.name == "outbox":
                stmt = stmt.where(table.c.purpose != "reply")
            counts[table.name] = int((await session.execute(stmt)).scalar_one())
    return counts


async def raw(sessionmaker: Any, sql: str, **params: Any) -> list[Any]:
    """Rows of a raw SQL query (for checks across tables)."""
    async with sessionmaker() as session:
        return list((await session.execute(text(sql), params)).all())
