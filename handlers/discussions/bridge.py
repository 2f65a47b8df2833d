"""The one handler of text in groups, channels and threads: relays between platforms.

A message is offered first to the pair and group spaces (`pairing.intros.relay_pair_message`,
`groups.spaces.relay_group_message`, when those modules exist); otherwise, if it was written
in a discussion's thread (a Slack thread or a Telegram forum topic), it is queued through the
outbox to the discussion's thread on every other platform as "Name (Authority): text", once
(idempotency key per source message and target), never echoing the bot's own relays (adapters
drop the bot's messages; the outbox rows the bot sent are also recognised by their platform
message id). Messages of officers who consented are stored for search, digests and FAQ drafts.
"""

from __future__ import annotations

import importlib
import logging
import uuid

from handlers.core.context import Ctx
from handlers.core.events import Incoming
from handlers.core.router import router
from handlers.delivery.outbox import payload
from handlers.discussions.flow import author_line, said
from handlers.officers.profile import forgotten_key
from storage.models import DiscussionMessage
from storage.repositories.discussions import OPEN

log = logging.getLogger(__name__)

RELAY = "relay"
MAX_RELAY = 3500


SPACE_RELAYS = (
    ("handlers.pairing.intros", "relay_pair_message"),
    ("handlers.groups.spaces", "relay_group_message"),
)
"""The areas whose shared spaces relay their own messages, asked in this order."""


async def offer_to_pairs(event: Incoming, ctx: Ctx) -> bool:
    """Let the pair and group areas relay a message of their spaces; True when one took it."""
    for module, name in SPACE_RELAYS:
        try:
            area = importlib.import_module(module)
        except ModuleNotFoundError:
            continue
        relay = getattr(area, name, None)
        if relay is not None and await relay(event, ctx):
            return True
    return False


@router.group_text()
async def relay_group_text(event: Incoming, ctx: Ctx) -> None:
    """Relay a message of a pair space or a discussion thread to the other platforms."""
    if await offer_to_pairs(event, ctx):
        return
    await relay_discussion_reply(event, ctx)


async def relay_discussion_reply(event: Incoming, ctx: Ctx) -> bool:
    """Queue a discussion reply to the discussion's other threads; True when it was one."""
    if not event.thread_id or not event.text.strip():
        return False
    repo = ctx.uow.discussions
    found = await repo.at(event.platform, event.chat_id, event.thread_id)
    if found is None:
        return False
    here, discussion = found
    if discussion.status != OPEN:
        return True
    if event.message_id and await ctx.uow.outbox.is_relay(
        event.platform, event.chat_id, event.message_id
    ):
        log.info("not relaying the bot's own relay %s/%s", event.platform, event.message_id)
        return True
    officer = ctx.officer
    if officer is None and await ctx.uow.kv.get(forgotten_key(event.platform, event.user_id)):
        log.info("not relaying a message of someone who asked to be forgotten")
        return True
    name, authority = author_line(
        officer, ctx.identity.display_name or event.display_name or event.user_id
    )
    text = event.text.strip()[:MAX_RELAY]
    line = said(ctx.content, ctx.content.t.resolve(None), name, authority, text)
    source = event.message_id or event.update_id or uuid.uuid4().hex
    for there in await repo.threads(discussion.id):
        if there.id == here.id or there.platform == event.platform:
            continue
        await ctx.uow.outbox.enqueue(
            f"relay:{discussion.id}:{event.platform}:{source}:{there.platform}",
            there.platform,
            there.chat_id,
            payload(line),
            thread_id=there.thread_id,
            purpose=RELAY,
            ref_id=discussion.id,
        )
    now = ctx.clock.now()
    await repo.count_reply(discussion, now)
    if officer is not None and officer.consent_at is not None:
        await repo.add_message(
            DiscussionMessage(
                discussion_id=discussion.id,
                officer_id=officer.id,
                platform=event.platform,
                platform_message_id=event.message_id,
                text=text,
                created_at=now,
            )
        )
    return True
