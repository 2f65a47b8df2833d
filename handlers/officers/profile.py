"""An officer's own data: show and edit the profile, language, export, forget, link accounts."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from handlers.core.context import Ctx
from handlers.core.engine import Core
from handlers.core.events import Incoming
from handlers.core.ports import Messenger
from handlers.core.replies import Choice
from handlers.core.router import router
from handlers.core.taxonomy import country_name, language_name
from handlers.groups.edits import hand_over_seats
from handlers.onboarding import flow as onboarding
from handlers.pairing.checkins import erase_officer_answers, officer_answers
from storage.models import Officer, OfficerStatus, PairStatus

LINK_TTL = timedelta(minutes=15)


@dataclass(frozen=True)
class ProfileView:
    """An active officer's profile as a form shows it (codes, not labels) and as text."""

    name: str
    authority: str
    country: str | None
    role: str
    languages: tuple[str, ...]
    timezone: str
    sectors: tuple[str, ...]
    wants: tuple[str, ...]
    offers: tuple[str, ...]
    consent: bool
    text: str


async def read_profile(
    core: Core, event: Incoming, messenger: Messenger
) -> tuple[str, ProfileView | None]:
    """The caller's language and profile, read without a write lock (so it fits Slack's
    3-second window); no profile when they have not joined or are not active."""
    async with core.uow() as uow:
        ctx = await core.context(event, messenger, uow, write=False)
        officer = ctx.officer
        if officer is None or officer.status != OfficerStatus.ACTIVE:
            return ctx.locale, None
        authority = officer.authority
        return ctx.locale, ProfileView(
            name=officer.name,
            authority=authority.name if authority else "",
            country=authority.country if authority else None,
            role=officer.job_title or "",
            languages=tuple(str(c) for c in officer.languages),
            timezone=officer.timezone or "",
            sectors=tuple(str(c) for c in officer.sectors),
            wants=tuple(str(c) for c in officer.wants),
            offers=tuple(str(c) for c in officer.offers),
            consent=officer.consent_at is not None,
            text=ctx.t("profile.show", **profile_lines(ctx, officer)),
        )


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
    data: onboarding.OnboardingState = {
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
    data = await ctx.uow.personal_data.export(officer)
    data["checkin_answers"] = await officer_answers(ctx.uow, officer.id)
    return data


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
    """Erase an officer (GDPR Art. 17): profile, identities, state, queued messages, texts.

    Open pairs close and the partner is told; their group seats go to a colleague of their
    authority (the group's history stays with the seat); the rest is the repository's erasure."""

    personal = ctx.uow.personal_data
    for pair in await personal.open_pairs(officer.id):
        other_id = pair.mentor_id if pair.learner_id == officer.id else pair.learner_id
        pair.status = PairStatus.CLOSED
        other = await ctx.uow.officers.get(other_id) if other_id else None
        if other is not None:
            await ctx.notify(
                other,
                "privacy.partner_left",
                idempotency_key=f"forget:{officer.id}:pair:{pair.id}",
                values={"topic": ctx.content.taxonomy.label("instruments", pair.topic, "en")},
            )
    await hand_over_seats(ctx.uow, ctx.content, ctx.secret, officer, ctx.clock.now())
    for identity in officer.identities:
        await ctx.uow.kv.put(forgotten_key(identity.platform, identity.user_id), "1")
        identity.display_name = None
    for identity in officer.identities:  # what they wrote is kept in the inbox for a few days
        await ctx.uow.inbox.forget(
            identity.platform,
            [f"{identity.platform}:{identity.user_id}"],
            keep=ctx.inbox_item_id,
        )
    await erase_officer_answers(ctx.uow, officer)
    await personal.erase(officer)
    ctx.officer = None


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
    await ctx.uow.invites.add_link_code(code, ctx.officer.id, ctx.clock.now() + LINK_TTL)
    await ctx.reply("link.code", code=code, minutes=int(LINK_TTL.total_seconds() // 60))


async def use_link_code(ctx: Ctx, code: str) -> bool:
    """Join the caller's identity to the officer who issued the code; False if invalid.

    The code is taken with one conditional UPDATE (`InviteRepo.use`), so of two people sending
    it at once only one is linked; a refusal below gives the code back."""
    now = ctx.clock.now()
    invite = await ctx.uow.invites.use(code.strip().upper(), "link", now)
    if invite is None:
        await ctx.reply("link.invalid")
        return False
    if ctx.officer is not None and ctx.officer.id != invite.officer_id:
        await ctx.reply("link.already_member")
        await ctx.uow.invites.release(invite.id)
        return False
    officer = await ctx.uow.officers.get(invite.officer_id or 0)
    if officer is None:
        await ctx.reply("link.invalid")
        return False
    ctx.identity.officer_id = officer.id
    await ctx.uow.officers.reload_identities(officer)
    ctx.officer = officer
    await ctx.clear_state()
    platforms = ", ".join(sorted({i.platform for i in officer.identities}))
    await ctx.reply("link.done", platforms=platforms)
    return True
