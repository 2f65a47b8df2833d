"""Who an announcement can really reach, and why not the others.

On Telegram a bot cannot write to someone who never pressed Start (403 "bot can't initiate
conversation with a user"): an identity that came from a roster import and has never written
to the bot (`last_seen_at` is None) is `not_started`. An officer whose newest delivery the
platform refused for good (blocked the bot, deactivated) is `blocked`. Neither is sent
anything; both are listed, the first with the link that lets them press Start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from handlers.core.ports import Messenger
from storage.models import Identity, Officer
from storage.uow import UnitOfWork

NOT_STARTED, BLOCKED, NO_ACCOUNT = "not_started", "blocked", "unreachable"
SHOWN = 20
"""Names listed in a chat message (the rest are counted)."""


def never_started(identity: Identity) -> bool:
    """A Telegram account that never wrote to the bot: the bot may not write first."""
    return identity.platform == "telegram" and identity.last_seen_at is None


@dataclass(frozen=True)
class Unreached:
    """An officer of the audience who gets nothing, and why."""

    officer: Officer
    why: str


async def why_not(
    uow: UnitOfWork, people: Sequence[tuple[Officer, Identity | None]]
) -> dict[int, str]:
    """officer id -> `not_started` | `blocked` | `unreachable` for those who cannot be sent to."""
    found: dict[int, str] = {}
    refused = await uow.reach.refused([o.id for o, _ in people])
    for officer, identity in people:
        if identity is None or identity.dm_chat_id is None:
            found[officer.id] = NO_ACCOUNT
        elif never_started(identity):
            found[officer.id] = NOT_STARTED
        elif officer.id in refused:
            found[officer.id] = BLOCKED
    return found


def start_link(messenger: Messenger | None) -> str:
    """The link that opens the bot on Telegram (its username when the adapter knows it)."""
    name = getattr(messenger, "bot_username", None) if messenger is not None else None
    return f"https://t.me/{name}" if name else "https://t.me/<your_bot>"


def who_line(officer: Officer) -> str:
    authority = officer.authority
    where = f" ({authority.name}, {authority.country})" if authority else ""
    return f"{officer.name}{where}" + (f" <{officer.email}>" if officer.email else "")
