"""What the Slack App Home and the profile modal read from the core: the caller's profile.

Reads only (`Core.context(write=False)`), so it can run inside Slack's 3-second window without
taking a write lock. A submitted modal is not handled here: it is stored in the inbox as a form
event and handled by `onboarding.submit_profile_form`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.slack.views import Prefill
from handlers.core.engine import Core
from handlers.core.events import Incoming
from handlers.core.ports import Messenger
from handlers.officers.profile import profile_lines
from storage.models import OfficerStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Profile:
    """The caller as the Slack surfaces show them: their language, form prefill, profile text."""

    locale: str
    prefill: Prefill | None
    text: str | None


async def profile_of(core: Core, event: Incoming, messenger: Messenger) -> Profile:
    """Read (never write) the caller's profile: None fields when they have not joined."""
    async with core.uow() as uow:
        ctx = await core.context(event, messenger, uow, write=False)
        officer = ctx.officer
        if officer is None or officer.status != OfficerStatus.ACTIVE:
            return Profile(ctx.locale, None, None)
        authority = officer.authority
        prefill = Prefill(
            name=officer.name,
            authority=authority.name if authority else "",
            country=authority.country if authority else None,
            role=officer.job_title or "",
            languages=tuple(str(c) for c in officer.languages),
            timezone=officer.timezone,
            sectors=tuple(str(c) for c in officer.sectors),
            wants=tuple(str(c) for c in officer.wants),
            offers=tuple(str(c) for c in officer.offers),
            consent=officer.consent_at is not None,
            editing=True,
        )
        text = ctx.t("profile.show", **profile_lines(ctx, officer))
        return Profile(ctx.locale, prefill, text)
