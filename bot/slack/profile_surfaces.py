"""What the Slack App Home and the profile modal show of the caller: their profile.

Reads only (`handlers.officers.profile.read_profile`), so it fits Slack's 3-second window
without a write lock. A submitted modal is not handled here: it is stored in the inbox as a
form event and handled by `onboarding.submit_profile_form`.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.slack.views import Prefill
from handlers.core.engine import Core
from handlers.core.events import Incoming
from handlers.core.ports import Messenger
from handlers.officers.profile import read_profile


@dataclass(frozen=True)
class Profile:
    """The caller as the Slack surfaces show them: their language, form prefill, profile text."""

    locale: str
    prefill: Prefill | None
    text: str | None


async def profile_of(core: Core, event: Incoming, messenger: Messenger) -> Profile:
    """Read (never write) the caller's profile: None fields when they have not joined."""
    locale, view = await read_profile(core, event, messenger)
    if view is None:
        return Profile(locale, None, None)
    prefill = Prefill(
        name=view.name,
        authority=view.authority,
        country=view.country,
        role=view.role,
        languages=view.languages,
        timezone=view.timezone,
        sectors=view.sectors,
        wants=view.wants,
        offers=view.offers,
        consent=view.consent,
        editing=True,
    )
    return Profile(locale, prefill, view.text)
