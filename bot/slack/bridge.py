"""What the Slack surfaces (modal, App Home) need from the core beyond `Core.handle`.

A modal submission is a whole onboarding at once, and the App Home shows the profile; neither
is a message for the router. These functions open a unit of work and a `Ctx` the way
`Core.handle` does (through its `_context`) and call the existing handlers
(`onboarding.finish`, `profile.profile_lines`). A public `Core.submit_form` / `Core.view` hook
would let this module go.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.slack.views import Prefill
from handlers import onboarding
from handlers.core.engine import Core, Outcome, clean_text
from handlers.core.events import Incoming
from handlers.core.ports import Messenger
from handlers.profile import profile_lines
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
        ctx = await core._context(event, messenger, uow, write=False)
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


async def submit_profile(
    core: Core, event: Incoming, messenger: Messenger, answers: dict[str, object]
) -> Outcome:
    """Store a validated form as `onboarding.finish` does, once per submission (update_id)."""
    data = {k: clean_text(v) if isinstance(v, str) else v for k, v in answers.items()}
    try:
        async with core.slots, core.uow() as uow:
            if event.update_id and not await uow.ingress.first_time(
                event.platform, event.update_id
            ):
                return "duplicate"
            ctx = await core._context(event, messenger, uow)
            earlier = ctx.officer.consent_at if ctx.officer is not None else None
            data["consent_at"] = (earlier or core.clock.now()).isoformat()
            await onboarding.finish(ctx, data)
            await uow.commit()
    except Exception:
        log.exception("profile form failed for %s %s", event.platform, event.user_id)
        await core._apologise(event, messenger)
        return "error"
    return "handled"
