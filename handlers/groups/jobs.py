"""The `group_intros` job: approved groups get their spaces and an introduction.

Like pair introductions: where members are on a platform whose messenger implements the
SpaceMaker port (Slack: a private channel with them invited; Telegram: a forum topic in the
programme's supergroup, whose link is sent, since a bot cannot add anyone to a group), one
space per platform is opened; the `group_space` row is reserved first so two processes never
open it twice. Every member gets a private introduction in their language, and each space a
welcome, all through the outbox with keys `group:<id>:intro:<officer>` and
`group:<id>:space:<platform>`, so a restart never introduces twice. A member with no space on
their platform is told the group reaches them in their private chat, with a button to write to
it (handlers/groups/spaces.py). The group is then `introduced`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from datetime import timedelta

from handlers.core.content import Content
from handlers.core.jobs import JobCtx, job
from handlers.core.ports import Messenger
from handlers.core.replies import Choice
from handlers.core.taxonomy import fold
from handlers.delivery.outbox import (
    officer_locale,
    payload,
    preferred_identity,
    queue_to_officer,
    space_change,
)
from handlers.delivery.relay import SpaceMember, bridged_lines
from handlers.groups.rules import render_reasons
from handlers.outcomes.mentors import learner_plan_line
from handlers.pairing.intros import can_open_space, space_mode, space_parent
from storage.models import GroupSpace, OfficerStatus, PeerGroup, Programme
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

SPACE_LEASE = timedelta(minutes=10)
BATCH = 20
KEEPS_MEMBERS = frozenset({"slack"})
"""Platforms whose group spaces the bot adds members to and removes them from."""


def space_link(space: GroupSpace) -> str | None:
    """The t.me link of a Telegram forum topic (it opens for the supergroup's members)."""
    chat = str(space.chat_id or "")
    if space.platform != "telegram" or not space.thread_id or not chat.startswith("-100"):
        return None
    return f"https://t.me/c/{chat[4:]}/{space.thread_id}"


def where_in_space(
    content: Content, locale: str, space: GroupSpace, bridged_to: Collection[str] = ()
) -> str:
    """Where a member finds the group's space on their platform: the Telegram topic (with the
    supergroup's invitation when there is one) or the Slack channel they were added to, and
    the other platforms the space is bridged to."""
    link = space_link(space)
    if link and space.invite_link:
        where = content.t(locale, "groups.life.where_invite", invite=space.invite_link, link=link)
    elif link:
        where = content.t(locale, "groups.intro.where_topic", link=link)
    else:
        where = content.t(locale, "groups.intro.where_space")
    if bridged_to:
        where += "\n" + content.t(
            locale,
            "groups.life.where_bridged",
            platforms=", ".join(p.capitalize() for p in sorted(bridged_to)),
        )
    return where


async def _seats(uow: UnitOfWork, group: PeerGroup) -> list[SpaceMember]:
    return [
        SpaceMember(officer, preferred_identity(officer), member.role)
        for member, officer in await uow.groups.members(group.id)
        if officer is not None and officer.status == OfficerStatus.ACTIVE
    ]


async def _context(
    core: JobCtx, uow: UnitOfWork, group: PeerGroup
) -> tuple[Programme | None, Content]:
    cycle = await uow.cycles.get(group.cycle_id)
    programme = await uow.cycles.programme(cycle.programme_id if cycle else None)
    return programme, core.content.for_programme(programme.slug if programme else None)


def _title(
    content: Content, group: PeerGroup, seats: list[SpaceMember], messenger: Messenger
) -> str:
    scheme = content.taxonomy.label("instruments", group.scheme, "en")
    if messenger.capabilities.topics:
        return content.t("en", "groups.space_title", scheme=scheme, id=group.id)[:128]
    slug = re.sub(r"[^a-z0-9]+", "-", fold(group.scheme)).strip("-")[:40]
    return f"group-{group.id}-{slug}"[:80]


@job("group_intros")
async def introduce_groups(core: JobCtx, messengers: dict[str, Messenger]) -> int:
    """Open spaces for approved groups and introduce their members."""
    async with core.uow() as uow:
        ids = [g.id for g in await uow.groups.approved(BATCH)]
    done = 0
    for group_id in ids:
        try:
            done += await introduce(core, messengers, group_id)
        except Exception:
            log.exception("group %s: introduction failed; tried again at the next tick", group_id)
    return done


async def introduce(core: JobCtx, messengers: dict[str, Messenger], group_id: int) -> int:
    """Introduce one approved group; 1 when it is now introduced."""
    now = core.clock.now()
    async with core.uow() as uow:
        group = await uow.groups.get(group_id)
        if group is None or group.status != "approved":
            return 0
        programme, content = await _context(core, uow, group)
        seats = await _seats(uow, group)
        wanted = []
        if space_mode(programme) == "space":
            for platform in sorted({s.platform for s in seats if s.platform}):
                messenger = messengers.get(platform)
                if not can_open_space(messenger):
                    continue
                assert messenger is not None
                if messenger.capabilities.topics and not space_parent(
                    programme, platform, messenger
                ):
                    continue
                wanted.append(platform)
        existing = {s.platform: s for s in await uow.groups.spaces(group.id)}
        to_open = []
        for platform in wanted:
            if platform in existing and existing[platform].chat_id:
                continue
            if not await uow.groups.reserve_space(group.id, platform, now, SPACE_LEASE):
                return 0  # another process is opening it
            to_open.append(platform)
        await uow.commit()
        plans = {
            p: (
                _title(content, group, seats, messengers[p]),
                [s.identity.user_id for s in seats if s.platform == p and s.identity],
                space_parent(programme, p, messengers[p]),
            )
            for p in to_open
        }
    for platform, (title, users, parent) in plans.items():
        await _open(core, messengers[platform], group_id, platform, title, users, parent)
    async with core.uow() as uow:
        # The status moves first: its UPDATE locks the group's row, so a seat changing hands
        # from now waits for this commit and then finds the group introduced and its spaces
        # recorded (seat_spaces.admit lets the newcomer in); one that changed hands while the
        # spaces were opening has committed, and its new holder is read below.
        if not await uow.groups.move(group_id, ["approved"], "introduced", introduced_at=now):
            return 0
        group = await uow.groups.get(group_id)
        assert group is not None
        _, content = await _context(core, uow, group)
        seats = await _seats(uow, group)
        spaces = [s for s in await uow.groups.spaces(group.id) if s.chat_id]
        await _queue(uow, content, core.secret, group, seats, spaces)
        invited = {p: plan[1] for p, plan in plans.items()}
        await _settle_members(uow, group, seats, spaces, invited)
        await uow.commit()
    return 1


async def _settle_members(
    uow: UnitOfWork,
    group: PeerGroup,
    seats: list[SpaceMember],
    spaces: list[GroupSpace],
    invited: dict[str, list[str]],
) -> None:
    """Spaces are opened with the members read before the platform call; whoever took a seat
    since is invited and whoever gave one up is taken out (a space opened by an earlier,
    interrupted run: everyone is invited again, which changes nothing for those in it)."""
    for space in spaces:
        if space.platform not in KEEPS_MEMBERS:
            continue
        sitting = {
            s.identity.user_id
            for s in seats
            if s.platform == space.platform and s.identity and s.identity.user_id
        }
        holding = {  # a paused officer keeps a seat kept for them, and their place in it
            i.user_id
            for _, officer in await uow.groups.members(group.id)
            if officer is not None
            for i in officer.identities
            if i.platform == space.platform
        }
        before = set(invited.get(str(space.platform), []))
        changes = [("add", u) for u in sorted(sitting - before)]
        if space.platform in invited:
            changes += [("remove", u) for u in sorted(before - sitting - holding)]
        for op, user in changes:
            await uow.outbox.enqueue(
                f"group:{group.id}:space:{space.platform}:{op}:{user}:intro",
                space.platform,
                str(space.chat_id),
                space_change(op, user),
                purpose="group_space",
                ref_id=group.id,
            )


async def _open(
    core: JobCtx,
    messenger: Messenger,
    group_id: int,
    platform: str,
    title: str,
    users: list[str],
    parent: str | None,
) -> None:
    """Create the space and record it at once; on failure members are introduced privately."""
    try:
        chat, thread = await messenger.create_space(title, users, parent_chat_id=parent)  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - private introductions still go out
        log.warning("group %s: no %s space (%s)", group_id, platform, exc)
        async with core.uow() as uow:
            await uow.groups.release_space(group_id, platform)
            await uow.commit()
        return
    async with core.uow() as uow:
        thread_id = str(thread) if thread else None
        await uow.groups.record_space(group_id, platform, str(chat), thread_id)
        await uow.commit()
    if thread and hasattr(messenger, "invite_link"):
        try:  # the topic's link opens only for the supergroup's members: invite them
            link = await messenger.invite_link(str(chat), f"group {group_id}")
        except Exception as exc:  # noqa: BLE001 - the topic link still goes out
            log.warning("group %s: no %s invite link (%s)", group_id, platform, exc)
            return
        async with core.uow() as uow:
            await uow.group_life.set_invite_link(group_id, platform, link)
            await uow.commit()


def _roster(content: Content, locale: str, seats: list[SpaceMember]) -> str:
    lines = []
    for role in ("mentor", "learner"):
        for s in seats:
            if s.role == role:
                authority = s.officer.authority
                where = f"{authority.name}, {authority.country}" if authority else "—"
                lines.append(
                    content.t(locale, f"groups.intro.{role}_line", name=s.officer.name, where=where)
                )
    return "\n".join(lines)


async def _learner_plans(
    uow: UnitOfWork, content: Content, locale: str, seats: list[SpaceMember]
) -> str:
    """For a mentor's introduction: the learning plans of the group's learner authorities."""
    lines, seen = [], set()
    for s in seats:
        authority = s.officer.authority
        if s.role != "learner" or authority is None or authority.id in seen:
            continue
        seen.add(authority.id)
        lines.append(await learner_plan_line(uow, content, locale, authority.id, authority.name))
    found = "".join(lines).rstrip("\n")
    return "\n\n" + found if found else ""


async def _queue(
    uow: UnitOfWork,
    content: Content,
    secret: bytes,
    group: PeerGroup,
    seats: list[SpaceMember],
    spaces: list[GroupSpace],
) -> None:
    on = {s.platform: s for s in spaces}
    for seat in seats:
        locale = officer_locale(seat.officer, content, seat.identity)
        space = on.get(seat.platform or "")
        if space is not None:
            bridged_to = {
                str(s.platform) for s in seats if s.platform in on and s.platform != space.platform
            }
            where = where_in_space(content, locale, space, bridged_to)
        else:  # no space on their platform: the group reaches them here (handlers/groups/spaces)
            where = content.t(locale, "groups.life.where_private")
        module = content.taxonomy.label("sectors", group.module, locale) if group.module else "—"
        if seat.role == "mentor":
            where += await _learner_plans(uow, content, locale, seats)
        await queue_to_officer(
            uow,
            content,
            secret,
            seat.officer,
            "groups.intro.private",
            idempotency_key=f"group:{group.id}:intro:{seat.officer.id}",
            choices=[]
            if space is not None
            else [Choice(f"gmsg:{group.id}", content.t(locale, "groups.life.reply"))],
            values={
                "name": seat.officer.name,
                "scheme": content.taxonomy.label("instruments", group.scheme, locale),
                "module": module,
                "role": content.t(locale, f"groups.intro.you_{seat.role}"),
                "members": _roster(content, locale, seats),
                "where": where,
            },
            purpose="group_intro",
            ref_id=group.id,
        )
    for space in spaces:
        here = [s for s in seats if s.platform == space.platform]
        away = [s for s in seats if s.platform != space.platform and s.platform in on]
        locale = content.t.resolve(group.language or (here[0].officer.locale if here else None))
        bridged = bridged_lines(content.t, locale, "groups.life.space_bridged", away)
        text = (
            content.t(
                locale,
                "groups.intro.space",
                scheme=content.taxonomy.label("instruments", group.scheme, locale),
                members=_roster(content, locale, seats),
                reasons="\n".join(
                    f"• {r}"
                    for r in render_reasons(content.t, content.taxonomy, locale, group.reasons)[:3]
                ),
            )
            + bridged
        )
        await uow.outbox.enqueue(
            f"group:{group.id}:space:{space.platform}",
            space.platform,
            str(space.chat_id),
            payload(text),
            thread_id=space.thread_id or None,
            purpose="group_intro",
            ref_id=group.id,
        )
