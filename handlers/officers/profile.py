"""An officer's own data: show and edit the profile, language, export, forget, link accounts."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update

from handlers.core.context import Ctx
from handlers.core.events import Incoming
from handlers.core.replies import Choice
from handlers.core.router import router
from handlers.core.taxonomy import country_name, language_name
from handlers.onboarding import flow as onboarding
from handlers.pairing.checkins import erase_officer_answers, officer_answers
from storage.models import (
    Announcement,
    Authority,
    Conversation,
    Discussion,
    DiscussionFollower,
    DiscussionMessage,
    FaqQuery,
    GoodPractice,
    Invite,
    MatchRequest,
    Membership,
    Officer,
    Outbox,
    Pair,
    PairStatus,
    PollAnswer,
    Programme,
)
from storage.repositories.invites import InviteRepo

LINK_TTL = timedelta(minutes=15)


def profile_lines(ctx: Ctx, officer: Officer) -> dict[str, Any]:
    """The profile as rendered values for the `profile.show` message."""
    tax = ctx.content.taxonomy

    def labels(group: str, codes: list[Any]) -> str:
        return ", ".join(tax.label(group, str(c), ctx.locale) for c in codes) or "—"

    authority = officer.authority
    return {
        "name": officer.name,
        "authority": (
            f"{authority.name} ({country_name(authority.country, ctx.locale)})"
            if authority
            else "—"
        ),
        "role": officer.job_title or "—",
        "languages": ", ".join(language_name(str(c), ctx.locale) for c in officer.languages) or "—",
        "timezone": officer.timezone,
        "sectors": labels("sectors", officer.sectors),
        "wants": labels("instruments", officer.wants),
        "offers": labels("instruments", officer.offers),
        "platforms": ", ".join(sorted({i.platform for i in officer.identities})) or "—",
    }


@router.command("profile", member=True)
async def show_profile(event: Incoming, ctx: Ctx) -> None:
    """Show the caller's profile with an edit choice."""
    assert ctx.officer is not None
    await ctx.reply(
        "profile.show",
        choices=[
            Choice("profile:edit", ctx.t("profile.edit")),
            Choice("profile:language", ctx.t("profile.language")),
        ],
        **profile_lines(ctx, ctx.officer),
    )


@router.choice("profile")
async def press_profile(event: Incoming, ctx: Ctx) -> None:
    """Edit the profile (the onboarding questions, consent kept) or change language."""
    action = (event.choice or "").partition(":")[2]
    if ctx.officer is None:
        await ctx.reply("errors.join_first")
        return
    if action == "language":
        await choose_language(event, ctx)
        return
    officer = ctx.officer
    data: dict[str, Any] = {
        "consent_at": (officer.consent_at or ctx.clock.now()).isoformat(),
        "name": officer.name,
        "languages": list(officer.languages),
        "sectors": list(officer.sectors),
        "wants": list(officer.wants),
        "offers": list(officer.offers),
        "timezone": officer.timezone,
    }
    await onboarding._go(ctx, data, onboarding.INDEX["name"])


@router.command("language")
async def choose_language(event: Incoming, ctx: Ctx) -> None:
    """Switch the interface language (`/language fr` or a choice)."""
    wanted = event.args.strip().lower() if event.choice is None else ""
    if wanted:
        await _set_language(ctx, wanted)
        return
    choices = [Choice(f"lang:{code}", language_name(code, code)) for code in ctx.content.t.locales]
    await ctx.reply("language.choose", choices=choices)


@router.choice("lang")
async def press_language(event: Incoming, ctx: Ctx) -> None:
    """Take the language choice."""
    await _set_language(ctx, (event.choice or "").partition(":")[2])


async def _set_language(ctx: Ctx, code: str) -> None:
    if code not in ctx.content.t.catalogues:
        await ctx.reply("language.unknown", code=code[:10], known=", ".join(ctx.content.t.locales))
        return
    if ctx.officer is not None:
        ctx.officer.locale = code
    ctx.identity.locale = code
    ctx.locale = code
    await ctx.reply("language.set", language=language_name(code, code))


