"""Peer discussions: `/discuss <topic>` opens a thread in the programme's Slack channel and a
topic in its Telegram forum, bridged both ways (handlers/bridge.py); `/discussions` lists,
searches and follows them; followers get a daily digest; coordinators close, pin, and turn a
good reply into an FAQ draft.

Where a discussion opens on a platform: the programme's space for it (`slack_channel_id`,
`telegram_chat_id`, or `settings["discussion_chats"][platform]`), else the messenger's own
`discussion_chat_id` attribute (the adapter's SLACK_CHANNEL_ID / TELEGRAM_FORUM_CHAT_ID). On a
platform whose threads are forum topics (`capabilities.topics`, and Telegram always) the topic
is created through the SpaceMaker port; elsewhere (Slack) a root message is posted and its id is
the thread.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, TypedDict, cast

from handlers.core.content import Content
from handlers.core.context import Ctx
from handlers.core.events import Incoming
from handlers.core.jobs import JobCtx, job
from handlers.core.ports import DeliveryError, Messenger
from handlers.core.replies import Choice, Reply
from handlers.core.router import router
from handlers.core.taxonomy import fold
from handlers.delivery.outbox import BULK, payload, queue_to_officer
from storage.models import Discussion, FaqQuery, Officer, Programme
from storage.repositories.discussions import CLOSED, OPEN
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

MAX_TOPIC = 200
LIST_SIZE = 8
RETRY_SPACE = timedelta(minutes=10)
DIGEST_EVERY = timedelta(days=1)
FAQ_FLOW = "discussion_faq"


class FaqQuestionState(TypedDict):
    """`Conversation.data` of `discussion_faq`: the reply that answers the question asked for."""

    message_id: int


def author_line(officer: Officer | None, fallback: str) -> tuple[str, str]:
    """A person's name and authority as shown to peers."""
    if officer is None:
        return fallback, ""
    return officer.name, officer.authority.name if officer.authority else ""


def said(content: Content, locale: str, name: str, authority: str, text: str) -> str:
    """`Name (Authority): text` as relayed or quoted."""
    key = "discussions.relay" if authority else "discussions.relay_no_authority"
    return content.t(locale, key, name=name, authority=authority, text=text)


TOPIC_PLATFORMS = frozenset({"telegram"})
"""Platforms whose threads are forum topics to create (elsewhere a reply starts a thread)."""


def space_kind(platform: str, messenger: Messenger) -> str | None:
    """`topic` (create one, SpaceMaker), `thread` (a root message's replies) or None."""
    caps = messenger.capabilities
    if caps.topics or platform in TOPIC_PLATFORMS:
        return "topic"
    return "thread" if caps.threads else None


def space_for(programme: Programme | None, platform: str, messenger: Messenger) -> str | None:
    """Where discussions of a programme open on a platform (None: not configured)."""
    if programme is not None:
        chosen = (programme.settings or {}).get("discussion_chats", {}).get(platform)
        if chosen:
            return str(chosen)
        if platform == "slack" and programme.slack_channel_id:
            return programme.slack_channel_id
        if platform == "telegram" and programme.telegram_chat_id:
            return str(programme.telegram_chat_id)
    fallback = getattr(messenger, "discussion_chat_id", None)
    return str(fallback) if fallback else None


