"""The hot path of an answered question: how many SQL statements it costs (pinned, so it
cannot silently grow back), and the process caches that keep it short without going stale."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, update

from bot.app import Runtime
from handlers.core.events import Incoming
from handlers.delivery.inbox import Door, InboxWorker
from handlers.practices import flow as practices_flow
from handlers.practices.flow import practices_citation
from storage.db import make_engine
from storage.models import GoodPractice, Identity, Officer
from storage.uow import UnitOfWork
from tests.support.fakes import FakeMessenger
from tests.support.peers import officer, practice

HANDLED_STATEMENTS = 4
"""One answered FAQ question, from claim to reply, once the citation is cached: the caller
(identity, officer, authority, programme, open flow, coordinator flag, accounts and questions
count in one SELECT), the FAQ log INSERT, the reply's outbox INSERT and the inbox row's UPDATE.
"""
WHOLE_STATEMENTS = 10
"""The same question from the webhook to the drained inbox: the inbox INSERT, the claim (a
SELECT and an UPDATE, shared by a batch of rows under load), the 4 above, the outbox row
marked sent after the commit, and the worker's last look for more work (a SELECT and a count)."""


@contextmanager
def statements(runtime: Runtime) -> Iterator[list[str]]:
    """The SQL statements sent to the database inside the block."""
    seen: list[str] = []

    def count(conn: Any, cursor: Any, sql: str, *rest: Any) -> None:
        seen.append(" ".join(sql.split()))

    engine = runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def question(user: str, n: int) -> Incoming:
    return Incoming("fake", user, user, text="what is ELENA?", update_id=f"{user}:{n}", locale="en")


async def test_an_answered_faq_question_costs_a_fixed_number_of_statements(
    runtime: Runtime,
) -> None:
    for name in ("Marie Dubois", "Pieter Janssens"):
        await officer(runtime, name, authority="Ghent", country="BE", wants=("epc",))
    async with UnitOfWork(runtime.sessionmaker) as uow:  # returning officers, seen just now
        await uow.session.execute(
            update(Identity).values(locale="en", last_seen_at=runtime.core.clock.now())
        )
        await uow.commit()
    messenger = FakeMessenger()
    worker = InboxWorker(runtime.core, {"fake": Door(messenger)})
    process = runtime.core.process
    handled: list[list[str]] = []

    async def traced(*args: Any, **kwargs: Any) -> Any:
        with statements(runtime) as seen:
            outcome = await process(*args, **kwargs)
        handled.append(seen)
        return outcome

    runtime.core.process = traced  # type: ignore[method-assign]
    try:
        await runtime.core.accept(question("marie", 1))  # warms the citation cache
        await worker.drain(within=30)
        with statements(runtime) as whole:
            await runtime.core.accept(question("pieter", 1))
            await worker.drain(within=30)
    finally:
        await worker.stop()
    assert len(messenger.sent) == 2
    assert all("European Local Energy Assistance" in m.reply.text for m in messenger.sent)
    second = handled[-1]
    kinds = Counter(sql.split(None, 1)[0].upper() for sql in second)
    listing = "\n".join(second)
    assert len(second) <= HANDLED_STATEMENTS, listing
    assert len(whole) <= WHOLE_STATEMENTS, "\n".join(whole)
    assert kinds["SELECT"] <= 1, listing
    assert not any(sql.startswith("SELECT authority") for sql in second), listing
    assert not any("FROM identity WHERE identity.officer_id IN" in sql for sql in second), listing


async def test_an_officer_with_two_accounts_still_has_both_on_the_hot_path(
    runtime: Runtime,
) -> None:
    person = await officer(runtime, "Marie Dubois", authority="Ghent", country="BE")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        other = await uow.identities.get_or_create("telegram", "777", dm_chat_id="777")
        other.officer_id = person.id
        await uow.commit()
    async with UnitOfWork(runtime.sessionmaker) as uow:
        one = await uow.identities.caller("fake", "marie")
        alone = await uow.identities.caller("fake", "nobody")
        assert one is not None and one.officer is not None and alone is None
        assert sorted(i.platform for i in one.officer.identities) == ["fake", "telegram"]
        assert one.officer.authority is not None and one.officer.authority.name == "Ghent"
        assert one.identity in one.officer.identities