async def export_data(ctx: Ctx, officer: Officer) -> dict[str, Any]:
    """Everything stored about one officer (GDPR Art. 15 and 20)."""
    session = ctx.uow.session
    pairs = (
        await session.execute(
            select(Pair).where(or_(Pair.learner_id == officer.id, Pair.mentor_id == officer.id))
        )
    ).scalars()
    queries = (
        await session.execute(select(FaqQuery).where(FaqQuery.officer_id == officer.id))
    ).scalars()
    practices = (
        await session.execute(select(GoodPractice).where(GoodPractice.officer_id == officer.id))
    ).scalars()
    authority = officer.authority
    return {
        "officer": {
            "name": officer.name,
            "email": officer.email,
            "role": officer.role.value,
            "job_title": officer.job_title,
            "authority": {"name": authority.name, "country": authority.country}
            if authority
            else None,
            "languages": officer.languages,
            "locale": officer.locale,
            "timezone": officer.timezone,
            "sectors": officer.sectors,
            "wants": officer.wants,
            "offers": officer.offers,
            "consent_at": officer.consent_at.isoformat() if officer.consent_at else None,
            "consent_source": officer.consent_source,
            "status": officer.status.value,
            "created_at": officer.created_at.isoformat(),
        },
        "identities": [
            {"platform": i.platform, "user_id": i.user_id, "display_name": i.display_name}
            for i in officer.identities
        ],
        "pairs": [
            {
                "id": p.id,
                "role": "learner" if p.learner_id == officer.id else "mentor",
                "topic": p.topic,
                "status": p.status.value,
            }
            for p in pairs
        ],
        "questions": [
            {"text": q.text, "asked_at": q.created_at.isoformat(), "outcome": q.outcome}
            for q in queries
        ],
        "good_practices": [
            {
                "title": g.title,
                "status": g.status,
                "sector": g.sector,
                "instruments": g.instruments,
                "year": g.year,
                "summary": g.summary,
                "figures": g.figures,
                "created_at": g.created_at.isoformat(),
            }
            for g in practices
        ],
        "checkin_answers": await officer_answers(ctx.uow, officer.id),
        **await _export_more(ctx, officer),
    }


async def _export_more(ctx: Ctx, officer: Officer) -> dict[str, Any]:
    """What else is tied to the officer: programmes, requests, poll answers, discussions."""
    session = ctx.uow.session
    home = await session.get(Programme, officer.programme_id) if officer.programme_id else None
    joined = (
        await session.execute(
            select(Membership, Programme)
            .join(Programme, Programme.id == Membership.programme_id)
            .where(Membership.officer_id == officer.id)
        )
    ).all()
    requests = (
        await session.execute(select(MatchRequest).where(MatchRequest.officer_id == officer.id))
    ).scalars()
    answers = (
        await session.execute(
            select(PollAnswer, Announcement)
            .join(Announcement, Announcement.id == PollAnswer.announcement_id)
            .where(PollAnswer.officer_id == officer.id)
        )
    ).all()
    messages = (
        await session.execute(
            select(DiscussionMessage, Discussion)
            .join(Discussion, Discussion.id == DiscussionMessage.discussion_id)
            .where(DiscussionMessage.officer_id == officer.id)
            .order_by(DiscussionMessage.id)
        )
    ).all()
    followed = (
        await session.execute(
            select(DiscussionFollower.discussion_id).where(
                DiscussionFollower.officer_id == officer.id
            )
        )
    ).scalars()
    return {
        "memberships": (
            [{"programme": home.slug, "role": officer.role.value, "home": True}] if home else []
        )
        + [{"programme": p.slug, "role": m.role.value, "home": False} for m, p in joined],
        "match_requests": [
            {"topic": r.topic, "status": r.status, "created_at": r.created_at.isoformat()}
            for r in requests
        ],
        "poll_answers": [
            {
                "question": (ann.poll or {}).get("question"),
                "choices": [
                    _option((ann.poll or {}).get("options", []), c) for c in answer.choices
                ],
                "text": answer.text,
                "answered_at": answer.answered_at.isoformat(),
            }
            for answer, ann in answers
        ],
        "discussion_messages": [
            {
                "discussion": d.topic,
                "platform": m.platform,
                "text": m.text,
                "written_at": m.created_at.isoformat(),
            }
            for m, d in messages
        ],
        "discussions_followed": sorted(followed),
    }


