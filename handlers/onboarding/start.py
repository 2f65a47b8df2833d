"""Greeting, help and the commands every officer has."""

from __future__ import annotations

from handlers.core.context import Ctx
from handlers.core.events import Incoming
from handlers.core.router import router
from handlers.onboarding import flow as onboarding
from storage.models import Invite, OfficerStatus

OFFICER_COMMANDS = [
    "start",
    "help",
    "profile",
    "ask",
    "match",
    "pairs",
    "pause",
    "resume",
    "share",
    "practices",
    "plan",
    "outcome",
    "notes",
    "visit",
    "discuss",
    "discussions",
    "link",
    "language",
    "export",
    "forget",
    "cancel",
]
COORDINATOR_COMMANDS = ["broadcast", "stats", "unanswered"]


@router.command("start", "join")
async def start(event: Incoming, ctx: Ctx) -> None:
    """Welcome the caller and start (or resume) onboarding; `/start CODE` uses an invite."""
    code = event.args.strip()
    if ctx.officer is not None and ctx.officer.status == OfficerStatus.ACTIVE:
        await ctx.reply("start.welcome_back", name=ctx.officer.name)
        if ctx.officer.consent_source == "import":
            await ctx.reply("privacy.import_notice")
            ctx.officer.consent_source = "import-notified"
        await show_help(event, ctx)
        return
    if not code and await onboarding.resume(ctx):
        return
    authority_id = programme_id = None
    if code:
        invite = await _invite(ctx, code)
        if invite is None:
            await ctx.reply("start.invite_invalid")
        else:
            authority_id, programme_id = invite.authority_id, invite.programme_id
    await ctx.reply("start.welcome")
    await onboarding.begin(ctx, invite_authority_id=authority_id, invite_programme_id=programme_id)


async def _invite(ctx: Ctx, code: str) -> Invite | None:
    """Use a join code once (one conditional UPDATE: two people sending it, one wins)."""

    return await ctx.uow.invites.use(code, "join", ctx.clock.now())


@router.command("help", group=True)
async def show_help(event: Incoming, ctx: Ctx) -> None:
    """List the commands the caller can use."""
    lines = [f"/{name} — {ctx.t('commands.' + name)}" for name in OFFICER_COMMANDS]
    if ctx.is_coordinator:
        lines.append(ctx.t("help.coordinators"))
        lines += [f"/{name} — {ctx.t('commands.' + name)}" for name in COORDINATOR_COMMANDS]
    await ctx.reply("help.intro", commands="\n".join(lines))


@router.command("cancel")
async def cancel(event: Incoming, ctx: Ctx) -> None:
    """Leave whatever multi-step flow is open."""
    if await ctx.state() is None:
        await ctx.reply("cancel.nothing")
        return
    await ctx.clear_state()
    await ctx.reply("cancel.done")


@router.command("__unknown__")
async def unknown_command(event: Incoming, ctx: Ctx) -> None:
    """Say politely that a command does not exist."""
    await ctx.reply("errors.unknown_command", command=(event.command or "")[:32])
