"""Group spaces talk to each other: what is written in a group's Slack channel reaches its
Telegram topic and back, as "Name (Authority): text", through the relay shared with pair
spaces (handlers/delivery/relay.py: escaping, echo guard, `/forget`). A message in a space is
also the group's sign of life (its health, handlers/groups/health.py).

A member whose platform has no space for the group (Telegram without a forum, a failed
channel) reads the group in their private chat, as a pair's partner does: every message of
the group reaches them there with a "Reply to the group" button, whose flow passes what they
write next to every space and to the other members reading in private.
"""

from __future__ import annotations

from typing import TypedDict, cast

from handlers.core.context import Ctx
from handlers.core.events import Incoming
from handlers.core.router import router
from handlers.delivery.relay import (
    attachments,
    not_to_relay,
    relay_to_all,
    source_of,
)
from storage.models import OfficerStatus, PeerGroup
from storage.repositories.group_life import LIVE

CHAT_FLOW = "group_chat"


class GroupChatState(TypedDict):
    """`Conversation.data` of `group_chat`: the group a private chat writes to."""

    group_id: int


async def relay_group_message(event: Incoming, ctx: Ctx) -> bool:
    """Relay text written in a group's space to its other spaces; True if it was one."""
    if event.chat_kind == "dm":
        return False
    life = ctx.uow.group_life
    space = await life.space_at(event.platform, event.chat_id, event.thread_id)
    if space is None:
        return False
    if await not_to_relay(event, ctx):
        return True
    group = await ctx.uow.groups.get(space.group_id)
    text, links = event.text.strip(), attachments(event)
    if group is None or group.status not in LIVE or not (text or links):
        return True
    if not await _speaks_for_the_group(ctx, group):
        return True
    await life.touch(group.id, ctx.clock.now())
    await relay_group(ctx, group, text, links, source_of(event), from_space=event.platform)
    return True


async def _speaks_for_the_group(ctx: Ctx, group: PeerGroup) -> bool:
    """Whether a message in the group's space is the group's: not when its author is an
    officer who holds no seat of it (and coordinates nothing). A Telegram topic is open to
    everyone in the programme's supergroup, and a bot cannot take anyone out of one topic
    only, so someone who left the group can still write there; it no longer reaches the group.
    """
    me = ctx.officer
    if me is None or ctx.is_coordinator:
        return True
    return any(o is not None and o.id == me.id for _, o in await ctx.uow.groups.members(group.id))


async def relay_group(
    ctx: Ctx,
    group: PeerGroup,
    text: str,
    links: list[str],
    source: str,
    from_space: str | None,
) -> int:
    """Queue a member's message to wherever the rest of the group reads; returns targets.

    Every space but the one it was written in (`from_space`; None: from a private chat), and
    the private chat of each active member but the author whose platform has no space."""
    members = [
        officer
        for _, officer in await ctx.uow.groups.members(group.id)
        if officer is not None and officer.status == OfficerStatus.ACTIVE
    ]
    return await relay_to_all(
        ctx,
        "group",
        group.id,
        await ctx.uow.groups.spaces(group.id),
        members,
        text,
        links,
        source=source,
        from_space=from_space,
        reply=(f"gmsg:{group.id}", "groups.life.reply"),
    )


async def _my_live_group(ctx: Ctx, group_id: int) -> PeerGroup | None:
    group = await ctx.uow.groups.get(group_id)
    me = ctx.officer
    if group is None or me is None or group.status not in LIVE:
        return None
    members = {o.id for _, o in await ctx.uow.groups.members(group.id) if o is not None}
    return group if me.id in members else None


@router.choice("gmsg")
async def press_reply(event: Incoming, ctx: Ctx) -> None:
    """'Reply to the group': the caller's next messages in this private chat go to it."""
    arg = (event.choice or "").partition(":")[2]
    group = await _my_live_group(ctx, int(arg)) if arg.isdigit() else None
    if group is None:
        await ctx.reply("errors.expired_choice")
        return
    chat: GroupChatState = {"group_id": group.id}
    await ctx.set_state(CHAT_FLOW, "text", chat)
    scheme = ctx.content.taxonomy.label("instruments", group.scheme, ctx.locale)
    await ctx.reply("groups.life.chat_open", scheme=scheme)


@router.flow(CHAT_FLOW)
async def write_to_group(event: Incoming, ctx: Ctx) -> None:
    """Pass a message from a private chat to the group (until /cancel)."""
    state = await ctx.state()
    group_id = int(cast(GroupChatState, state.data).get("group_id", 0)) if state else 0
    group = await _my_live_group(ctx, group_id)
    if group is None:
        await ctx.clear_state()
        await ctx.reply("groups.life.chat_closed")
        return
    text, links = event.text.strip(), attachments(event)
    if not (text or links):
        return
    await ctx.uow.group_life.touch(group.id, ctx.clock.now())
    queued = await relay_group(ctx, group, text, links, source_of(event), from_space=None)
    await ctx.reply("groups.life.chat_sent" if queued else "groups.life.chat_unreachable")