def _option(options: list[Any], index: Any) -> Any:
    """The label of a ticked option (its index when the poll no longer has it)."""
    i = int(index) if str(index).isdigit() else -1
    return options[i] if 0 <= i < len(options) else index


@router.command("export", member=True)
async def export(event: Incoming, ctx: Ctx) -> None:
    """Send the caller all data stored about them, as JSON."""
    assert ctx.officer is not None
    data = await export_data(ctx, ctx.officer)
    await ctx.reply("privacy.export", json=json.dumps(data, ensure_ascii=False, indent=1))


@router.command("forget")
async def forget(event: Incoming, ctx: Ctx) -> None:
    """Ask for confirmation before deleting the caller's personal data."""
    if ctx.officer is None:
        await ctx.clear_state()
        await ctx.reply("privacy.nothing_stored")
        return
    await ctx.reply(
        "privacy.forget_confirm",
        choices=[
            Choice("forget:yes", ctx.t("privacy.forget_yes")),
            Choice("forget:no", ctx.t("privacy.forget_no")),
        ],
    )


@router.choice("forget")
async def press_forget(event: Incoming, ctx: Ctx) -> None:
    """Delete the caller's personal data after confirmation; tell pair partners."""
    if (event.choice or "").partition(":")[2] != "yes" or ctx.officer is None:
        await ctx.reply("privacy.forget_kept")
        return
    await forget_officer(ctx, ctx.officer)
    await ctx.reply("privacy.forgotten")


def forgotten_key(platform: str, user_id: str) -> str:
    """The key_value marker of an account whose officer asked to be forgotten (a hash: the
    marker keeps the bridge from relaying them again without storing the account id)."""
    digest = hashlib.sha256(f"{platform}:{user_id}".encode()).hexdigest()[:40]
    return f"forgotten:{digest}"


async def forget_officer(ctx: Ctx, officer: Officer) -> None:
    """Erase an officer (GDPR Art. 17): profile, identities, state, queued messages, texts."""
    from handlers.delivery.outbox import queue_to_officer

    session = ctx.uow.session
    pairs = (
        (
            await session.execute(
                select(Pair).where(
                    or_(Pair.learner_id == officer.id, Pair.mentor_id == officer.id),
                    Pair.status.notin_([PairStatus.CLOSED, PairStatus.DECLINED]),
                )
            )
        )
        .scalars()
        .all()
    )
    for pair in pairs:
        other_id = pair.mentor_id if pair.learner_id == officer.id else pair.learner_id
        pair.status = PairStatus.CLOSED
        other = await ctx.uow.officers.get(other_id) if other_id else None
        if other is not None:
            await queue_to_officer(
                ctx.uow,
                ctx.content,
                ctx.secret,
                other,
                "privacy.partner_left",
                idempotency_key=f"forget:{officer.id}:pair:{pair.id}",
                values={"topic": ctx.content.taxonomy.label("instruments", pair.topic, "en")},
            )
    for identity in officer.identities:
        await ctx.uow.kv.put(forgotten_key(identity.platform, identity.user_id), "1")
        identity.display_name = None
    identity_ids = [i.id for i in officer.identities]
    chat_ids = [i.dm_chat_id for i in officer.identities if i.dm_chat_id]
    await session.execute(delete(Conversation).where(Conversation.identity_id.in_(identity_ids)))
    for identity in officer.identities:  # what they wrote is kept in the inbox for a few days
        await ctx.uow.inbox.forget(
            identity.platform,
            [f"{identity.platform}:{identity.user_id}"],
            keep=ctx.inbox_item_id,
        )
    await session.execute(
        delete(Outbox).where(
            or_(Outbox.officer_id == officer.id, Outbox.chat_id.in_(chat_ids)),
            Outbox.status.in_(["pending", "sending", "failed"]),
        )
    )
    await session.execute(
        update(Outbox).where(Outbox.officer_id == officer.id).values(payload={}, chat_id="")
    )
    # what they wrote in discussions, relayed to the other platforms (handlers/bridge.py keys
    # relays by the source message): queued copies go, sent ones keep no text
    written = await session.execute(
        select(
            DiscussionMessage.discussion_id,
            DiscussionMessage.platform,
            DiscussionMessage.platform_message_id,
        ).where(
            DiscussionMessage.officer_id == officer.id,
            DiscussionMessage.platform_message_id.isnot(None),
        )
    )
    for discussion_id, platform, message_id in written.all():
        relays = Outbox.idempotency_key.like(f"relay:{discussion_id}:{platform}:{message_id}:%")
        await session.execute(
            delete(Outbox).where(relays, Outbox.status.in_(["pending", "sending", "failed"]))
        )
        await session.execute(update(Outbox).where(relays).values(payload={}))
    await session.execute(
        update(FaqQuery)
        .where(FaqQuery.officer_id == officer.id)
        .values(text="", officer_id=None, identity_id=None, answer_text=None)
    )
    await session.execute(
        update(FaqQuery)
        .where(FaqQuery.identity_id.in_(identity_ids))
        .values(text="", identity_id=None)
    )
    await erase_officer_answers(ctx.uow, officer)
    await _forget_practices(ctx, officer)
    authority_id = officer.authority_id
    await session.delete(officer)
    await session.flush()
    await _forget_authority(ctx, authority_id)
    ctx.officer = None


