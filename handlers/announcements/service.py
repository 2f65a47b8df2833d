"""Announcement use cases shared by `peerbot broadcast` and the console: how many officers an
audience reaches (by platform and by language), queue an announcement, its delivery report.
Authorization inside: the programme must be the coordinator's, and an announcement of
another programme is `NotAllowed`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from handlers.announcements import flow as bc
from handlers.announcements.audience import Audience, parse_audience, programme_ids, select_chunk
from handlers.announcements.reach import NO_ACCOUNT, why_not
from handlers.audit.service import Coordinator, NotAllowed, authorize, record
from handlers.core.taxonomy import Taxonomy
from storage.repositories.announcements import AnnouncementRepo
from storage.repositories.console import ConsoleRepo
from storage.uow import UnitOfWork

LANGS = ("en", "fr", "de", "es", "it")


class AudienceProblem(ValueError):
    """Parts of an audience filter that were not understood (`parts`)."""

    def __init__(self, parts: list[str]) -> None:
        super().__init__(", ".join(parts))
        self.parts = parts


@dataclass
class Reach:
    """Who an announcement would reach: per platform and per language of the recipient, and
    who would get nothing (`not_started`, `blocked`, `unreachable`)."""

    audience: str
    by_platform: dict[str, int] = field(default_factory=dict)
    by_language: dict[str, int] = field(default_factory=dict)
    not_reached: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_platform.values())


async def audience_of(uow: UnitOfWork, text: str, taxonomy: Taxonomy) -> Audience:
    """A written filter, checked; `AudienceProblem` names what was not understood."""
    wanted, problems = parse_audience(text, taxonomy)
    _, missing = await programme_ids(uow, wanted)
    if problems or missing:
        raise AudienceProblem(problems + missing)
    return wanted


async def reach(
    uow: UnitOfWork, who: Coordinator, programme_id: int, audience_text: str, taxonomy: Taxonomy
) -> Reach:
    """The recipients an audience filter gives within the programme, counted."""
    authorize(who, programme_id)
    wanted = await audience_of(uow, audience_text, taxonomy)
    found = Reach(wanted.text())
    after = 0
    while True:
        last, chunk = await select_chunk(uow, wanted, [programme_id], after, 1000)
        if last is None:
            return found
        missed = await why_not(uow, [(r.officer, r.identity) for r in chunk])
        for r in chunk:
            why = missed.get(r.officer.id)
            if why is not None or r.identity is None:
                key = why or NO_ACCOUNT
                found.not_reached[key] = found.not_reached.get(key, 0) + 1
                continue
            platform = r.identity.platform
            found.by_platform[platform] = found.by_platform.get(platform, 0) + 1
            lang = (r.officer.locale or r.identity.locale or "en").split("-")[0].lower()
            found.by_language[lang] = found.by_language.get(lang, 0) + 1
        after = last


async def send(
    uow: UnitOfWork,
    who: Coordinator,
    programme_id: int,
    *,
    text: str,
    audience_text: str,
    taxonomy: Taxonomy,
    now: datetime,
    lang: str = "en",
    translations: dict[str, str] | None = None,
    send_at: datetime | None = None,
) -> int:
    """Queue an announcement to the programme's audience (as `peerbot broadcast create`);
    the `announcements` job sends it when due. Its id. `ValueError("empty")` for no text."""
    authorize(who, programme_id)
    body = text.strip()
    if not body:
        raise ValueError("empty")
    wanted = await audience_of(uow, audience_text, taxonomy)
    kept = {k: v.strip() for k, v in (translations or {}).items() if v and v.strip() and k != lang}
    ann = await bc.create(
        uow,
        text=body[: bc.MAX_TEXT],
        audience=wanted,
        scope=[programme_id],
        programme_id=programme_id,
        author_id=who.officer_id,
        now=now,
        lang=lang,
        translations=kept,
        send_at=send_at,
    )
    await record(
        uow,
        who,
        programme_id,
        "announcement.send",
        now,
        announcement=ann.id,
        audience=wanted.text(),
        recipients=ann.recipients,
    )
    await uow.commit()
    return ann.id


async def report(
    uow: UnitOfWork, who: Coordinator, programme_id: int, announcement_id: int
) -> dict[str, Any]:
    """The delivery report (`peerbot broadcast status`) with the text and who was not reached."""
    authorize(who, programme_id)
    ann = await uow.get(AnnouncementRepo).get(announcement_id)
    if ann is None or ann.programme_id != programme_id:
        raise NotAllowed(f"announcement {announcement_id}")
    return {
        **await bc.status_json(uow, ann),
        "text": ann.text,
        "lang": ann.lang,
        "translations": dict(ann.translations or {}),
        "status": ann.status,
        "audience": Audience.from_json(ann.audience).text(),
        "send_at": ann.send_at,
    }


async def recent(
    uow: UnitOfWork, who: Coordinator, programme_id: int, limit: int = 30
) -> list[dict[str, Any]]:
    """The programme's latest announcements, newest first."""
    authorize(who, programme_id)
    return [
        {
            "id": a.id,
            "text": a.text,
            "status": a.status,
            "recipients": a.recipients,
            "at": a.send_at,
        }
        for a in await uow.get(ConsoleRepo).announcements(programme_id, limit)
    ]
