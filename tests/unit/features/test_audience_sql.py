"""The audience compiled into SQL picks the same officers, accounts and reasons as the Python
filter it replaced, on a generated roster with every kind of filter (run on SQLite and, with
TEST_DATABASE_URL, on PostgreSQL); and the expansion writes each officer the text `render`
gives them."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import Runtime
from handlers.announcements import audience as aud
from handlers.announcements import flow
from handlers.announcements.audience import Audience
from handlers.announcements.reach import why_not
from handlers.delivery.outbox import preferred_identity
from storage.models import (
    Announcement,
    AnnouncementStatus,
    Authority,
    Identity,
    Membership,
    Officer,
    OfficerStatus,
    Outbox,
    OutboxStatus,
    Pair,
    PairStatus,
    Programme,
    Role,
)
from storage.uow import UnitOfWork

SECTORS = ("public_buildings", "private_buildings", "mobility", "public_lighting", "cross_sector")
LANGS = ("en", "fr", "de", "es", "it", "nl")
LOCALES = (None, None, "fr", "de", "es", "it", "en", "fr-BE", "pt")
PLATFORMS = ("telegram", "slack", "console")
OPEN = (PairStatus.APPROVED, PairStatus.INTRODUCED, PairStatus.ACTIVE)
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


async def roster(rt: Runtime, n: int = 160, seed: int = 14) -> list[int]:
    """Programmes, authorities, officers with 0-3 accounts (some without a chat, some never
    seen, ties in last seen), memberships, pairs of every status and past deliveries, some
    refused; the programme ids."""
    rnd = random.Random(seed)
    async with UnitOfWork(rt.sessionmaker) as uow:
        progs = [Programme(slug=s, name=s.title()) for s in ("alpha", "beta", "gamma")]
        uow.session.add_all(progs)
        towns = [
            Authority(name=f"Town {i}", country=c)
            for i, c in enumerate(("BE", "FR", "DE", "IT", "ES", "BE", "PL"))
        ]
        uow.session.add_all(towns)
        await uow.session.flush()
        officers = []
        for i in range(n):
            officer = Officer(
                name=f"Officer {i}",
                email=f"o{i}@example.eu",
                authority_id=rnd.choice([None, *(t.id for t in towns)]),
                programme_id=rnd.choice([None, *(p.id for p in progs), progs[0].id]),
                role=rnd.choice([Role.OFFICER] * 4 + [Role.COORDINATOR]),
                languages=rnd.sample(LANGS, rnd.randint(0, 3)),
                locale=rnd.choice(LOCALES),
                timezone=rnd.choice(["Europe/Paris", "Europe/Rome", "Europe/Lisbon"]),
                sectors=rnd.sample(SECTORS, rnd.randint(0, 3)),
                consent_at=None if rnd.random() < 0.1 else T0,
                status=rnd.choice([OfficerStatus.ACTIVE] * 6 + list(OfficerStatus)),
            )
            officers.append(officer)
        uow.session.add_all(officers)
        await uow.session.flush()
        for officer in officers:
            for k in range(rnd.choice([0, 1, 1, 2, 2, 3])):
                platform = rnd.choice(PLATFORMS)
                seen = rnd.choice([None, T0, T0 + timedelta(days=rnd.randint(0, 3))])
                uow.session.add(
                    Identity(
                        platform=platform,
                        user_id=f"{officer.id}-{k}-{platform}",
                        dm_chat_id=rnd.choice([None, "", f"c{officer.id}{k}", f"d{officer.id}{k}"]),
                        locale=rnd.choice([None, "en", "de", "it-IT", "fr"]),
                        officer_id=officer.id,
                        last_seen_at=seen,
                    )
                )
            for prog in rnd.sample(progs, rnd.randint(0, 2)):
                if prog.id != officer.programme_id:
                    uow.session.add(Membership(officer_id=officer.id, programme_id=prog.id))
        for _ in range(n // 2):
            learner, mentor = rnd.sample(officers, 2)
            uow.session.add(
                Pair(
                    learner_id=learner.id,
                    mentor_id=mentor.id,
                    topic="epc",
                    status=rnd.choice(list(PairStatus)),
                )
            )
        # a pair whose learner was forgotten (SET NULL) must not empty `pair=none`
        uow.session.add(
            Pair(learner_id=None, mentor_id=officers[0].id, topic="epc", status=PairStatus.ACTIVE)
        )
        for i, officer in enumerate(rnd.sample(officers, n // 3)):
            for j, status in enumerate(
                rnd.sample(
                    [OutboxStatus.SENT, OutboxStatus.UNDELIVERABLE, OutboxStatus.PENDING],
                    rnd.randint(1, 3),
                )
            ):
                uow.session.add(
                    Outbox(
                        idempotency_key=f"past:{i}:{j}",
                        platform="telegram",
                        chat_id="x",
                        officer_id=officer.id,
                        status=status,
                        error="Forbidden: bot was blocked by the user",
                    )
                )
        await uow.commit()
        return [p.id for p in progs]


AUDIENCES = [
    Audience(),
    Audience(countries=("BE",)),
    Audience(countries=("FR", "IT")),
    Audience(sectors=("public_lighting",)),
    Audience(sectors=("mobility", "cross_sector")),
    Audience(languages=("fr",)),
    Audience(languages=("de", "it")),
    Audience(languages=("pt",)),
    Audience(platforms=("telegram",)),
    Audience(platforms=("slack",)),
    Audience(platforms=("console",)),
    Audience(platforms=("telegram", "slack")),
    Audience(programmes=("alpha",)),
    Audience(programmes=("beta", "gamma")),
    Audience(programmes=("nowhere",)),
    Audience(pairs=("none",)),
    Audience(pairs=("any",)),
    Audience(pairs=("proposed", "closed")),
    Audience(pairs=("none", "declined")),
    Audience(roles=("coordinator",)),
    Audience(roles=("officer",)),
    Audience(countries=("BE", "DE"), sectors=("public_buildings",), languages=("fr", "en")),
    Audience(platforms=("slack",), pairs=("any",), roles=("officer",), programmes=("alpha",)),
]


def python_filter(
    officers: Sequence[Officer],
    members: dict[int, set[int]],
    pairs: Sequence[Pair],
    audience: Audience,
    scope: Sequence[int] | None,
    named: set[int],
) -> list[tuple[Officer, Identity | None]]:
    """The audience as the Python filter chose it before it moved into SQL."""

    def in_pairs(statuses: Sequence[PairStatus]) -> set[int]:
        return {
            i
            for p in pairs
            if p.status in statuses
            for i in (p.learner_id, p.mentor_id)
            if i is not None
        }

    def pair_ok(officer: Officer) -> bool:
        words = audience.pairs
        statuses = [PairStatus(w) for w in words if w not in ("none", "any")]
        return (
            (bool(statuses) and officer.id in in_pairs(statuses))
            or ("any" in words and officer.id in in_pairs(OPEN))
            or ("none" in words and officer.id not in in_pairs(OPEN))
        )

    chosen = []
    for officer in sorted(officers, key=lambda o: o.id):
        progs = {officer.programme_id} | members.get(officer.id, set())
        if officer.status != OfficerStatus.ACTIVE or officer.consent_at is None:
            continue
        if scope is not None and not progs & set(scope):
            continue
        if audience.programmes and not progs & named:
            continue
        country = officer.authority.country if officer.authority else None
        if audience.countries and country not in audience.countries:
            continue
        if audience.roles and officer.role.value not in audience.roles:
            continue
        if audience.pairs and not pair_ok(officer):
            continue
        # from here on, the loop of the former `select_chunk`, verbatim
        if audience.sectors and not set(audience.sectors) & set(map(str, officer.sectors)):
            continue
        if audience.languages:
            spoken = {str(c) for c in officer.languages} | {officer.locale or ""}
            if not set(audience.languages) & spoken:
                continue
        identity = _identity(officer, audience.platforms)
        if (
            audience.platforms
            and identity is None
            and not any(i.platform in audience.platforms for i in officer.identities)
        ):
            continue
        chosen.append((officer, identity))
    return chosen


def _identity(officer: Officer, platforms: Sequence[str]) -> Identity | None:
    if not platforms:
        return preferred_identity(officer)
    options = [preferred_identity(officer, p) for p in platforms]
    reachable = [i for i in options if i is not None]
    if not reachable:
        return None
    return max(reachable, key=lambda i: (i.last_seen_at is not None, i.last_seen_at, i.id))


async def test_sql_audience_is_the_python_filter(runtime: Runtime) -> None:
    alpha, beta, gamma = await roster(runtime)
    scopes: list[list[int] | None] = [None, [alpha], [beta, gamma]]
    async with UnitOfWork(runtime.sessionmaker) as uow:
        from sqlalchemy import select  # the reference reads the tables as they are

        officers = (await uow.session.execute(select(Officer))).scalars().all()
        members: dict[int, set[int]] = {}
        for m in (await uow.session.execute(select(Membership))).scalars():
            members.setdefault(m.officer_id, set()).add(m.programme_id)
        pairs = (await uow.session.execute(select(Pair))).scalars().all()
        compared = 0
        for audience in AUDIENCES:
            named, _ = await aud.programme_ids(uow, audience)
            for scope in scopes:
                expected = python_filter(officers, members, pairs, audience, scope, named)
                why = await why_not(uow, expected)
                want = [
                    (o.id, i.id if i else None, why.get(o.id)) for o, i in expected
                ]  # fmt: skip
                got: list[tuple[int, int | None, str | None]] = []
                after = 0
                while True:  # small chunks: the keyset pagination is part of what is tested
                    last, chunk = await aud.select_chunk(uow, audience, scope, after, 7)
                    if last is None:
                        break
                    got += [(r.officer_id, r.identity_id, r.why) for r in chunk]
                    after = last
                assert got == want, (audience, scope)
                totals: dict[str, int] = {}
                for o, i in expected:
                    key = why.get(o.id) or (i.platform if i else "unreachable")
                    totals[key] = totals.get(key, 0) + 1
                assert await aud.count(uow, audience, scope) == totals
                reachable = sum(1 for o, _ in expected if o.id not in why)
                assert await aud.recipients(uow, audience, scope) == reachable
                _, missed = await aud.survey(uow, audience, scope)
                assert [(u.officer.id, u.why) for u in missed] == sorted(why.items())
                _, first = await aud.survey(uow, audience, scope, 3)
                assert [(u.officer.id, u.why) for u in first] == [
                    (i, w)
                    for i, w in sorted(why.items())
                    if sorted(k for k, v in why.items() if v == w).index(i) < 3
                ]
                compared += len(want)
        assert compared > 1000  # the roster gives every filter something to choose


@pytest.mark.parametrize("poll", [False, True])
async def test_expansion_writes_what_render_gives(runtime: Runtime, poll: bool) -> None:
    await roster(runtime, n=120, seed=7)
    content = runtime.content.current
    async with UnitOfWork(runtime.sessionmaker) as uow:
        ann = await uow.announcements.add(
            Announcement(
                text="Webinar on Thursday",
                lang="en",
                translations={"fr": "Webinaire jeudi", "de": "Webinar am Donnerstag"},
                audience={},
                poll={
                    "question": "Which instrument?",
                    "kind": "single",
                    "options": ["EPC", "Green bonds"],
                    "codes": ["epc", "green_bond"],
                    "translations": {"fr": "Quel instrument ?"},
                }
                if poll
                else None,
                closes_at=T0 + timedelta(days=40) if poll else None,
                status=AnnouncementStatus.SENDING,
                created_at=T0,
                send_at=T0,
            )
        )
        await uow.commit()
        ann_id = ann.id
    added = await flow.expand(runtime.core, ann_id)
    assert added > 30
    async with UnitOfWork(runtime.sessionmaker) as uow:
        from sqlalchemy import select

        stored = await uow.announcements.get(ann_id)
        assert stored is not None and stored.expanded_at is not None
        rows = (
            (await uow.session.execute(select(Outbox).where(Outbox.ref_id == ann_id)))
            .scalars()
            .all()
        )
        assert len(rows) == added == stored.recipients
        texts = set()
        for row in rows:
            officer = await uow.officers.get(row.officer_id or 0)
            assert officer is not None
            identity = preferred_identity(officer)
            assert identity is not None and identity.dm_chat_id == row.chat_id
            text, choices, multi = flow.render(stored, officer, identity, content)
            assert row.payload["text"] == text and row.platform == identity.platform
            assert [c["label"] for c in row.payload["choices"]] == [c.label for c in choices]
            texts.add(text)
        assert len(texts) >= 3  # several languages were written