async def open_spaces(
    uow: UnitOfWork,
    content: Content,
    discussion: Discussion,
    messengers: dict[str, Messenger],
    now: datetime,
    opener: str,
) -> list[str]:
    """Create the discussion's thread or topic on each platform that lacks one; returns them."""
    repo = uow.discussions
    have = {t.platform for t in await repo.threads(discussion.id)}
    programme = (
        await uow.programmes.get(discussion.programme_id) if discussion.programme_id else None
    )
    opened = []
    notes = dict(discussion.threads or {})
    for platform, messenger in messengers.items():
        kind = space_kind(platform, messenger)
        target = space_for(programme, platform, messenger)
        if platform in have or target is None or kind is None:
            continue
        tried = notes.get(platform, {}).get("failed_at")
        if tried and datetime.fromisoformat(tried) > now - RETRY_SPACE:
            continue
        try:
            if kind == "topic":
                if not hasattr(messenger, "create_space"):
                    raise DeliveryError("the messenger cannot open forum topics (SpaceMaker)")
                chat, thread = await messenger.create_space(
                    discussion.topic[:128], [], parent_chat_id=target
                )
                if thread is None:
                    raise DeliveryError("the platform gave no topic id")
                await uow.outbox.enqueue(
                    f"disc-open:{discussion.id}:{platform}",
                    platform,
                    chat,
                    payload(opener),
                    thread_id=thread,
                    purpose="relay",
                    ref_id=discussion.id,
                )
            else:
                chat = target
                thread = await messenger.send(target, Reply(text=opener))
                if thread is None:
                    raise DeliveryError("the platform gave no message id")
        except Exception as exc:  # noqa: BLE001 - any failure is retried later by the job
            log.warning("discussion %s: no %s space yet: %s", discussion.id, platform, exc)
            notes[platform] = {"failed_at": now.isoformat(), "error": str(exc)[:200]}
            continue
        await repo.add_thread(discussion.id, platform, str(chat), str(thread))
        notes[platform] = {"chat_id": str(chat), "thread_id": str(thread)}
        opened.append(platform)
    discussion.threads = notes
    return opened


def opener_text(ctx_content: Content, locale: str, discussion: Discussion, officer: Officer) -> str:
    name, authority = author_line(officer, officer.name)
    return ctx_content.t(
        locale,
        "discussions.opening",
        id=discussion.id,
        topic=discussion.topic,
        who=said(ctx_content, locale, name, authority, "").rstrip(": "),
    )


@router.command("discuss", member=True, group=True)
async def open_discussion(event: Incoming, ctx: Ctx) -> None:
    """Open a discussion on a topic, on every platform of the programme."""
    assert ctx.officer is not None
    topic = " ".join(event.args.split())[:MAX_TOPIC]
    if len(topic) < 3:
        await ctx.reply("discussions.ask_topic")
        return
    now = ctx.clock.now()
    repo = ctx.uow.discussions
    discussion = await repo.add(
        Discussion(
            programme_id=ctx.officer.programme_id,
            topic=topic,
            creator_id=ctx.officer.id,
            status=OPEN,
            last_activity_at=now,
            created_at=now,
        )
    )
    await repo.follow(discussion.id, ctx.officer.id, now)
    opener = opener_text(ctx.content, ctx.locale, discussion, ctx.officer)
    here = {ctx.messenger.platform: ctx.messenger}
    opened = await open_spaces(ctx.uow, ctx.content, discussion, here, now, opener)
    await ctx.reply(
        "discussions.opened" if opened else "discussions.opened_later",
        id=discussion.id,
        topic=topic,
    )


@job("discussion_spaces")
async def open_missing_spaces(core: JobCtx, messengers: dict[str, Messenger]) -> int:
    """Open recent discussions on the platforms where they do not exist yet.

    Each discussion is locked while its spaces are made, so two bot processes never open two
    forum topics for one discussion.
    """
    now = core.clock.now()
    async with core.uow() as uow:
        ids = [d.id for d in await uow.discussions.recent_open(now - timedelta(days=7))]
    opened = 0
    for discussion_id in ids:
        async with core.uow() as uow:
            discussion = await uow.discussions.locked(discussion_id)
            creator = (
                await uow.officers.get(discussion.creator_id)
                if discussion is not None and discussion.creator_id
                else None
            )
            if discussion is None or creator is None:
                continue
            programme = (
                await uow.programmes.get(discussion.programme_id)
                if discussion.programme_id
                else None
            )
            content = core.content.for_programme(programme.slug if programme else None)
            locale = content.t.resolve(
                programme.languages[0] if programme and programme.languages else None
            )
            opener = opener_text(content, locale, discussion, creator)
            opened += len(await open_spaces(uow, content, discussion, messengers, now, opener))
            await uow.commit()
    return opened


# -- listing, following, searching ---------------------------------------------------------


