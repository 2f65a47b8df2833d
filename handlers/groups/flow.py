"""`/cycle` (or `/apply`): an officer applies to their programme's open learning cycle.

Three short steps, kept in the conversation state so they survive restarts: the schemes to
learn (a multi-select, in the order picked: the first is the first choice), the schemes the
officer's authority can mentor (none is fine), then a summary to confirm. Typed answers work
too ("EPC, green bonds"). Applying again replaces the earlier application.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, Literal, TypedDict, cast

from handlers.core.context import Ctx
from handlers.core.engine import Core
from handlers.core.events import Incoming
from handlers.core.ports import Messenger
from handlers.core.replies import Choice
from handlers.core.router import router
from handlers.core.taxonomy import fold
from handlers.core.typed_words import means
from handlers.groups import service
from handlers.officers.fields import taxonomy_code
from storage.models import LearningCycle

FLOW = "cycle_apply"
WANTS: Final = "wants"
OFFERS: Final = "offers"
CONFIRM = "confirm"
ListStep = Literal["wants", "offers"]
SEPARATORS = re.compile(r"[,;/\n]|\s(?:and|et|und|y|e)\s", re.IGNORECASE)
CANCEL_WORDS = {"cancel", "annuler", "abbrechen", "cancelar", "annulla", "stop"}


class ApplicationState(TypedDict):
    """`Conversation.data` of `cycle_apply`: the cycle applied to and the schemes picked."""

    cycle: int
    name: str
    wants: list[str]
    offers: list[str]


async def _cycle(ctx: Ctx) -> LearningCycle | None:
    """The officer's open cycle: the earliest open one of their programmes."""
    assert ctx.officer is not None
    programmes = await ctx.uow.officers.programme_ids(ctx.officer)
    found = await ctx.uow.cycles.open_for(programmes, ctx.clock.now())
    return found[0] if found else None


def typed_schemes(ctx: Ctx, text: str) -> list[str]:
    """Schemes named in a typed answer: exact names and short forms ("CPE") first, then close
    spellings."""
    tax = ctx.content.taxonomy
    found: list[str] = []
    for part in SEPARATORS.split(text):
        if not part.strip():
            continue
        code = taxonomy_code(tax, "instruments", part.strip()) or tax.match("instruments", part)
        if code and code not in found:
            found.append(code)
    return found


def _labels(ctx: Ctx, codes: list[str]) -> str:
    tax = ctx.content.taxonomy
    return ", ".join(tax.label("instruments", c, ctx.locale) for c in codes) or "—"


async def _ask(ctx: Ctx, step: ListStep, data: ApplicationState, edit: bool = False) -> None:
    tax = ctx.content.taxonomy
    picked = list(data.get(step, []))
    choices = [
        Choice(f"gcy:{step[0]}:{c}", tax.label("instruments", c, ctx.locale), c in picked)
        for c in tax.codes("instruments")
    ]
    choices.append(Choice(f"gcy:next:{step}", ctx.t("groups.apply.next")))
    choices.append(Choice("gcy:cancel", ctx.t("groups.apply.cancel")))
    await ctx.reply(
        f"groups.apply.ask_{step}", choices=choices, multi=True, edit=edit, cycle=data["name"]
    )


async def _summary(ctx: Ctx, data: ApplicationState) -> None:
    await ctx.reply(
        "groups.apply.summary",
        choices=[
            Choice("gcy:ok", ctx.t("groups.apply.confirm")),
            Choice("gcy:restart", ctx.t("groups.apply.change")),
            Choice("gcy:cancel", ctx.t("groups.apply.cancel")),
        ],
        cycle=data["name"],
        wants=_labels(ctx, data.get(WANTS, [])),
        offers=_labels(ctx, data.get(OFFERS, [])),
    )


@router.command("cycle", "apply", member=True)
async def start_application(event: Incoming, ctx: Ctx) -> None:
    """Start (or redo) the application to the open learning cycle."""
    assert ctx.officer is not None
    why = service.may_apply(ctx.officer)
    if why is not None:
        await ctx.reply(f"groups.apply.refused.{why}")
        return
    cycle = await _cycle(ctx)
    if cycle is None:
        await ctx.reply("groups.apply.no_cycle")
        return
    earlier = await ctx.uow.cycles.application(cycle.id, ctx.officer.id)
    tax_codes = set(ctx.content.taxonomy.codes("instruments"))
    data: ApplicationState = {
        "cycle": cycle.id,
        "name": cycle.name,
        WANTS: list(earlier.wants) if earlier else [c for c in ctx.officer.wants if c in tax_codes],
        OFFERS: list(earlier.offers) if earlier else [],
    }
    await ctx.set_state(FLOW, WANTS, data)
    await ctx.reply(
        "groups.apply.intro",
        cycle=cycle.name,
        starts=cycle.starts_on.date().isoformat(),
        ends=cycle.ends_on.date().isoformat(),
    )
    await _ask(ctx, WANTS, data)


@router.choice("gcy")
async def press_application(event: Incoming, ctx: Ctx) -> None:
    """A scheme ticked, a step finished, the application confirmed or cancelled."""
    await _step(ctx, (event.choice or "").partition(":")[2], "")


@router.flow(FLOW)
async def type_application(event: Incoming, ctx: Ctx) -> None:
    """A typed answer inside the application."""
    await _step(ctx, None, event.text)


