"""People, practices and platforms for the matching, introduction and check-in stories."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from bot.app import Runtime
from handlers.core.ports import Capabilities
from storage.models import (
    GoodPractice,
    Officer,
    OfficerStatus,
    Pair,
    PairStatus,
    Programme,
    Role,
    utcnow,
)
from storage.uow import UnitOfWork
from tests.support.fakes import FakeMessenger, Talk

FORUM = "-100777"


@dataclass
class SpaceMessenger(FakeMessenger):
    """A fake platform that opens shared spaces (the SpaceMaker port).

    `topics=True` behaves like Telegram (a forum topic in the parent chat), otherwise like
    Slack (a private channel with the members invited).
    """

    spaces: list[dict[str, Any]] = field(default_factory=list)
    fail: bool = False
    discussion_chat_id: str | None = None
    _space_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def create_space(
        self, title: str, member_user_ids: list[str], parent_chat_id: str | None = None
    ) -> tuple[str, str | None]:
        if self.fail:
            raise RuntimeError("the platform refused")
        n = next(self._space_ids)
        if self.capabilities.topics:
            chat, thread = parent_chat_id or FORUM, str(500 + n)
        else:
            chat, thread = f"CPAIR{n}", None
        self.spaces.append(
            {"title": title, "members": list(member_user_ids), "chat": chat, "thread": thread}
        )
        return chat, thread


def slack_like(runtime: Runtime) -> SpaceMessenger:
    fake = SpaceMessenger(
        platform="slack", capabilities=Capabilities(threads=True, create_channel=True)
    )
    runtime.messengers["slack"] = fake
    return fake


def telegram_like(runtime: Runtime, forum: bool = True) -> SpaceMessenger:
    fake = SpaceMessenger(
        platform="telegram",
        capabilities=Capabilities(threads=True, topics=forum),
        discussion_chat_id=FORUM if forum else None,
    )
    runtime.messengers["telegram"] = fake
    return fake


async def programme(
    runtime: Runtime, slug: str = "prospect", checkin_days: int = 14, forum: str | None = FORUM
) -> Programme:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        found = await uow.programmes.by_slug(slug)
        if found is None:
            found = await uow.programmes.add(
                Programme(
                    slug=slug,
                    name="PROSPECT+ peer learning",
                    languages=["en", "fr"],
                    checkin_days=checkin_days,
                    telegram_chat_id=int(forum) if forum else None,
                )
            )
            await uow.commit()
        return found


async def officer(
    runtime: Runtime,
    name: str,
    *,
    authority: str,
    country: str,
    platform: str = "fake",
    user_id: str | None = None,
    role: Role = Role.OFFICER,
    languages: tuple[str, ...] = ("en",),
    sectors: tuple[str, ...] = (),
    wants: tuple[str, ...] = (),
    offers: tuple[str, ...] = (),
    timezone: str = "Europe/Brussels",
    population: int | None = None,
    programme_slug: str = "prospect",
    capacity: int = 2,
    dm: str | None = None,
) -> Officer:
    """An active, consenting officer with a reachable identity on one platform."""
    user_id = user_id or name.split()[0].lower()
    home = await programme(runtime, programme_slug)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        auth = await uow.authorities.get_or_create(authority, country, population=population)
        person = await uow.officers.add(
            Officer(
                name=name,
                email=f"{user_id}@{authority.lower().replace(' ', '-')}.example",
                authority_id=auth.id,
                programme_id=home.id,
                role=role,
                languages=list(languages),
                timezone=timezone,
                sectors=list(sectors),
                wants=list(wants),
                offers=list(offers),
                mentor_capacity=capacity,
                consent_at=utcnow(),
                consent_source="test",
                status=OfficerStatus.ACTIVE,
                locale="en",
            )
        )
        identity = await uow.identities.get_or_create(platform, user_id, dm_chat_id=dm or user_id)
        identity.officer_id = person.id
        await uow.commit()
        return person


async def coordinator(
    runtime: Runtime, name: str = "Anna Coordinator", user_id: str = "anna"
) -> Officer:
    return await officer(
        runtime,
        name,
        authority="Energy Cities",
        country="FR",
        user_id=user_id,
        role=Role.COORDINATOR,
        languages=("en", "fr"),
    )


async def practice(
    runtime: Runtime,
    owner: Officer,
    title: str,
    *,
    sector: str,
    instruments: tuple[str, ...],
    year: int | None = None,
    summary: str = "",
    status: str = "approved",
) -> GoodPractice:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        row = GoodPractice(
            authority_id=owner.authority_id,
            officer_id=owner.id,
            sector=sector,
            instruments=list(instruments),
            title=title,
            summary=summary,
            year=year,
            status=status,
        )
        uow.session.add(row)
        await uow.commit()
        return row


async def pair_row(runtime: Runtime, pair_id: int) -> Pair:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        found = await uow.session.get(Pair, pair_id)
        assert found is not None
        return found


async def make_pair(
    runtime: Runtime,
    learner: Officer,
    mentor: Officer,
    topic: str = "epc",
    status: PairStatus = PairStatus.APPROVED,
    reasons: tuple[str, ...] = ("Ghent ran 'EPC for 40,000 street lights' (2019)", "speaks en"),
) -> Pair:
    home = await programme(runtime)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        row = Pair(
            programme_id=home.id,
            learner_id=learner.id,
            mentor_id=mentor.id,
            topic=topic,
            score=5.0,
            reasons=list(reasons),
            status=status,
        )
        uow.session.add(row)
        await uow.commit()
        return row


def talk(
    runtime: Runtime, messenger: FakeMessenger, user_id: str, name: str = "", **kw: Any
) -> Talk:
    return Talk(
        runtime.core,
        messenger,
        user_id=user_id,
        name=name or user_id,
        platform=messenger.platform,
        **kw,
    )


def texts(messenger: FakeMessenger, chat: str) -> list[str]:
    return [s.reply.text for s in messenger.to(chat)]