@router.command("discussions", member=True, group=True)
async def list_discussions(event: Incoming, ctx: Ctx) -> None:
    """List open discussions (`/discussions`), show one (`/discussions 3`) or search them."""
    assert ctx.officer is not None
    args = event.args.strip().lstrip("#")
    if args.isdigit():
        await show(ctx, int(args))
        return
    scope = await ctx.uow.officers.programme_ids(ctx.officer)
    repo = ctx.uow.discussions
    if args:
        await search(ctx, args, scope)
        return
    found = await repo.listing(scope, limit=LIST_SIZE * 2)
    if not found:
        await ctx.reply("discussions.none")
        return
    now = ctx.clock.now()
    lines = "\n".join(
        ctx.t(
            "discussions.line",
            pin="📌 " if d.pinned else "",
            id=d.id,
            topic=d.topic,
            replies=d.reply_count,
            ago=ago(ctx, now, d.last_activity_at),
        )
        for d in found
    )
    choices = [Choice(f"disc:show:{d.id}", f"#{d.id} {d.topic[:40]}") for d in found[:LIST_SIZE]]
    await ctx.reply("discussions.list", lines=lines, choices=choices)


def ago(ctx: Ctx, now: datetime, then: datetime) -> str:
    """`5 min`, `3 h`, `2 days` ago."""
    minutes = max(0, int((now - then).total_seconds() // 60))
    if minutes < 60:
        return ctx.t("discussions.ago_minutes", n=minutes)
    if minutes < 48 * 60:
        return ctx.t("discussions.ago_hours", n=minutes // 60)
    return ctx.t("discussions.ago_days", n=minutes // (24 * 60))


async def show(ctx: Ctx, discussion_id: int) -> None:
    """One discussion: where it is, its latest replies, follow and (coordinators) manage."""
    assert ctx.officer is not None
    repo = ctx.uow.discussions
    discussion = await repo.get(discussion_id)
    scope = await ctx.uow.officers.programme_ids(ctx.officer)
    if discussion is None or (discussion.programme_id and discussion.programme_id not in scope):
        await ctx.reply("discussions.not_found", id=discussion_id)
        return
    latest = await repo.messages(discussion.id, limit=3)
    quotes = "\n".join(
        said(ctx.content, ctx.locale, *author_line(o, "?"), " ".join(m.text.split())[:200])
        for m, o in latest
    )
    following = await repo.follower(discussion.id, ctx.officer.id) is not None
    choices = [
        Choice(f"disc:unfollow:{discussion.id}", ctx.t("discussions.unfollow"))
        if following
        else Choice(f"disc:follow:{discussion.id}", ctx.t("discussions.follow"))
    ]
    if ctx.is_coordinator:
        closed = discussion.status == CLOSED
        choices += [
            Choice(
                f"discc:{'reopen' if closed else 'close'}:{discussion.id}",
                ctx.t("discussions.reopen" if closed else "discussions.close"),
            ),
            Choice(
                f"discc:{'unpin' if discussion.pinned else 'pin'}:{discussion.id}",
                ctx.t("discussions.unpin" if discussion.pinned else "discussions.pin"),
            ),
            Choice(f"discc:faq:{discussion.id}", ctx.t("discussions.faq_draft")),
        ]
    platforms = ", ".join(sorted(t.platform for t in await repo.threads(discussion.id)))
    await ctx.reply(
        "discussions.detail",
        id=discussion.id,
        topic=discussion.topic,
        status=ctx.t(f"discussions.status_{discussion.status}"),
        replies=discussion.reply_count,
        followers=await repo.followers_count(discussion.id),
        platforms=platforms or "—",
        latest=quotes or ctx.t("discussions.no_messages"),
        choices=choices,
    )


async def search(ctx: Ctx, text: str, scope: set[int]) -> None:
    """Stored messages (and topics) that contain every word."""
    words = [w for w in fold(text).split() if len(w) >= 2][:6]
    hits = await ctx.uow.discussions.search(words, scope)
    if not hits:
        await ctx.reply("discussions.search_none", words=text[:60])
        return
    lines = []
    for message, discussion in hits:
        officer = await ctx.uow.officers.get(message.officer_id) if message.officer_id else None
        quote = said(
            ctx.content, ctx.locale, *author_line(officer, "?"), _snippet(message.text, words)
        )
        lines.append(
            ctx.t("discussions.hit", id=discussion.id, topic=discussion.topic, quote=quote)
        )
    seen: list[int] = []
    for _, d in hits:
        if d.id not in seen:
            seen.append(d.id)
    choices = [Choice(f"disc:show:{i}", f"#{i}") for i in seen[:LIST_SIZE]]
    await ctx.reply("discussions.search", lines="\n".join(lines), choices=choices)


def _snippet(text: str, words: list[str], width: int = 160) -> str:
    flat = " ".join(text.split())
    at = min((fold(flat).find(w) for w in words if fold(flat).find(w) >= 0), default=0)
    start = max(0, at - width // 3)
    return (
        ("…" if start else "")
        + flat[start : start + width]
        + ("…" if start + width < len(flat) else "")
    )


@router.choice("disc")
async def press_discussion(event: Incoming, ctx: Ctx) -> None:
    """Show, follow or unfollow a discussion."""
    _, action, arg = ((event.choice or "") + "::").split(":", 2)
    arg = arg.rstrip(":")
    if ctx.officer is None or not arg.isdigit():
        await ctx.reply("errors.join_first" if ctx.officer is None else "errors.expired_choice")
        return
    repo = ctx.uow.discussions
    discussion = await repo.get(int(arg))
    if discussion is None:
        await ctx.reply("errors.expired_choice")
        return
    if action == "follow":
        await repo.follow(discussion.id, ctx.officer.id, ctx.clock.now())
        await ctx.reply("discussions.followed", id=discussion.id, topic=discussion.topic)
    elif action == "unfollow":
        await repo.unfollow(discussion.id, ctx.officer.id)
        await ctx.reply("discussions.unfollowed", id=discussion.id, topic=discussion.topic)
    else:
        await show(ctx, discussion.id)


# -- coordinators --------------------------------------------------------------------------


@router.choice("discc", coordinator=True)
async def manage_discussion(event: Incoming, ctx: Ctx) -> None:
    """Close, reopen, pin or unpin a discussion, or start an FAQ draft from one of its replies."""
    _, action, arg = ((event.choice or "") + "::").split(":", 2)
    arg = arg.rstrip(":")
    repo = ctx.uow.discussions
    if action in ("faqm", "faqt"):
        await _faq_pick(ctx, action, int(arg) if arg.isdigit() else 0)
        return
    discussion = await repo.get(int(arg)) if arg.isdigit() else None
    if discussion is None:
        await ctx.reply("errors.expired_choice")
        return
    if action in ("close", "reopen"):
        discussion.status = CLOSED if action == "close" else OPEN
        key = "discussions.closed_note" if action == "close" else "discussions.reopened_note"
        for thread in await repo.threads(discussion.id):
            await ctx.uow.outbox.enqueue(
                f"disc-{action}:{discussion.id}:{thread.id}:{ctx.clock.now().isoformat()}",
                thread.platform,
                thread.chat_id,
                payload(ctx.content.t(ctx.locale, key, topic=discussion.topic)),
                thread_id=thread.thread_id,
                purpose="relay",
                ref_id=discussion.id,
            )
        done = "discussions.closed" if action == "close" else "discussions.reopened"
        await ctx.reply(done, id=discussion.id, topic=discussion.topic)
    elif action in ("pin", "unpin"):
        discussion.pinned = action == "pin"
        await ctx.reply(f"discussions.{action}ned", id=discussion.id, topic=discussion.topic)
    elif action == "faq":
        latest = await repo.messages(discussion.id, limit=6)
        if not latest:
            await ctx.reply("discussions.faq_nothing", id=discussion.id)
            return
        lines = "\n".join(
            f"{m.id}. " + said(ctx.content, ctx.locale, *author_line(o, "?"), m.text[:200])
            for m, o in latest
        )
        choices = [Choice(f"discc:faqm:{m.id}", f"{m.id}") for m, _ in latest]
        await ctx.reply("discussions.faq_pick", lines=lines, choices=choices)
    else:
        await ctx.reply("errors.expired_choice")


async def _faq_pick(ctx: Ctx, action: str, message_id: int) -> None:
    message = await ctx.uow.discussions.message(message_id)
    discussion = await ctx.uow.discussions.get(message.discussion_id) if message else None
    if message is None or discussion is None:
        await ctx.reply("errors.expired_choice")
        return
    if action == "faqt":
        await _faq_store(ctx, discussion.topic, message_id)
        return
    asking: FaqQuestionState = {"message_id": message_id}
    await ctx.set_state(FAQ_FLOW, "question", asking)
    await ctx.reply(
        "discussions.faq_question",
        topic=discussion.topic,
        choices=[Choice(f"discc:faqt:{message_id}", ctx.t("discussions.faq_use_topic"))],
    )


@router.flow(FAQ_FLOW)
async def take_faq_question(event: Incoming, ctx: Ctx) -> None:
    """The question a discussion reply answers, for the FAQ draft."""
    state = await ctx.state()
    await ctx.clear_state()
    if state is None or not ctx.is_coordinator:
        return
    asking = cast(FaqQuestionState, state.data)
    question = " ".join(event.text.split())
    if len(question) < 5:
        await ctx.reply("discussions.faq_question_short")
        await ctx.set_state(FAQ_FLOW, "question", asking)
        return
    await _faq_store(ctx, question, int(asking.get("message_id", 0)))


async def _faq_store(ctx: Ctx, question: str, message_id: int) -> None:
    """An answered FaqQuery from a reply: `peerbot faq promote ID` writes the YAML draft."""
    message = await ctx.uow.discussions.message(message_id)
    if message is None:
        await ctx.reply("errors.expired_choice")
        return
    query = FaqQuery(
        officer_id=None,
        identity_id=ctx.identity.id,
        text=question[:1000],
        lang=ctx.locale,
        outcome="discussion",
        answer_text=message.text[:4000],
        answered_by_id=ctx.officer.id if ctx.officer else None,
        answered_at=ctx.clock.now(),
        created_at=ctx.clock.now(),
    )
    ctx.uow.add(query)
    await ctx.uow.flush()
    await ctx.reply("discussions.faq_stored", id=query.id)


# -- the daily digest ----------------------------------------------------------------------


@job("discussion_digest")
async def send_digests(core: JobCtx, messengers: dict[str, Messenger]) -> int:
    """Once a day per follower: the new replies of the discussions they follow, in one message."""
    now = core.clock.now()
    sent = 0
    async with core.uow() as uow:
        repo = uow.discussions
        due: dict[int, list[Any]] = {}
        for follow in await repo.digest_due(now - DIGEST_EVERY):
            due.setdefault(follow.officer_id, []).append(follow)
        for officer_id, follows in due.items():
            officer = await uow.officers.get(officer_id)
            if officer is None:
                continue
            content = await core.content.of_programme(uow, officer.programme_id)
            locale = content.t.resolve(officer.locale)
            blocks = []
            for follow in follows:
                discussion = await repo.get(follow.discussion_id)
                if discussion is None:
                    continue
                new = [
                    (m, o)
                    for m, o in await repo.messages(discussion.id, since=follow.digest_sent_at)
                    if m.officer_id != officer_id
                ]
                if not new:
                    continue
                quotes = "\n".join(
                    "  "
                    + said(content, locale, *author_line(o, "?"), " ".join(m.text.split())[:160])
                    for m, o in new[-3:]
                )
                blocks.append(
                    content.t(
                        locale,
                        "discussions.digest_block",
                        id=discussion.id,
                        topic=discussion.topic,
                        count=len(new),
                        quotes=quotes,
                    )
                )
            if not blocks:
                continue
            queued = await queue_to_officer(
                uow,
                content,
                core.secret,
                officer,
                "discussions.digest",
                idempotency_key=f"digest:{officer_id}:{now.date().isoformat()}",
                values={"blocks": "\n\n".join(blocks)},
                purpose="digest",
                priority=BULK,
            )
            for follow in follows:
                follow.digest_sent_at = now
            sent += int(queued)
        await uow.commit()
    return sent