async def _step(ctx: Ctx, choice: str | None, text: str) -> None:
    state = await ctx.state()
    if state is None or state.flow != FLOW or ctx.officer is None:
        await ctx.reply("errors.expired_choice")
        return
    data, step = cast(ApplicationState, dict(state.data)), state.step
    tax = ctx.content.taxonomy
    if choice == "cancel" or (choice is None and fold(text.strip()) in CANCEL_WORDS):
        await ctx.clear_state()
        await ctx.reply("groups.apply.cancelled")
        return
    if choice == "restart":
        await ctx.set_state(FLOW, WANTS, data)
        await _ask(ctx, WANTS, data)
        return
    if step in (WANTS, OFFERS):
        step = cast(ListStep, step)
        kind, _, code = (choice or "").partition(":")
        if choice and kind == step[0]:
            if code not in tax.codes("instruments"):
                await ctx.reply("errors.expired_choice")
                return
            picked = list(data.get(step, []))
            data[step] = [c for c in picked if c != code] if code in picked else [*picked, code]
            await ctx.set_state(FLOW, step, data)
            await _ask(ctx, step, data, edit=True)
            return
        done = choice == f"next:{step}" or (choice is None and means(ctx.content.t, "done", text))
        if choice is None and not done:
            codes = typed_schemes(ctx, text)
            if not codes and not means(ctx.content.t, "skip", text):
                await ctx.reply("groups.apply.unclear", answer=text[:60])
                return
            data[step] = codes
        elif not done:
            await ctx.reply("errors.expired_choice")
            return
        if step == WANTS:
            await ctx.set_state(FLOW, OFFERS, data)
            await _ask(ctx, OFFERS, data)
            return
        if not data.get(WANTS) and not data.get(OFFERS):
            await ctx.set_state(FLOW, WANTS, data)
            await ctx.reply("groups.apply.pick_one")
            await _ask(ctx, WANTS, data)
            return
        await ctx.set_state(FLOW, CONFIRM, data)
        await _summary(ctx, data)
        return
    if step == CONFIRM and choice == "ok":
        cycle = await ctx.uow.cycles.get(int(data["cycle"]))
        if cycle is None:
            await ctx.clear_state()
            await ctx.reply("groups.apply.no_cycle")
            return
        try:
            _, new = await service.apply(
                ctx.uow, cycle, ctx.officer, list(data[WANTS]), list(data[OFFERS])
            )
        except service.Refused as exc:
            await ctx.clear_state()
            await ctx.reply(f"groups.apply.refused.{exc}")
            return
        await ctx.clear_state()
        await ctx.reply("groups.apply.saved" if new else "groups.apply.replaced", cycle=cycle.name)
        return
    await _summary(ctx, data)


# -- the same application in one form (the Slack modal) ----------------------------------


@dataclass(frozen=True)
class ApplicationForm:
    """What the one-screen application shows: the open cycle and the earlier answers, or the
    message key saying why the caller cannot apply (then the chat flow answers instead)."""

    locale: str
    cycle_id: int | None = None
    cycle: str = ""
    starts: str = ""
    ends: str = ""
    wants: tuple[str, ...] = ()
    offers: tuple[str, ...] = ()
    refused: str | None = None


async def read_application(core: Core, event: Incoming, messenger: Messenger) -> ApplicationForm:
    """The caller's open cycle and application, read without a write lock (Slack's 3 s)."""
    async with core.uow() as uow:
        ctx = await core.context(event, messenger, uow, write=False)
        if ctx.officer is None:
            return ApplicationForm(ctx.locale, refused="errors.join_first")
        why = service.may_apply(ctx.officer)
        if why is not None:
            return ApplicationForm(ctx.locale, refused=f"groups.apply.refused.{why}")
        cycle = await _cycle(ctx)
        if cycle is None:
            return ApplicationForm(ctx.locale, refused="groups.apply.no_cycle")
        earlier = await uow.cycles.application(cycle.id, ctx.officer.id)
        known = set(ctx.content.taxonomy.codes("instruments"))
        wants = list(earlier.wants) if earlier else [c for c in ctx.officer.wants if c in known]
        return ApplicationForm(
            ctx.locale,
            cycle_id=cycle.id,
            cycle=cycle.name,
            starts=cycle.starts_on.date().isoformat(),
            ends=cycle.ends_on.date().isoformat(),
            wants=tuple(wants),
            offers=tuple(earlier.offers) if earlier else (),
        )


@router.form("cycle_apply")
async def submit_application_form(ctx: Ctx, answers: dict[str, Any]) -> None:
    """A whole application at once (the Slack modal, validated there; checked again here)."""
    if ctx.officer is None:
        await ctx.reply("errors.join_first")
        return
    known = set(ctx.content.taxonomy.codes("instruments"))
    wants = [c for c in answers.get("wants") or [] if c in known]
    offers = [c for c in answers.get("offers") or [] if c in known]
    raw = answers.get("cycle")
    cycle = await ctx.uow.cycles.get(int(raw)) if isinstance(raw, int) else None
    if cycle is None or cycle.programme_id not in await ctx.uow.officers.programme_ids(ctx.officer):
        await ctx.reply("groups.apply.no_cycle")
        return
    try:
        _, new = await service.apply(ctx.uow, cycle, ctx.officer, wants, offers, source="slack")
    except service.Refused as exc:
        await ctx.reply(f"groups.apply.refused.{exc}")
        return
    await ctx.clear_state()
    await ctx.reply("groups.apply.saved" if new else "groups.apply.replaced", cycle=cycle.name)