async def test_a_practice_changed_here_is_cited_at_once_and_one_changed_elsewhere_soon(
    runtime: Runtime, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    pieter = await officer(runtime, "Pieter Janssens", authority="Ghent", country="BE")
    content = runtime.content.current

    async def cited() -> str | None:
        async with UnitOfWork(runtime.sessionmaker) as uow:
            return await practices_citation(uow, ["epc"], "en", content)

    assert await cited() is None
    row = await practice(
        runtime, pieter, "EPC for street lights", sector="public_lighting", instruments=("epc",)
    )
    assert "EPC for street lights" in (await cited() or "")  # an ORM write in this process

    async with UnitOfWork(runtime.sessionmaker) as uow:  # a bulk UPDATE in this process
        await uow.session.execute(
            update(GoodPractice).where(GoodPractice.id == row.id).values(title="EPC, renamed")
        )
        await uow.commit()
    assert "EPC, renamed" in (await cited() or "")

    elsewhere = make_engine(settings.database_url)  # another process: no event reaches us
    try:
        async with elsewhere.begin() as conn:
            await conn.execute(
                update(GoodPractice.__table__)  # type: ignore[arg-type]
                .where(GoodPractice.__table__.c.id == row.id)
                .values(status="rejected")
            )
    finally:
        await elsewhere.dispose()
    assert "EPC, renamed" in (await cited() or "")  # cached for a few seconds
    later = practices_flow.citation_clock() + practices_flow.CITATION_TTL + 1
    monkeypatch.setattr(practices_flow, "citation_clock", lambda: later)
    assert await cited() is None


async def test_an_authority_renamed_here_shows_in_the_next_citation(runtime: Runtime) -> None:
    pieter = await officer(runtime, "Pieter Janssens", authority="Ghent", country="BE")
    await practice(runtime, pieter, "EPC", sector="public_lighting", instruments=("epc",))
    content = runtime.content.current
    async with UnitOfWork(runtime.sessionmaker) as uow:
        assert "Ghent" in (await practices_citation(uow, ["epc"], "en", content) or "")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        person = await uow.session.get(Officer, pieter.id)
        assert person is not None and person.authority is not None
        person.authority.name = "Gent"
        await uow.commit()
    async with UnitOfWork(runtime.sessionmaker) as uow:
        assert "Gent —" in (await practices_citation(uow, ["epc"], "en", content) or "")


async def test_a_returning_officer_is_marked_seen_by_one_update_and_not_again_within_a_minute(
    runtime: Runtime, clock: Any
) -> None:
    await officer(runtime, "Marie Dubois", authority="Ghent", country="BE")
    async with UnitOfWork(runtime.sessionmaker) as uow:  # seen an hour ago, no chat language yet
        await uow.session.execute(
            update(Identity).values(locale=None, last_seen_at=clock.now() - timedelta(hours=1))
        )
        await uow.commit()
    messenger = FakeMessenger()
    with statements(runtime) as first:
        await runtime.core.handle(question("marie", 1), messenger)
    clock.advance(seconds=30)
    with statements(runtime) as second:
        await runtime.core.handle(question("marie", 2), messenger)
    assert len(messenger.sent) == 2
    writes = [sql for sql in first if sql.startswith("UPDATE identity")]
    assert len(writes) == 1, "\n".join(first)
    assert "last_seen_at" in writes[0] and "locale" in writes[0]
    assert not any(sql.startswith("UPDATE identity") for sql in second), "\n".join(second)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        stored = await uow.identities.find("fake", "marie")
        assert stored is not None and stored.locale == "en"
        assert stored.last_seen_at is not None
        assert stored.last_seen_at.replace(tzinfo=None) == (
            clock.now() - timedelta(seconds=30)
        ).replace(tzinfo=None)
