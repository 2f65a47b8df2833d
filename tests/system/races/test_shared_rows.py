"""Two people (or two processes) act on one shared row at the same moment (PostgreSQL).

Each test runs the two actions with separate units of work, usually in two runtimes (two bot
processes on one database), `ROUNDS` times so that the interleaving that loses an update is
met. SQLite takes one writer at a time, so these races only exist on PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.app import Runtime, build
from bot.config import Settings
from handlers.core.clock import FrozenClock
from handlers.pairing.flow import propose
from handlers.practices.flow import review
from storage.models import (
    Announcement,
    CheckIn,
    Discussion,
    GoodPractice,
    Identity,
    Invite,
    MatchRequest,
    Officer,
    Pair,
    PairStatus,
)
from storage.uow import UnitOfWork
from tests.conftest import PG_URL
from tests.support.fakes import FakeMessenger, Talk
from tests.support.peers import coordinator, officer, programme
from tests.unit.features.test_checkins import active_pair
from tests.unit.features.test_discussions import FORUM, People, in_thread, open_one, people  # noqa: F401
from tests.unit.features.test_onboarding import onboard

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="a race needs PostgreSQL (TEST_DATABASE_URL)"),
]

ROUNDS = 20


@pytest.fixture
async def second(settings: Settings, clock: FrozenClock) -> AsyncIterator[Runtime]:
    """A second bot process on the same database."""
    rt = await build(settings, clock=clock)
    yield rt
    await rt.close()


async def test_a_join_code_sent_by_two_strangers_at_once_is_used_once(
    runtime: Runtime, second: Runtime, messenger: FakeMessenger
) -> None:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        ghent = await uow.authorities.get_or_create("Ghent", "BE")
        for n in range(ROUNDS):
            uow.session.add(Invite(code=f"GHENT-{n}", purpose="join", authority_id=ghent.id))
        await uow.commit()
    for n in range(ROUNDS):
        one = Talk(runtime.core, messenger, user_id=f"a{n}", name="Jan")
        two = Talk(second.core, messenger, user_id=f"b{n}", name="Eve")
        replies = await asyncio.gather(one.say(f"/start GHENT-{n}"), two.say(f"/start GHENT-{n}"))
        invited = [r for r in replies if "invited on behalf of Ghent" in r]
        refused = [r for r in replies if "unknown or has expired" in r]
        assert (len(invited), len(refused)) == (1, 1), replies


async def test_a_link_code_sent_from_two_accounts_at_once_links_one(
    runtime: Runtime, second: Runtime, talk: Talk, messenger: FakeMessenger
) -> None:
    await onboard(talk)
    for n in range(ROUNDS):
        reply = await talk.say("/link")
        code = reply.split("link code is ", 1)[1].split(".", 1)[0]
        one = Talk(runtime.core, messenger, user_id=f"T-{n}a", platform="telegram")
        two = Talk(second.core, messenger, user_id=f"T-{n}b", platform="telegram")
        replies = await asyncio.gather(one.say(f"/link {code}"), two.say(f"/link {code}"))
        assert sum("Linked" in r for r in replies) == 1, replies
    async with UnitOfWork(runtime.sessionmaker) as uow:
        linked = (
            await uow.session.execute(select(Identity).where(Identity.platform == "telegram"))
        ).scalars()
        assert len([i for i in linked if i.officer_id is not None]) == ROUNDS


async def test_two_coordinators_approving_a_practice_at_once_review_it_once(
    runtime: Runtime, second: Runtime
) -> None:
    anna = await coordinator(runtime)
    bob = await coordinator(runtime, "Bob Coordinator", "bob")
    author = await officer(runtime, "Pieter Janssens", authority="Ghent", country="BE")
    content = runtime.core.content.for_programme(None)

    async def approve(rt: Runtime, practice_id: int, who: Officer) -> bool:
        async with UnitOfWork(rt.sessionmaker) as uow:
            done = await review(
                uow,
                content,
                rt.core.secret,
                practice_id,
                True,
                who,
                rt.clock.now(),
            )
            await uow.commit()
            return done.changed

    for n in range(ROUNDS):
        async with UnitOfWork(runtime.sessionmaker) as uow:
            row = GoodPractice(
                officer_id=author.id, sector="public_lighting", instruments=["epc"],
                title=f"Practice {n}", status="pending",
            )  # fmt: skip
            uow.session.add(row)
            await uow.commit()
        changed = await asyncio.gather(approve(runtime, row.id, anna), approve(second, row.id, bob))
        assert sorted(changed) == [False, True]


async def test_two_options_ticked_at_once_are_both_kept(runtime: Runtime, second: Runtime) -> None:
    await programme(runtime)
    marie = await officer(runtime, "Marie Dubois", authority="Lyon", country="FR")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        ann = Announcement(
            text="Which instruments interest you?",
            poll={"question": "Which?", "kind": "multi", "options": ["EPC", "Bonds"]},
        )
        uow.session.add(ann)
        await uow.session.flush()
        await uow.announcements.answer_or_new(ann.id, marie.id, runtime.clock.now())
        await uow.commit()  # she has answered before: both presses find her row

    async def tick(rt: Runtime, option: int) -> None:
        async with UnitOfWork(rt.sessionmaker) as uow:
            answer = await uow.announcements.answer_or_new(ann.id, marie.id, rt.clock.now())
            await asyncio.sleep(0.05)  # both presses are in flight together
            answer.choices = sorted([*answer.choices, option])
            await uow.commit()

    await asyncio.gather(tick(runtime, 0), tick(second, 1))
    async with UnitOfWork(runtime.sessionmaker) as uow:
        kept = await uow.announcements.answer(ann.id, marie.id)
    assert kept is not None and kept.choices == [0, 1]


async def test_follow_pressed_twice_at_once_follows_once(runtime: Runtime, second: Runtime) -> None:
    marie = await officer(runtime, "Marie Dubois", authority="Lyon", country="FR")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        found = await uow.discussions.add(Discussion(topic="Street lights", creator_id=marie.id))
        await uow.commit()

    async def follow(rt: Runtime) -> bool:
        async with UnitOfWork(rt.sessionmaker) as uow:
            new = await uow.discussions.follow(found.id, marie.id, rt.clock.now())
            await asyncio.sleep(0.05)
            await uow.commit()
            return new

    assert sorted(await asyncio.gather(follow(runtime), follow(second))) == [False, True]


async def test_two_matching_rounds_at_once_respect_the_mentor_capacity(
    runtime: Runtime, second: Runtime
) -> None:
    home = await programme(runtime)
    await officer(
        runtime, "Pieter Janssens", authority="Ghent", country="BE", offers=("epc",), capacity=1
    )
    for i in range(3):
        await officer(runtime, f"Learner {i}", authority=f"City {i}", country="FR", wants=("epc",))

    async def round_(rt: Runtime) -> None:
        async with UnitOfWork(rt.sessionmaker) as uow:
            await propose(uow, home.id, rt.clock.now())
            await uow.commit()

    await asyncio.gather(round_(runtime), round_(second))
    async with UnitOfWork(runtime.sessionmaker) as uow:
        proposed = (
            (await uow.session.execute(select(Pair).where(Pair.status == PairStatus.PROPOSED)))
            .scalars()
            .all()
        )
    assert len(proposed) == 1


async def test_replies_written_at_once_are_all_counted(
    runtime: Runtime,
    second: Runtime,
    people: People,  # noqa: F811 - the imported fixture
) -> None:
    root = await open_one(runtime, people)
    [topic_id] = people.telegram.topics
    writes = []
    for n in range(ROUNDS):
        rt = runtime if n % 2 else second
        writer = in_thread(rt, people.telegram, "1001", FORUM)
        writes.append(writer.handle(text=f"Reply {n}", thread_id=topic_id, message_id=f"6{n:02}"))
    assert set(await asyncio.gather(*writes)) == {"handled"}
    async with UnitOfWork(runtime.sessionmaker) as uow:
        discussion = (await uow.session.execute(select(Discussion))).scalar_one()
    assert discussion.reply_count == ROUNDS
    assert root


async def test_both_officers_answering_a_check_in_at_once_are_both_kept(
    runtime: Runtime, second: Runtime, messenger: FakeMessenger, clock: FrozenClock
) -> None:
    due = datetime(2026, 12, 8, 10, tzinfo=UTC)  # a Tuesday, 11:00 in Brussels
    pairs = []
    for n in range(ROUNDS // 2):
        learner = await officer(
            runtime, f"Learner {n}", user_id=f"l{n}", authority=f"City {n}", country="FR"
        )
        mentor = await officer(
            runtime, f"Mentor {n}", user_id=f"m{n}", authority=f"Town {n}", country="BE"
        )
        pairs.append((await active_pair(runtime, learner, mentor, due), learner, mentor))
    clock.set(due)
    await runtime.tick()
    for n, (_pair, learner, mentor) in enumerate(pairs):
        one = Talk(runtime.core, messenger, user_id=f"l{n}", name=learner.name)
        two = Talk(second.core, messenger, user_id=f"m{n}", name=mentor.name)
        await asyncio.gather(one.press("Meeting planned"), two.press("We met"))
    async with UnitOfWork(runtime.sessionmaker) as uow:
        rows = (await uow.session.execute(select(CheckIn))).scalars().all()
    assert len(rows) == len(pairs)
    for row in rows:
        pair, learner, mentor = next(p for p in pairs if p[0].id == row.pair_id)
        kept = {k: v["answer"] for k, v in (row.answers or {}).items()}
        assert kept == {str(learner.id): "planned", str(mentor.id): "met"}, row.pair_id


async def test_the_same_request_for_a_peer_sent_twice_at_once_is_queued_once(
    runtime: Runtime, second: Runtime
) -> None:
    marie = await officer(runtime, "Marie Dubois", authority="Lyon", country="FR")

    async def ask(rt: Runtime) -> bool:
        async with UnitOfWork(rt.sessionmaker) as uow:
            added = await uow.matches.request(marie.id, "epc", rt.clock.now())
            await asyncio.sleep(0.05)
            await uow.commit()
            return added

    for _ in range(ROUNDS // 4):
        assert sorted(await asyncio.gather(ask(runtime), ask(second))) in (
            [False, True],
            [False, False],
        )
    async with UnitOfWork(runtime.sessionmaker) as uow:
        rows = (await uow.session.execute(select(MatchRequest))).scalars().all()
    assert len(rows) == 1
