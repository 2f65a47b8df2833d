"""Introductions of approved pairs, accept/decline, and the relay of pair spaces across platforms.

The `introductions` job takes approved pairs. Where the officers' messenger implements the
SpaceMaker port (Slack: a private channel; Telegram: a forum topic, when the programme has a
forum), it opens one shared space per platform; the space row is reserved first
(`pair_space`), so two processes never open it twice. Everything sent goes through the outbox
with keys `pair:<id>:intro:<officer>` (private message with accept/decline) and
`pair:<id>:space:<platform>` (the introduction in the space), so a restart never introduces
twice. The pair is then `introduced`; both accepting makes it `active` (check-ins start), one
declining makes it `declined` (the mentor's slot is freed, the coordinators are told).

A pair split across platforms is bridged: `relay_pair_message` (called by the group-text
handler of handlers/bridge.py) passes what is written in a pair's space to the other
platform's space, or to the partner's private chat when that platform has no space; from a
private chat, 'Write to …' opens a flow whose messages go the other way.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any, TypedDict, cast

from handlers.core.content import Content
from handlers.core.context import Ctx
from handlers.core.events import Incoming
from handlers.core.jobs import JobCtx, job
from handlers.core.ports import Messenger
from handlers.core.replies import Choice, shorten
from handlers.core.router import router
from handlers.core.taxonomy import fold
from handlers.delivery.outbox import officer_locale, payload, preferred_identity, queue_to_officer
from handlers.delivery.relay import (
    SpaceMember,
    attachments,
    bridged_lines,
    not_to_relay,
    relay_to_all,
    source_of,
)
from handlers.faq.content import faq_index
from handlers.outcomes.mentors import learner_plan_line
from handlers.pairing.leaving import DECLINE, leave_pair
from handlers.pairing.reasons import render_reasons
from handlers.pairing.view import LIVE, notify_coordinators, partner_of, topic_label, who
from storage.models import (
    Authority,
    GoodPractice,
    Officer,
    OfficerStatus,
    Pair,
    PairSpace,
    PairStatus,
    Programme,
)
from storage.repositories.practices import APPROVED
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

SPACE_LEASE = timedelta(minutes=10)
"""A space reservation without a chat after this long belongs to a dead process: take it over."""
BATCH = 20
CHAT_FLOW = "pair_chat"


class PairChatState(TypedDict):
    """`Conversation.data` of `pair_chat`: the pair a private chat writes to."""

    pair_id: int


FAQ_LINKS = 2


def _members(pair: Pair, learner: Officer, mentor: Officer) -> list[SpaceMember]:
    return [
        SpaceMember(learner, preferred_identity(learner), "learner"),
        SpaceMember(mentor, preferred_identity(mentor), "mentor"),
    ]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")[:30] or "city"


def space_mode(programme: Programme | None) -> str:
    """'space' (shared spaces where the platform can) or 'dm' (introductions in private only)."""
    mode = str((programme.settings or {}).get("pair_space", "space")) if programme else "space"
    return mode if mode in ("space", "dm") else "space"


def space_parent(programme: Programme | None, platform: str, messenger: Messenger) -> str | None:
    """Where a platform's pair spaces open (Telegram: the programme's forum supergroup)."""
    if programme is not None:
        chosen = (programme.settings or {}).get("pair_chats", {}).get(platform)
        if chosen:
            return str(chosen)
        if platform == "telegram" and programme.telegram_chat_id:
            return str(programme.telegram_chat_id)
    fallback = getattr(messenger, "discussion_chat_id", None)
    return str(fallback) if fallback else None


def can_open_space(messenger: Messenger | None) -> bool:
    """Whether a messenger implements the SpaceMaker port and may use it here."""
    if messenger is None or not hasattr(messenger, "create_space"):
        return False
    caps = messenger.capabilities
    return bool(caps.topics or caps.create_channel)


# -- the job ---------------------------------------------------------------------------------


@job("introductions")
async def introduce_pairs(core: JobCtx, messengers: dict[str, Messenger]) -> int:
    """Introduce approved pairs (spaces where possible, private messages always)."""
    async with core.uow() as uow:
        ids = [p.id for p in await uow.pairs.approved(BATCH)]
    done = 0
    for pair_id in ids:
        try:
            done += await introduce(core, messengers, pair_id)
        except Exception:
            log.exception(
                "pair %s: introduction failed; it is tried again at the next tick", pair_id
            )
    return done


async def introduce(core: JobCtx, messengers: dict[str, Messenger], pair_id: int) -> int:
    """Introduce one approved pair; 1 when it is now introduced, 0 when not (yet)."""
    now = core.clock.now()
    async with core.uow() as uow:
        pair = await uow.pairs.get(pair_id)
        if pair is None or pair.status != PairStatus.APPROVED:
            return 0
        learner, mentor, programme = await _load(uow, pair)
        content = core.content.for_programme(programme.slug if programme else None)
        if learner is None or mentor is None or not _reachable(learner, mentor):
            await _cancel_unavailable(uow, content, core.secret, pair, learner, mentor)
            await uow.commit()
            return 0
        members = _members(pair, learner, mentor)
        wanted = _wanted_spaces(programme, members, messengers)
        spaces = uow.spaces
        existing = {s.platform: s for s in await spaces.of_pair(pair.id)}
        to_open = []
        for platform in wanted:
            if platform in existing and existing[platform].chat_id:
                continue
            if not await spaces.reserve(pair.id, platform, now, SPACE_LEASE):
                return 0  # another process is opening it: try again at the next tick
            to_open.append(platform)
        await uow.commit()
        titles = {p: _space_title(content, learner, mentor, pair, messengers[p]) for p in to_open}
        parents = {p: space_parent(programme, p, messengers[p]) for p in to_open}
        users = {
            p: [m.identity.user_id for m in members if m.platform == p and m.identity]
            for p in to_open
        }
    for platform in to_open:
        await _open_space(
            core,
            messengers[platform],
            pair_id,
            platform,
            titles[platform],
            users[platform],
            parents[platform],
        )
    async with core.uow() as uow:
        pair = await uow.pairs.get(pair_id)
        if pair is None or pair.status != PairStatus.APPROVED:
            return 0
        learner, mentor, programme = await _load(uow, pair)
        if learner is None or mentor is None:
            return 0
        content = core.content.for_programme(programme.slug if programme else None)
        opened = [s for s in await uow.spaces.of_pair(pair.id) if s.chat_id]
        pair.threads = {
            s.platform: {"chat_id": s.chat_id, "thread_id": s.thread_id or None} for s in opened
        }
        await _queue_introductions(
            uow, content, core.secret, pair, _members(pair, learner, mentor), opened
        )
        moved = await uow.pairs.move(
            pair.id, [PairStatus.APPROVED], PairStatus.INTRODUCED, introduced_at=now, updated_at=now
        )
        await uow.commit()
    return int(moved)


async def _load(
    uow: UnitOfWork, pair: Pair
) -> tuple[Officer | None, Officer | None, Programme | None]:
    learner = await uow.officers.get(pair.learner_id) if pair.learner_id else None
    mentor = await uow.officers.get(pair.mentor_id) if pair.mentor_id else None
    programme = await uow.programmes.get(pair.programme_id) if pair.programme_id else None
    return learner, mentor, programme


def _reachable(*officers: Officer) -> bool:
    return all(o.status == OfficerStatus.ACTIVE for o in officers)


def _wanted_spaces(
    programme: Programme | None, members: list[SpaceMember], messengers: dict[str, Messenger]
) -> list[str]:
    if space_mode(programme) != "space":
        return []
    platforms = sorted({m.platform for m in members if m.platform})
    wanted = []
    for platform in platforms:
        messenger = messengers.get(platform)
        if not can_open_space(messenger):
            continue
        assert messenger is not None
        if messenger.capabilities.topics and space_parent(programme, platform, messenger) is None:
            continue
        wanted.append(platform)
    return wanted


def _space_title(
    content: Content, learner: Officer, mentor: Officer, pair: Pair, messenger: Messenger
) -> str:
    l_city = learner.authority.name if learner.authority else learner.name
    m_city = mentor.authority.name if mentor.authority else mentor.name
    if messenger.capabilities.topics:
        return content.t(
            "en",
            "intro.space_title",
            learner_city=l_city,
            mentor_city=m_city,
            topic=topic_label(content, "en", pair.topic),
        )[:128]
    return f"peer-{_slug(l_city)}-{_slug(m_city)}"[:80]


async def _open_space(
    core: JobCtx,
    messenger: Messenger,
    pair_id: int,
    platform: str,
    title: str,
    user_ids: list[str],
    parent: str | None,
) -> None:
    """Create the space and record it at once (a crash after this never creates it again)."""
    try:
        chat, thread = await messenger.create_space(title, user_ids, parent_chat_id=parent)  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - fall back to private introductions
        log.warning(
            "pair %s: no %s space (%s); introducing in private chats", pair_id, platform, exc
        )
        async with core.uow() as uow:
            await uow.spaces.release(pair_id, platform)
            await uow.commit()
        return
    async with core.uow() as uow:
        await uow.spaces.record(pair_id, platform, str(chat), str(thread) if thread else None)
        await uow.commit()


async def _cancel_unavailable(
    uow: UnitOfWork,
    content: Content,
    secret: bytes,
    pair: Pair,
    learner: Officer | None,
    mentor: Officer | None,
) -> None:
    """An officer left or paused before the introduction: close the pair, tell coordinators."""
    now_reason = "unavailable"
    await uow.pairs.move(pair.id, [PairStatus.APPROVED], PairStatus.CLOSED, close_reason=now_reason)
    await notify_coordinators(
        uow,
        content,
        secret,
        pair.programme_id,
        "intro.unavailable",
        idempotency=f"pair:{pair.id}:unavailable",
        values={"id": pair.id, "learner": who(learner), "mentor": who(mentor)},
        ref_id=pair.id,
    )


def icebreakers(content: Content, locale: str, topic: str) -> str:
    """Three questions to start the conversation, tied to the topic."""
    key = f"intro.icebreakers.{topic}"
    return content.t(locale, key if content.t.has(key) else "intro.icebreakers.default")


def faq_links(content: Content, topic: str, locale: str | None = None) -> list[tuple[str, str]]:
    """(entry id, question in the reader's language when translated) of FAQ entries on the topic."""
    found = []
    for entry in faq_index(content).entries:
        if topic in entry.instruments and len(f"faq:show:{entry.id}") <= 53:
            found.append((entry.id, entry.text_for(locale)[0]))
    return found[:FAQ_LINKS]


async def mentor_practice(uow: UnitOfWork, pair: Pair) -> GoodPractice | None:
    """The mentor's approved practice on the pair's topic, most recent first."""
    if pair.mentor_id is None:
        return None
    practices = await uow.practices.list(status=APPROVED, officer_ids=[pair.mentor_id])
    found = sorted(
        (p for p in practices if pair.topic in p.instruments), key=lambda p: -(p.year or 0)
    )
    return found[0] if found else None


def _contact(content: Content, locale: str, member: SpaceMember) -> str:
    officer, identity = member.officer, member.identity
    parts = [officer.email] if officer.email else []
    if identity is not None and identity.platform in ("telegram", "slack"):
        parts.append(
            content.t(locale, f"intro.handle_{identity.platform}", user_id=identity.user_id)
        )
    return ", ".join(parts) or "—"


def topic_link(space: PairSpace) -> str | None:
    """The t.me link of a pair's Telegram forum topic (it opens for the group's members)."""
    chat = str(space.chat_id or "")
    if space.platform != "telegram" or not space.thread_id or not chat.startswith("-100"):
        return None
    return f"https://t.me/c/{chat[4:]}/{space.thread_id}"


async def _queue_introductions(
    uow: UnitOfWork,
    content: Content,
    secret: bytes,
    pair: Pair,
    members: list[SpaceMember],
    spaces: list[PairSpace],
) -> None:
    practice = await mentor_practice(uow, pair)
    on = {s.platform for s in spaces}
    learner, mentor = members[0], members[1]
    learner_authority = learner.officer.authority
    for me in members:
        other = mentor if me is learner else learner
        if me.identity is None or me.identity.dm_chat_id is None:
            await notify_coordinators(
                uow,
                content,
                secret,
                pair.programme_id,
                "intro.unreachable",
                idempotency=f"pair:{pair.id}:unreachable:{me.officer.id}",
                values={"id": pair.id, "who": who(me.officer), "email": me.officer.email or "—"},
                ref_id=pair.id,
            )
            continue
        locale = officer_locale(me.officer, content, me.identity)
        topic = topic_label(content, locale, pair.topic)
        if me.platform in on:
            link = topic_link(next(s for s in spaces if s.platform == me.platform))
            if link:  # a bot cannot add anyone to a Telegram group: say where and how
                where = content.t(locale, "intro.where_topic", link=link)
            else:
                where = content.t(locale, "intro.where_space")
            if other.platform != me.platform:
                where += "\n" + content.t(
                    locale,
                    "intro.where_bridged",
                    partner=other.officer.name,
                    platform=str(other.platform).capitalize(),
                )
        elif other.platform in on and other.platform != me.platform:
            where = content.t(locale, "intro.where_write", partner=other.officer.name)
        else:
            where = content.t(
                locale,
                "intro.where_dm",
                partner=other.officer.name,
                contact=_contact(content, locale, other),
            )
        choices = [
            Choice(f"pair:ok:{pair.id}", content.t(locale, "intro.accept")),
            Choice(f"pair:no:{pair.id}", content.t(locale, "intro.decline")),
        ]
        if me.platform not in on:
            choices.append(
                Choice(
                    f"pmsg:{pair.id}",
                    content.t(locale, "pairs.write_to", name=other.officer.name)[:60],
                )
            )
        choices += [
            Choice(
                f"faq:show:{entry}",
                content.t(locale, "intro.faq_link", question=shorten(question, 40)),
            )
            for entry, question in faq_links(content, pair.topic, locale)
        ]
        await queue_to_officer(
            uow,
            content,
            secret,
            me.officer,
            "intro.private",
            idempotency_key=f"pair:{pair.id}:intro:{me.officer.id}",
            values={
                "name": me.officer.name,
                "partner": who(other.officer),
                "partner_role": other.officer.job_title or "—",
                "topic": topic,
                "role": content.t(locale, f"intro.you_are_{me.role}"),
                "reasons": _bullets(
                    render_reasons(content.t, content.taxonomy, locale, pair.reasons)
                ),
                "questions": icebreakers(content, locale, pair.topic),
                "where": where,
                "practice": _practice_line(content, locale, practice)
                + (
                    await _plan_line(uow, content, locale, learner_authority)
                    if me is mentor
                    else ""
                ),
            },
            choices=choices,
            purpose="intro",
            ref_id=pair.id,
        )
    for space in spaces:
        here = [m for m in members if m.platform == space.platform]
        away = [m for m in members if m.platform != space.platform]
        locale = content.t.resolve(here[0].officer.locale if here else None)
        bridged = bridged_lines(content.t, locale, "intro.space_bridged", away)
        text = (
            content.t(
                locale,
                "intro.space",
                learner=who(learner.officer),
                mentor=who(mentor.officer),
                topic=topic_label(content, locale, pair.topic),
                reasons=_bullets(render_reasons(content.t, content.taxonomy, locale, pair.reasons)),
                questions=icebreakers(content, locale, pair.topic),
                practice=_practice_line(content, locale, practice)
                + await _plan_line(uow, content, locale, learner_authority),
            )
            + bridged
        )
        await uow.outbox.enqueue(
            f"pair:{pair.id}:space:{space.platform}",
            space.platform,
            str(space.chat_id),
            payload(text),
            thread_id=space.thread_id or None,
            purpose="intro",
            ref_id=pair.id,
        )


async def _plan_line(
    uow: UnitOfWork, content: Content, locale: str, authority: Authority | None
) -> str:
    """The learner authority's learning plan, for the mentor (and the pair's shared space)."""
    if authority is None:
        return ""
    return await learner_plan_line(uow, content, locale, authority.id, authority.name)


def _bullets(lines: list[Any]) -> str:
    return "\n".join(f"• {line}" for line in lines)


def _practice_line(content: Content, locale: str, practice: GoodPractice | None) -> str:
    if practice is None:
        return ""
    return content.t(
        locale,
        "intro.practice",
        title=practice.title,
        year=practice.year or "—",
        summary=(practice.summary or "")[:300],
    )


# -- accept and decline ----------------------------------------------------------------------


@router.choice("pair")
async def press_pair(event: Incoming, ctx: Ctx) -> None:
    """An officer accepts or declines an introduction (the pair's row locked: one at a time)."""
    _, action, arg = ((event.choice or "") + "::").split(":", 2)
    arg = arg.rstrip(":")
    pair = await ctx.uow.pairs.lock(int(arg)) if arg.isdigit() else None
    me = ctx.officer
    if pair is None or me is None or me.id not in (pair.learner_id, pair.mentor_id):
        await ctx.reply("errors.expired_choice")
        return
    other_id = partner_of(pair, me.id)
    other = await ctx.uow.officers.get(other_id) if other_id else None
    name = other.name if other else "—"
    if pair.status in (PairStatus.CLOSED, PairStatus.DECLINED):
        await ctx.reply("intro.already_ended", partner=name)
    elif action == "ok":
        await accept(ctx, pair, me, other)
    elif action == "no" and pair.status == PairStatus.INTRODUCED:
        await ctx.reply(
            "intro.decline_sure",
            partner=name,
            choices=[
                Choice(f"pair:nox:{pair.id}", ctx.t("intro.decline_yes")),
                Choice(f"pair:keep:{pair.id}", ctx.t("intro.decline_keep")),
            ],
        )
    elif action == "nox" and pair.status == PairStatus.INTRODUCED:
        await leave_pair(ctx, pair, me, other, DECLINE)
    elif action == "keep":
        await ctx.reply("intro.kept", partner=name)
    else:
        await ctx.reply("intro.too_late", partner=name)


async def accept(ctx: Ctx, pair: Pair, me: Officer, other: Officer | None) -> None:
    """Record one side's acceptance; both make the pair active and schedule check-ins."""
    now = ctx.clock.now()
    name = other.name if other else "—"
    if pair.status == PairStatus.ACTIVE:
        await ctx.reply("intro.accepted_active", partner=name)
        return
    if pair.learner_id == me.id:
        pair.learner_accepted_at = pair.learner_accepted_at or now
    else:
        pair.mentor_accepted_at = pair.mentor_accepted_at or now
    await ctx.uow.flush()
    if pair.learner_accepted_at is None or pair.mentor_accepted_at is None:
        await ctx.reply("intro.accepted_waiting", partner=name)
        return
    days = ctx.programme.checkin_days if ctx.programme else 14
    if pair.programme_id and (ctx.programme is None or ctx.programme.id != pair.programme_id):
        programme = await ctx.uow.programmes.get(pair.programme_id)
        days = programme.checkin_days if programme else days
    first = now + timedelta(days=days)
    moved = await ctx.uow.pairs.move(
        pair.id,
        [PairStatus.INTRODUCED],
        PairStatus.ACTIVE,
        activated_at=now,
        next_checkin_at=first,
        updated_at=now,
    )
    if not moved:
        await ctx.reply("intro.accepted_active", partner=name)
        return
    await ctx.reply("intro.active", partner=name, days=days)
    if other is not None:
        await ctx.notify(
            other,
            "intro.active",
            idempotency_key=f"pair:{pair.id}:active:{other.id}",
            values={"partner": me.name, "days": days},
            purpose="pair",
            ref_id=pair.id,
        )


# -- the bridge ------------------------------------------------------------------------------


async def relay_pair_message(event: Incoming, ctx: Ctx) -> bool:
    """Relay text written in a pair's space to the other platform; True if it was a pair space.

    The bot's own relays (recognised by their platform message id) are never relayed back.
    """
    if event.chat_kind == "dm":
        return False
    space = await ctx.uow.spaces.at(event.platform, event.chat_id, event.thread_id)
    if space is None:
        return False
    if await not_to_relay(event, ctx):
        return True
    pair = await ctx.uow.pairs.get(space.pair_id)
    links = attachments(event)
    if pair is None or pair.status not in LIVE or not (event.text.strip() or links):
        return True
    await relay(ctx, pair, event.text.strip(), links, source_of(event), from_space=event.platform)
    return True


async def relay(
    ctx: Ctx,
    pair: Pair,
    text: str,
    links: list[str],
    source: str,
    from_space: str | None,
) -> int:
    """Queue a pair member's message to wherever the rest of the pair reads; returns targets.

    From a space on platform P: every space on another platform, and the private chat of each
    member (not the author) whose platform has no space. From a private chat: every space, and
    the partner's private chat when their platform has no space.
    """
    members = [
        officer
        for officer_id in (pair.learner_id, pair.mentor_id)
        if officer_id is not None and (officer := await ctx.uow.officers.get(officer_id))
    ]
    return await relay_to_all(
        ctx,
        "pair",
        pair.id,
        await ctx.uow.spaces.of_pair(pair.id),
        members,
        text,
        links,
        source=source,
        from_space=from_space,
        reply=(f"pmsg:{pair.id}", "pairs.reply"),
    )


@router.choice("pmsg")
async def press_write(event: Incoming, ctx: Ctx) -> None:
    """'Write to …': the caller's next messages in this private chat go to their partner."""
    arg = (event.choice or "").partition(":")[2]
    pair = await ctx.uow.pairs.get(int(arg)) if arg.isdigit() else None
    me = ctx.officer
    if pair is None or me is None or me.id not in (pair.learner_id, pair.mentor_id):
        await ctx.reply("errors.expired_choice")
        return
    if pair.status not in LIVE:
        await ctx.reply("intro.already_ended", partner="—")
        return
    other_id = partner_of(pair, me.id)
    other = await ctx.uow.officers.get(other_id) if other_id else None
    chat: PairChatState = {"pair_id": pair.id}
    await ctx.set_state(CHAT_FLOW, "text", chat)
    await ctx.reply("pairs.chat_open", partner=other.name if other else "—")


@router.flow(CHAT_FLOW)
async def write_to_partner(event: Incoming, ctx: Ctx) -> None:
    """Pass a message from a private chat to the partner (until /cancel)."""
    state = await ctx.state()
    pair_id = int(cast(PairChatState, state.data).get("pair_id", 0)) if state else 0
    pair = await ctx.uow.pairs.get(pair_id)
    if pair is None or pair.status not in LIVE or ctx.officer is None:
        await ctx.clear_state()
        await ctx.reply("intro.already_ended", partner="—")
        return
    text, links = event.text.strip(), attachments(event)
    if not (text or links):
        return
    queued = await relay(ctx, pair, text, links, source_of(event), from_space=None)
    other_id = partner_of(pair, ctx.officer.id)
    other = await ctx.uow.officers.get(other_id) if other_id else None
    await ctx.reply(
        "pairs.chat_sent" if queued else "pairs.chat_unreachable",
        partner=other.name if other else "—",
    )
