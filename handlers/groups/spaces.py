"""Group spaces talk to each other: what is written in a group's Slack channel reaches its
Telegram topic and back, as "Name (Authority): text", through the relay shared with pair
spaces (handlers/delivery/relay.py: escaping, echo guard, `/forget`). A message in a space is
also the group's sign of life (its health, handlers/groups/health.py)."""

from __future__ import annotations

from handlers.core.context import Ctx
from handlers.core.events import Incoming
from handlers.delivery.relay import attachments, not_to_relay, relay_prefix, source_of, to_places
from storage.repositories.group_life import LIVE, GroupLifeRepo


async def relay_group_message(event: Incoming, ctx: Ctx) -> bool:
    """Relay text written in a group's space to its other spaces; True if it was one."""
    if event.chat_kind == "dm":
        return False
    life = ctx.uow.get(GroupLifeRepo)
    space = await life.space_at(event.platform, event.chat_id, event.thread_id)
    if space is None:
        return False
    if await not_to_relay(event, ctx):
        return True
    group = await ctx.uow.groups.get(space.group_id)
    text, links = event.text.strip(), attachments(event)
    if group is None or group.status not in LIVE or not (text or links):
        return True
    await life.touch(group.id, ctx.clock.now())
    spaces = [s for s in await ctx.uow.groups.spaces(group.id) if s.chat_id]
    prefix = relay_prefix("group", group.id, ctx, source_of(event))
    await to_places(ctx, spaces, prefix, text, links, skip_platform=event.platform, ref_id=group.id)
    return True
