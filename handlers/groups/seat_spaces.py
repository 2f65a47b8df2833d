"""A running group's spaces follow its seats: whoever takes a seat (a colleague taking over,
an authority added or moved in by a coordinator) is let into the group's space on their
platform, and whoever leaves is taken out where the platform allows it.

Slack: the newcomer is invited to the group's private channel and a leaver is removed from it,
by outbox rows (`handlers.delivery.outbox.space_change`) that the Slack messenger carries out
(`SpaceKeeper` port): nothing calls the platform while the handler's transaction is open, and
the change is retried, paced and kept in order with the channel's messages. Telegram: a bot
cannot add anyone to a supergroup, so the newcomer's message carries the supergroup's
invitation link and the topic's link. Nor can it take anyone out of one forum topic: only out
of the whole supergroup, which holds every group's topic (and pairs'). So an officer who
leaves one group but stays in the programme stays in the supergroup and can still open that
group's topic (a platform limit); the group's relays stop reaching them all the same, since
relays to private chats go to seat holders only. One who leaves the programme for good
(`/forget`, `groups leave`) is taken out of the supergroup when no group they still sit in
talks there (`leave_programme_chats`), banned and at once unbanned so an invitation can bring
them back later. With no space on their platform the
newcomer reads the group in their private chat, with the "Reply to the group" button, as at
the introduction (handlers/groups/jobs.py).
"""

from __future__ import annotations

from handlers.core.content import Content
from handlers.core.replies import Choice
from handlers.delivery.outbox import officer_locale, preferred_identity, space_change
from handlers.groups.jobs import KEEPS_MEMBERS, where_in_space
from handlers.groups.rules import LIVE
from storage.models import GroupSpace, Officer, PeerGroup
from storage.uow import UnitOfWork

INTRODUCED = ("introduced", "active")
"""An approved group's spaces are still being opened: its introduction lets everyone in.
The status is read with the group's row locked (`status_locked`): the introduction moves it
first in its last transaction, so a seat change either waits and finds the group introduced,
or commits first and the introduction reads the new holder (handlers/groups/jobs.py)."""


async def admit(
    uow: UnitOfWork, content: Content, group: PeerGroup, officer: Officer, tag: str
) -> tuple[str, list[Choice]]:
    """Let an officer who now holds a seat into the group's space on their platform; returns,
    in their language, where they find the group ("" before its introduction) and the button
    to write to it when that is their private chat."""
    if await uow.groups.status_locked(group.id) not in INTRODUCED:
        return "", []
    identity = preferred_identity(officer)
    locale = officer_locale(officer, content, identity)
    spaces = {s.platform: s for s in await uow.groups.spaces(group.id) if s.chat_id}
    space = spaces.get(identity.platform) if identity else None
    if space is None or identity is None:
        reply = Choice(f"gmsg:{group.id}", content.t(locale, "groups.life.reply"))
        return content.t(locale, "groups.life.where_private"), [reply]
    if space.platform in KEEPS_MEMBERS:
        await _queue_change(uow, group, space, "add", identity.user_id, officer.id, tag)
    bridged_to = {p for p in spaces if p != space.platform}
    return where_in_space(content, locale, space, bridged_to), []


async def _queue_change(
    uow: UnitOfWork,
    group: PeerGroup,
    space: GroupSpace,
    action: str,
    user_id: str,
    who: int,
    tag: str,
) -> int:
    """Queue one membership change of a group's space (`add` or `remove` the platform user),
    keyed by the group, the space, the action, `who` (officer or account id) and `tag`."""
    return await uow.outbox.enqueue(
        f"group:{group.id}:space:{space.platform}:{action}:{who}:{tag}",
        space.platform,
        str(space.chat_id),
        space_change(action, user_id),
        purpose="group_space",
        ref_id=group.id,
    )


async def dismiss(uow: UnitOfWork, group: PeerGroup, officer: Officer, tag: str) -> int:
    """Take an officer who no longer holds a seat of the group out of its spaces where the
    platform allows it; returns the removals queued (none while they still sit there)."""
    if await uow.groups.status_locked(group.id) not in INTRODUCED:
        return 0
    if any(o is not None and o.id == officer.id for _, o in await uow.groups.members(group.id)):
        return 0
    queued = 0
    for space in await uow.groups.spaces(group.id):
        if not space.chat_id or space.platform not in KEEPS_MEMBERS:
            continue
        for identity in officer.identities:
            if identity.platform != space.platform or not identity.user_id:
                continue
            queued += await _queue_change(
                uow, group, space, "remove", identity.user_id, identity.id, tag
            )
    return queued


LEAVES_WHOLE_CHAT = frozenset({"telegram"})
"""Platforms whose group spaces are topics of one programme chat: a member can only be taken
out of the whole chat."""


async def leave_programme_chats(
    uow: UnitOfWork, officer: Officer, left: list[PeerGroup], tag: str
) -> int:
    """Take an officer who left the programme for good out of the Telegram supergroups where
    the groups they sat in (`left`) talk, unless a group they still sit in, or a pair still
    open, talks there too; returns the removals queued. Call it before their identities are
    erased."""
    chats: dict[str, set[str]] = {}
    for group in left:
        if await uow.groups.status_locked(group.id) not in INTRODUCED:
            continue
        for space in await uow.groups.spaces(group.id):
            if space.chat_id and space.platform in LEAVES_WHOLE_CHAT:
                chats.setdefault(str(space.platform), set()).add(str(space.chat_id))
    if not chats:
        return 0
    edits = uow.group_edits
    for _, group in await edits.seats_of_officer(officer.id, LIVE):
        for space in await uow.groups.spaces(group.id):
            chats.get(str(space.platform), set()).discard(str(space.chat_id))
    for platform, chat in await edits.open_pair_chats(officer.id):
        chats.get(platform, set()).discard(chat)
    queued = 0
    for platform, where in chats.items():
        for identity in officer.identities:
            if identity.platform != platform or not identity.user_id:
                continue
            for chat in sorted(where):
                queued += await uow.outbox.enqueue(
                    f"chat:{platform}:{chat}:remove:{identity.id}:{tag}",
                    platform,
                    chat,
                    space_change("remove", identity.user_id),
                    purpose="group_space",
                )
    return queued
