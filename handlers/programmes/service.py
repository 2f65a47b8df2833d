"""Programme settings shared by `peerbot programme rename` and the console: name and
languages; check-in cadence, Slack channel and Telegram forum chat (`rules`)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from handlers.audit.service import Coordinator, NotAllowed, authorize, record
from handlers.programmes import rules
from storage.models import Programme, Role
from storage.uow import UnitOfWork

if TYPE_CHECKING:  # the folder rules (pydantic, content) load on use: listings start without
    from handlers.programmes.folder import ProgrammeFile


@dataclass(frozen=True)
class Settings:
    id: int
    slug: str
    name: str
    languages: tuple[str, ...]
    checkin_days: int = 14
    slack_channel_id: str | None = None
    telegram_chat_id: int | None = None


async def programme_or_default(uow: UnitOfWork, slug: str | None) -> Programme | None:
    """The programme of that slug (None when there is none), or without one the default
    programme, made and committed on an empty store."""
    if slug:
        return await uow.programmes.by_slug(slug)
    programme = await uow.programmes.default_or_create()
    await uow.commit()
    return programme


async def programme_named(uow: UnitOfWork, slug: str) -> Programme | None:
    """The programme of that slug, if any."""
    return await uow.programmes.by_slug(slug)


async def create_programme(
    uow: UnitOfWork, spec: ProgrammeFile, coordinators: Collection[str]
) -> tuple[Programme, bool]:
    """Create (True) or update the programme of a checked folder, with these officers (by
    e-mail) as its coordinators; `LookupError` naming unknown e-mails, and nothing written."""
    from handlers.programmes.folder import stand_up

    programme, created = await stand_up(uow, spec)
    missing = []
    for email in coordinators:
        officer = await uow.officers.by_email(email)
        if officer is None:
            missing.append(email)
            continue
        await uow.officers.join(officer, programme.id, Role.COORDINATOR)
    if missing:
        raise LookupError(f"no officer with email {', '.join(missing)}")
    await uow.commit()
    return programme, created


async def coordinated(uow: UnitOfWork, who: Coordinator) -> list[Settings]:
    """The programmes `who` coordinates, in creation order."""
    return [
        Settings(p.id, p.slug, p.name, tuple(p.languages or ["en"]))
        for p in await uow.programmes.list()
        if p.id in who.programme_ids
    ]


async def settings_of(uow: UnitOfWork, who: Coordinator, programme_id: int) -> Settings:
    """The programme's name and languages."""
    authorize(who, programme_id)
    found = next((p for p in await uow.programmes.list() if p.id == programme_id), None)
    if found is None:
        raise NotAllowed(f"programme {programme_id}")
    return Settings(
        found.id,
        found.slug,
        found.name,
        tuple(found.languages or ["en"]),
        found.checkin_days,
        found.slack_channel_id,
        found.telegram_chat_id,
    )


async def rename_programme(
    uow: UnitOfWork,
    who: Coordinator | None,
    programme_id: int,
    name: str | None,
    languages: list[str] | None,
    now: datetime,
) -> Settings:
    """Rename and/or change languages with the rules of a programme folder (`ValueError` with
    the reason when a value is refused). `who` None is whoever holds the database (the CLI):
    any programme, nothing audited."""
    from handlers.programmes.folder import rename

    if who is not None:
        authorize(who, programme_id)
    current = await uow.programmes.get(programme_id)
    if current is None:
        raise NotAllowed(f"programme {programme_id}")
    found = await rename(uow, current.slug, name, languages)
    if who is not None:
        await record(
            uow,
            who,
            programme_id,
            "programme.settings",
            now,
            name=found.name,
            languages=list(found.languages),
        )
    await uow.commit()
    return Settings(found.id, found.slug, found.name, tuple(found.languages))


class ChannelProblem(ValueError):
    """Fields refused by `rules` (`checkin_days`, `slack_channel`, `telegram_chat`)."""

    def __init__(self, fields: list[str]) -> None:
        super().__init__(", ".join(fields))
        self.fields = fields


async def set_channels(
    uow: UnitOfWork,
    who: Coordinator,
    programme_id: int,
    checkin_days: str,
    slack_channel: str,
    telegram_chat: str,
    now: datetime,
) -> Settings:
    """Set the check-in cadence, the Slack channel and the Telegram forum chat where the
    programme's discussions and introductions go (empty: none); `ChannelProblem` names the
    values `rules` refuses."""
    authorize(who, programme_id)
    found = await uow.programmes.get(programme_id)
    if found is None:
        raise NotAllowed(f"programme {programme_id}")
    days = rules.checkin_days(checkin_days)
    slack = rules.slack_channel(slack_channel)
    forum = rules.telegram_forum(telegram_chat)
    if days is None or slack is None or forum is None:
        raise ChannelProblem(
            [
                name
                for name, value in (
                    ("checkin_days", days),
                    ("slack_channel", slack),
                    ("telegram_chat", forum),
                )
                if value is None
            ]
        )
    found.checkin_days = days
    found.slack_channel_id = slack or None
    found.telegram_chat_id = forum if isinstance(forum, int) else None
    await uow.flush()
    await record(
        uow,
        who,
        programme_id,
        "programme.channels",
        now,
        checkin_days=days,
        slack_channel=slack or None,
        telegram_chat=found.telegram_chat_id,
    )
    await uow.commit()
    return await settings_of(uow, who, programme_id)