async def _forget_practices(ctx: Ctx, officer: Officer) -> None:
    """Practices never published (pending, rejected) go whole, with the review requests that
    carried them; a published one stays with the authority, without its personal contact."""
    session = ctx.uow.session
    practices = (
        (await session.execute(select(GoodPractice).where(GoodPractice.officer_id == officer.id)))
        .scalars()
        .all()
    )
    for practice in practices:
        if practice.status == "approved":
            practice.figures = {k: v for k, v in (practice.figures or {}).items() if k != "contact"}
            continue
        review = (Outbox.purpose == "practice", Outbox.ref_id == practice.id)
        await session.execute(
            delete(Outbox).where(*review, Outbox.status.in_(["pending", "sending", "failed"]))
        )
        await session.execute(update(Outbox).where(*review).values(payload={}))
        await session.delete(practice)
    await session.flush()


async def _forget_authority(ctx: Ctx, authority_id: int | None) -> None:
    """The authority the officer named goes when nothing else refers to it (no officer, no
    practice, no invite): its name is what they typed, not yet the programme's record."""
    if authority_id is None:
        return
    session = ctx.uow.session
    for model in (Officer, GoodPractice, Invite):
        used = select(model.id).where(model.authority_id == authority_id).limit(1)
        if (await session.execute(used)).first() is not None:
            return
    await session.execute(delete(Authority).where(Authority.id == authority_id))


@router.command("link")
async def link(event: Incoming, ctx: Ctx) -> None:
    """Give a one-time code, or use one from the other platform to join both accounts."""
    code = event.args.strip()
    if code:
        await use_link_code(ctx, code)
        return
    if ctx.officer is None:
        await ctx.reply("link.join_or_code")
        return
    code = secrets.token_hex(4).upper()
    ctx.uow.session.add(
        Invite(
            code=code,
            purpose="link",
            officer_id=ctx.officer.id,
            expires_at=ctx.clock.now() + LINK_TTL,
        )
    )
    await ctx.reply("link.code", code=code, minutes=int(LINK_TTL.total_seconds() // 60))


async def use_link_code(ctx: Ctx, code: str) -> bool:
    """Join the caller's identity to the officer who issued the code; False if invalid.

    The code is taken with one conditional UPDATE (`InviteRepo.use`), so of two people sending
    it at once only one is linked; a refusal below gives the code back."""
    now = ctx.clock.now()
    invite = await ctx.uow.get(InviteRepo).use(code.strip().upper(), "link", now)
    if invite is None:
        await ctx.reply("link.invalid")
        return False
    if ctx.officer is not None and ctx.officer.id != invite.officer_id:
        await ctx.reply("link.already_member")
        await ctx.uow.get(InviteRepo).release(invite.id)
        return False
    officer = await ctx.uow.officers.get(invite.officer_id or 0)
    if officer is None:
        await ctx.reply("link.invalid")
        return False
    ctx.identity.officer_id = officer.id
    await ctx.uow.session.flush()
    await ctx.uow.session.refresh(officer, ["identities"])
    ctx.officer = officer
    await ctx.clear_state()
    platforms = ", ".join(sorted({i.platform for i in officer.identities}))
    await ctx.reply("link.done", platforms=platforms)
    return True
