"""The relay between platforms, shared by pair spaces and group spaces.

A message written in a shared space (a Slack private channel, a Telegram forum topic) is
queued to the other platforms' spaces as "Name (Authority): text", attachments as links. The
text goes as plain text: the Slack messenger escapes `&`, `<`, `>` (no mention or link can
form) and Telegram sends without a parse mode, so what was typed is shown as typed.

Every relayed copy is keyed `<kind>:<id>:relay:o<author>:<source message>:<target>`: once per
source and target, whatever the number of workers, and findable by author, so `/forget`
(storage/repositories/privacy.py) deletes the unsent copies and blanks the sent ones. The
bot's own relays coming back as events are not relayed again, nor is anything written by an
account whose officer asked to be forgotten.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from handlers.core.context import Ctx
from handlers.core.events import Incoming
from handlers.core.i18n import Translator
from handlers.core.replies import Choice
from handlers.delivery.outbox import officer_locale, payload, preferred_identity
from storage.models import Identity, Officer

MAX_RELAY = 3500
PURPOSE = "relay"


class Place(Protocol):
    """Where a space is on one platform (a pair's or a group's space row)."""

    platform: str
    chat_id: str | None
    thread_id: str


def attachments(event: Incoming) -> list[str]:
    """Links to what came with a message (adapters put them in `hints['attachments']`)."""
    raw = event.hints.get("attachments", "") if event.hints else ""
    return [line.strip() for line in raw.splitlines() if line.strip()]


def relay_text(ctx: Ctx, locale: str, text: str, links: list[str]) -> str:
    """ "Name (Authority): text" in a reader's language, attachments as links."""
    officer = ctx.officer
    name = officer.name if officer else (ctx.identity.display_name or ctx.event.user_id)
    authority = officer.authority.name if officer and officer.authority else ""
    body = text[:MAX_RELAY] or ctx.content.t(locale, "pairs.relay_attachment")
    body += "".join("\n" + link for link in links)
    key = "pairs.relayed" if authority else "pairs.relayed_no_authority"
    return ctx.content.t(locale, key, name=name, authority=authority, text=body)


def author_tag(ctx: Ctx) -> str:
    """The author part of a relay key (`o<officer id>`, or `anon`)."""
    return f"o{ctx.officer.id}" if ctx.officer is not None else "anon"


def source_of(event: Incoming) -> str:
    """The source message part of a relay key: platform and message id."""
    return f"{event.platform}:{event.message_id or event.update_id or uuid.uuid4().hex}"


def relay_prefix(kind: str, ref_id: int, ctx: Ctx, source: str) -> str:
    return f"{kind}:{ref_id}:relay:{author_tag(ctx)}:{source}"


def forgotten_pattern(officer_id: int) -> str:
    """A LIKE pattern of every relay key written by one officer."""
    return f"%:relay:o{officer_id}:%"


async def not_to_relay(event: Incoming, ctx: Ctx) -> bool:
    """The bot's own relay coming back, or someone who asked to be forgotten."""
    from handlers.officers.profile import forgotten_key  # profile imports the pairing area

    if event.message_id and await ctx.uow.outbox.is_relay(
        event.platform, event.chat_id, event.message_id
    ):
        return True
    return ctx.officer is None and bool(
        await ctx.uow.kv.get(forgotten_key(event.platform, event.user_id))
    )


async def to_places(
    ctx: Ctx,
    places: Iterable[Place],
    prefix: str,
    text: str,
    links: list[str],
    *,
    skip_platform: str | None,
    ref_id: int,
) -> int:
    """Queue the relayed text to every space but the author's platform; returns how many."""
    queued = 0
    locale = ctx.content.t.resolve(None)
    for place in places:
        if place.platform == skip_platform or not place.chat_id:
            continue
        queued += await ctx.uow.outbox.enqueue(
            f"{prefix}:{place.platform}",
            place.platform,
            str(place.chat_id),
            payload(relay_text(ctx, locale, text, links)),
            thread_id=place.thread_id or None,
            purpose=PURPOSE,
            ref_id=ref_id,
        )
    return queued


async def to_private_chats(
    ctx: Ctx,
    members: Iterable[Officer],
    on: set[str],
    prefix: str,
    text: str,
    links: list[str],
    *,
    reply: tuple[str, str],
    ref_id: int,
) -> int:
    """Queue the relayed text to the private chat of each member but the author whose
    platform has no space (`on`: the platforms that have one), with a button to answer
    (`reply`: its choice id and label key); returns how many."""
    queued = 0
    author = ctx.officer.id if ctx.officer else None
    choice_id, label_key = reply
    for officer in members:
        if officer.id == author:
            continue
        identity = preferred_identity(officer)
        if identity is None or identity.platform in on:
            continue
        locale = officer_locale(officer, ctx.content, identity)
        queued += await ctx.notify(
            officer,
            "pairs.relayed",
            idempotency_key=f"{prefix}:dm:{officer.id}",
            text=relay_text(ctx, locale, text, links),
            choices=[Choice(choice_id, ctx.content.t(locale, label_key))],
            purpose="relay",
            ref_id=ref_id,
        )
    return queued


async def relay_to_all(
    ctx: Ctx,
    kind: str,
    ref_id: int,
    spaces: Iterable[Place],
    members: Iterable[Officer],
    text: str,
    links: list[str],
    *,
    source: str,
    from_space: str | None,
    reply: tuple[str, str],
) -> int:
    """Queue a member's message to wherever the rest of a pair or group (`kind`, `ref_id`)
    reads; returns targets: every space but the one it was written in (`from_space`; None:
    from a private chat), and the private chat of each member but the author whose platform
    has no space, with a button to answer (`reply`: its choice id and label key)."""
    opened = [s for s in spaces if s.chat_id]
    prefix = relay_prefix(kind, ref_id, ctx, source)
    queued = await to_places(
        ctx, opened, prefix, text, links, skip_platform=from_space, ref_id=ref_id
    )
    on = {s.platform for s in opened}
    return queued + await to_private_chats(
        ctx, members, on, prefix, text, links, reply=reply, ref_id=ref_id
    )


@dataclass
class SpaceMember:
    """One officer of a pair or a group, and where they are reached."""

    officer: Officer
    identity: Identity | None
    role: str

    @property
    def platform(self) -> str | None:
        return self.identity.platform if self.identity else None


def bridged_lines(t: Translator, locale: str, key: str, away: Iterable[SpaceMember]) -> str:
    """One line per member taking part from another platform (their messages are relayed),
    each on a new line; empty when everyone is here."""
    return "".join(
        "\n" + t(locale, key, name=m.officer.name, platform=str(m.platform).capitalize())
        for m in away
    )
