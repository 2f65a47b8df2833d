"""People and platforms for the outreach stories: a programme, officers on Slack and Telegram,
a coordinator, and fake messengers that can open forum topics."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

from bot.app import Runtime
from bot.slack.messenger import SlackMessenger
from bot.telegram.messenger import TelegramMessenger
from handlers.core.ports import Capabilities
from storage.models import Officer, OfficerStatus, Programme, Role, utcnow
from storage.uow import UnitOfWork
from tests.support.emulators.slack_api import SlackApiEmulator
from tests.support.emulators.telegram_api import TelegramEmulator
from tests.support.fakes import FakeMessenger, Talk
from tests.support.outbox_load import slack_messenger, telegram_messenger

SLACK_CHANNEL = "CPROGRAMME"
FORUM = "-1001234567890"


@dataclass
class ForumMessenger(FakeMessenger):
    """A fake Telegram: sends, and opens forum topics (the SpaceMaker port)."""

    topics: dict[str, str] = field(default_factory=dict)
    _topic_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(101))

    async def create_space(
        self, title: str, member_user_ids: list[str], parent_chat_id: str | None = None
    ) -> tuple[str, str | None]:
        thread = str(next(self._topic_ids))
        self.topics[thread] = title
        return parent_chat_id or FORUM, thread


def platforms(runtime: Runtime) -> tuple[FakeMessenger, ForumMessenger]:
    """Fake Slack (threads) and Telegram (forum topics) messengers on the runtime."""
    slack = FakeMessenger(platform="slack", capabilities=Capabilities(threads=True))
    telegram = ForumMessenger(
        platform="telegram", capabilities=Capabilities(threads=True, topics=True)
    )
    runtime.messengers["slack"] = slack
    runtime.messengers["telegram"] = telegram
    return slack, telegram


async def programme(runtime: Runtime, slug: str = "prospect") -> Programme:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        found = await uow.programmes.by_slug(slug)
        if found is None:
            found = await uow.programmes.add(
                Programme(
                    slug=slug,
                    name="PROSPECT+ peer learning",
                    languages=["en", "fr"],
                    slack_channel_id=SLACK_CHANNEL,
                    telegram_chat_id=int(FORUM),
                )
            )
            await uow.commit()
        return found


async def person(
    runtime: Runtime,
    name: str,
    *,
    platform: str = "slack",
    user_id: str | None = None,
    country: str = "BE",
    authority: str | None = None,
    sectors: list[str] | None = None,
    languages: list[str] | None = None,
    locale: str | None = None,
    role: Role = Role.OFFICER,
    slug: str = "prospect",
    consent: bool = True,
    started: bool = True,
    **extra: Any,
) -> Officer:
    """An active officer with a chat account (user id = chat id) on one platform.

    `started=False`: imported, never wrote to the bot (on Telegram: not yet reachable)."""
    home = await programme(runtime, slug)
    user = user_id or name.split()[0].lower()
    async with UnitOfWork(runtime.sessionmaker) as uow:
        place = await uow.authorities.get_or_create(authority or f"{name} City", country)
        officer = await uow.officers.add(
            Officer(
                name=name,
                email=f"{user}@example.eu",
                authority_id=place.id,
                programme_id=home.id,
                role=role,
                languages=languages or ["en"],
                locale=locale,
                sectors=sectors or ["public_buildings"],
                consent_at=utcnow() if consent else None,
                status=OfficerStatus.ACTIVE,
                **extra,
            )
        )
        identity = await uow.identities.get_or_create(platform, user, dm_chat_id=user)
        identity.officer_id = officer.id
        identity.last_seen_at = utcnow() if started else None
        await uow.commit()
        return officer


def talk(runtime: Runtime, messenger: FakeMessenger, user_id: str, name: str = "") -> Talk:
    return Talk(
        runtime.core, messenger, user_id=user_id, name=name or user_id, platform=messenger.platform
    )


async def seated_group(
    runtime: Runtime,
    people: list[Officer],
    *,
    scheme: str = "epc",
    module: str = "public_lighting",
    status: str = "approved",
    **when: Any,
) -> int:
    """A group of `people` (the first mentors, the others learn) in a new cycle of the
    prospect programme, in `status` since the times given (`approved_at=…`); its id."""
    from datetime import date

    from handlers.groups import service
    from storage.models import GroupMember, PeerGroup

    async with UnitOfWork(runtime.sessionmaker) as uow:
        cycle = await service.create_cycle(
            uow,
            runtime.content.current.taxonomy,
            name="Cycle 1",
            starts_on=date(2026, 11, 1),
            ends_on=date(2027, 4, 30),
            modules=[module],
            programme_slug="prospect",
        )
        group = await uow.groups.add(
            PeerGroup(cycle_id=cycle["id"], scheme=scheme, status=status, **when),
            [
                GroupMember(
                    authority_id=p.authority_id,
                    officer_id=p.id,
                    role="mentor" if n == 0 else "learner",
                )
                for n, p in enumerate(people)
            ],
        )
        await uow.commit()
        return group.id


@contextlib.asynccontextmanager
async def forum_and_workspace(
    runtime: Runtime,
) -> AsyncIterator[tuple[TelegramEmulator, SlackApiEmulator, TelegramMessenger, SlackMessenger]]:
    """Both platforms for a group split across them: the emulators (the programme's forum
    supergroup `FORUM` on Telegram), and the real messengers, with topics, wired into
    `runtime`; closed on leaving."""
    async with (
        TelegramEmulator(global_rate=None, per_chat_rate=None) as tg,
        SlackApiEmulator(auto_users=True) as sl,
    ):
        tg.add_forum(int(FORUM))
        telegram, close_tg = await telegram_messenger(tg.base_url)
        slack, close_sl = await slack_messenger(sl.base_url)
        telegram.capabilities = replace(telegram.capabilities, topics=True)
        telegram.discussion_chat_id = FORUM
        runtime.messengers.update(telegram=telegram, slack=slack)
        try:
            yield tg, sl, telegram, slack
        finally:
            await close_tg()
            await close_sl()
