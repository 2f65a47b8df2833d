"""Joining the programme: a resumable, step-by-step flow kept in the database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, TypedDict, cast

from handlers.core.context import Ctx
from handlers.core.events import Incoming
from handlers.core.replies import Choice
from handlers.core.router import router
from handlers.core.taxonomy import (
    country_name,
    fold,
    language_name,
    match_language,
    timezones_for,
)
from handlers.core.typed_words import means
from handlers.officers import fields
from storage.models import AuthorityKind, Officer, OfficerStatus, Role

FLOW = "onboarding"
COMMON_LANGUAGES = ("en", "fr", "de", "es", "it", "pt", "nl", "pl", "el", "ro")
BACK_WORDS = {"back", "retour", "zuruck", "atras", "indietro"}
CANCEL_WORDS = {"cancel", "annuler", "abbrechen", "cancelar", "annulla", "stop"}
MultiStep = Literal["languages", "sectors", "wants", "offers"]

OnboardingState = TypedDict(
    "OnboardingState",
    {
        "programme_id": int,  # the programme an invite named
        "invite_authority": bool,  # the invite named the authority: its step is skipped
        "consent_at": str,  # ISO moment
        "name": str,
        "authority_id": int,
        "authority_name": str,
        "country": str,
        "skip_country": bool,  # known from the authority
        "job_title": str,
        "languages": list[str],
        "timezone": str,
        "sectors": list[str],
        "wants": list[str],
        "offers": list[str],
        "practice": str,
        "__stop__": bool,  # a step ended the flow itself (consent refused)
        "__stay__": bool,  # a step asked again without advancing
    },
    total=False,
)
"""`Conversation.data` of `onboarding`: the answers so far, filled step by step."""


@dataclass(frozen=True)
class Step:
    """One question of the flow: how to ask it and how to take an answer."""

    name: str
    ask: Callable[[Ctx, OnboardingState], Awaitable[None]]
    take: Callable[[Ctx, OnboardingState, str | None, str], Awaitable[bool]]
    multi: str | None = None


def _nav(ctx: Ctx, back: bool = True) -> list[Choice]:
    nav = [Choice("onb:back", ctx.t("onboarding.back"))] if back else []
    return [*nav, Choice("onb:cancel", ctx.t("onboarding.cancel"))]


async def ask_consent(ctx: Ctx, data: OnboardingState) -> None:
    await ctx.reply(
        "onboarding.consent",
        choices=[
            Choice("onb:yes", ctx.t("onboarding.consent_yes")),
            Choice("onb:no", ctx.t("onboarding.consent_no")),
        ],
    )


async def take_consent(ctx: Ctx, data: OnboardingState, choice: str | None, text: str) -> bool:
    answer = choice or _yes_no(text)
    if answer == "yes":
        data["consent_at"] = ctx.clock.now().isoformat()
        return True
    if answer == "no":
        await ctx.clear_state()
        await ctx.reply("onboarding.consent_refused")
        data["__stop__"] = True
        return False
    await ctx.reply("onboarding.consent_unclear")
    return False


async def ask_name(ctx: Ctx, data: OnboardingState) -> None:
    suggestion = ctx.identity.display_name or ""
    choices = [Choice("onb:platform", suggestion)] if suggestion else []
    await ctx.reply("onboarding.name", choices=[*choices, *_nav(ctx)])


async def take_name(ctx: Ctx, data: OnboardingState, choice: str | None, text: str) -> bool:
    name = fields.clean_text((ctx.identity.display_name or "") if choice == "platform" else text)
    if fields.name_problem(name):
        await ctx.reply("onboarding.name_invalid")
        return False
    data["name"] = name
    return True


async def ask_authority(ctx: Ctx, data: OnboardingState) -> None:
    await ctx.reply("onboarding.authority", choices=_nav(ctx))


async def take_authority(ctx: Ctx, data: OnboardingState, choice: str | None, text: str) -> bool:
    if choice and choice.startswith("id:"):
        authority = await ctx.uow.authorities.get(int(choice[3:]))
        if authority is None:
            await ctx.reply("errors.expired_choice")
            return False
        data.update({"authority_id": authority.id, "authority_name": authority.name})
        data["country"] = authority.country
        data["skip_country"] = True
        return True
    if choice == "new":
        data["skip_country"] = False
        return True
    name = fields.clean_text(text)
    if fields.text_problem("authority", name):
        await ctx.reply("onboarding.authority_invalid")
        return False
    data["authority_name"] = name
    data.pop("authority_id", None)
    known = await ctx.uow.authorities.list()
    close = [a for a in known if fold(a.name) == fold(name) or fold(name) in fold(a.name)]
    if close:
        choices = [
            Choice(f"onb:id:{a.id}", f"{a.name} ({country_name(a.country, ctx.locale)})")
            for a in close[:5]
        ]
        choices.append(Choice("onb:new", ctx.t("onboarding.authority_new", name=name)))
        await ctx.reply("onboarding.authority_pick", choices=choices)
        data["__stay__"] = True
        return False
    data["skip_country"] = False
    return True


async def ask_country(ctx: Ctx, data: OnboardingState) -> None:
    if data.get("skip_country"):
        return
    await ctx.reply(
        "onboarding.country", authority=data.get("authority_name", ""), choices=_nav(ctx)
    )


async def take_country(ctx: Ctx, data: OnboardingState, choice: str | None, text: str) -> bool:
    code = choice or fields.country_code(text)
    if code is None:
        await ctx.reply("onboarding.country_invalid", answer=text[:60])
        return False
    data["country"] = code.upper()
    return True


async def ask_role(ctx: Ctx, data: OnboardingState) -> None:
    await ctx.reply("onboarding.role", choices=_nav(ctx))


async def take_role(ctx: Ctx, data: OnboardingState, choice: str | None, text: str) -> bool:
    role = fields.clean_text(text)
    if fields.text_problem("job_title", role):
        await ctx.reply("onboarding.role_invalid")
        return False
    data["job_title"] = role
    return True


def _options(ctx: Ctx, step: str, data: OnboardingState) -> list[tuple[str, str]]:
    if step == "languages":
        codes = list(COMMON_LANGUAGES)
        codes += [c for c in data.get("languages", []) if c not in codes]
        return [(c, language_name(c, ctx.locale)) for c in codes]
    group = "sectors" if step == "sectors" else "instruments"
    return [
        (c, ctx.content.taxonomy.label(group, c, ctx.locale))
        for c in ctx.content.taxonomy.codes(group)
    ]


async def _ask_multi(ctx: Ctx, data: OnboardingState, step: MultiStep, edit: bool = False) -> None:
    picked = set(data.get(step, []))
    choices = [
        Choice(f"onb:pick:{code}", label, code in picked)
        for code, label in _options(ctx, step, data)
    ]
    choices.append(Choice("onb:done", ctx.t("onboarding.done")))
    await ctx.reply(f"onboarding.{step}", choices=[*choices, *_nav(ctx)], multi=True, edit=edit)


async def _take_multi(
    ctx: Ctx, data: OnboardingState, step: MultiStep, choice: str | None, text: str, optional: bool
) -> bool:
    picked: list[str] = list(data.get(step, []))
    if choice and choice.startswith("pick:"):
        code = choice[5:]
        if code not in dict(_options(ctx, step, data)):
            await ctx.reply("errors.expired_choice")
            return False
        picked = [c for c in picked if c != code] if code in picked else [*picked, code]
        data[step] = picked
        await _ask_multi(ctx, data, step, edit=True)
        return False
    if choice == "done" or (not choice and means(ctx.content.t, "done", text)):
        if not picked and not optional:
            await ctx.reply("onboarding.pick_one")
            return False
        return True
    if not choice:
        if optional and means(ctx.content.t, "skip", text):
            data[step] = []
            return True
        if step == "languages":
            codes = [c for part in text.replace(";", ",").split(",") if (c := match_language(part))]
        else:
            group = "sectors" if step == "sectors" else "instruments"
            codes = ctx.content.taxonomy.match_many(group, text)
        if not codes:
            await ctx.reply("onboarding.multi_unclear", answer=text[:60])
            return False
        data[step] = list(dict.fromkeys(codes))
        return True
    return False


def _multi_step(name: MultiStep, optional: bool = False) -> Step:
    async def ask(ctx: Ctx, data: OnboardingState) -> None:
        if name == "languages" and "languages" not in data:
            data["languages"] = [ctx.locale]
        await _ask_multi(ctx, data, name)

    async def take(ctx: Ctx, data: OnboardingState, choice: str | None, text: str) -> bool:
        return await _take_multi(ctx, data, name, choice, text, optional)

    return Step(name, ask, take, multi=name)


async def ask_timezone(ctx: Ctx, data: OnboardingState) -> None:
    zones = timezones_for(data.get("country", "BE"))[:3] or ["Europe/Brussels"]
    choices = [Choice(f"onb:tz:{z}", z) for z in zones]
    await ctx.reply("onboarding.timezone", choices=[*choices, *_nav(ctx)])


async def take_timezone(ctx: Ctx, data: OnboardingState, choice: str | None, text: str) -> bool:
    zone = choice[3:] if choice and choice.startswith("tz:") else text.strip()
    found = fields.timezone_of(zone)
    if found is None:
        await ctx.reply("onboarding.timezone_invalid", answer=zone[:60])
        return False
    data["timezone"] = found
    return True


async def ask_practice(ctx: Ctx, data: OnboardingState) -> None:
    if not data.get("offers"):
        return
    await ctx.reply(
        "onboarding.practice", choices=[Choice("onb:skip", ctx.t("onboarding.skip")), *_nav(ctx)]
    )


async def take_practice(ctx: Ctx, data: OnboardingState, choice: str | None, text: str) -> bool:
    if choice == "skip" or means(ctx.content.t, "skip", text):
        data.pop("practice", None)
        return True
    if len(text.strip()) < 10:
        await ctx.reply("onboarding.practice_short")
        return False
    data["practice"] = text.strip()[:1500]
    return True


STEPS: list[Step] = [
    Step("consent", ask_consent, take_consent),
    Step("name", ask_name, take_name),
    Step("authority", ask_authority, take_authority),
    Step("country", ask_country, take_country),
    Step("role", ask_role, take_role),
    _multi_step("languages"),
    Step("timezone", ask_timezone, take_timezone),
    _multi_step("sectors"),
    _multi_step("wants", optional=True),
    _multi_step("offers", optional=True),
    Step("practice", ask_practice, take_practice),
]
INDEX = {s.name: i for i, s in enumerate(STEPS)}


def _skipped(step: Step, data: OnboardingState) -> bool:
    if step.name == "country":
        return bool(data.get("skip_country"))
    if step.name == "authority":
        return bool(data.get("invite_authority"))
    if step.name == "practice":
        return not data.get("offers")
    return False


async def _go(ctx: Ctx, data: OnboardingState, index: int, direction: int = 1) -> None:
    while 0 <= index < len(STEPS) and _skipped(STEPS[index], data):
        index += direction
    if index < 0:
        index = 0
    if index >= len(STEPS):
        await finish(ctx, data)
        return
    step = STEPS[index]
    await ctx.set_state(FLOW, step.name, data)
    await step.ask(ctx, data)
    await ctx.set_state(FLOW, step.name, data)


async def begin(
    ctx: Ctx, invite_authority_id: int | None = None, invite_programme_id: int | None = None
) -> None:
    """Start (or restart) onboarding for the caller; an invite may name their programme."""
    data: OnboardingState = {}
    if invite_programme_id is not None:
        data["programme_id"] = invite_programme_id
    if invite_authority_id is not None:
        authority = await ctx.uow.authorities.get(invite_authority_id)
        if authority is not None:
            data.update(
                {
                    "authority_id": authority.id,
                    "authority_name": authority.name,
                    "country": authority.country,
                    "skip_country": True,
                    "invite_authority": True,
                }
            )
            await ctx.reply("onboarding.invited", authority=authority.name)
    await ctx.reply("onboarding.intro")
    await _go(ctx, data, 0)


async def resume(ctx: Ctx) -> bool:
    """Ask the pending question again; False when no onboarding is open."""
    state = await ctx.state()
    if state is None or state.flow != FLOW or state.step not in INDEX:
        return False
    await ctx.reply("onboarding.resume")
    await STEPS[INDEX[state.step]].ask(ctx, cast(OnboardingState, dict(state.data)))
    return True


@router.flow(FLOW)
async def answer_step(event: Incoming, ctx: Ctx) -> None:
    """Take a free-text answer to the pending onboarding question."""
    await _advance(ctx, None, event.text)


@router.choice("onb")
async def press_step(event: Incoming, ctx: Ctx) -> None:
    """Take a pressed choice of the pending onboarding question."""
    choice = (event.choice or "").split(":", 1)[1] if ":" in (event.choice or "") else ""
    await _advance(ctx, choice, "")


async def _advance(ctx: Ctx, choice: str | None, text: str) -> None:
    state = await ctx.state()
    if state is None or state.flow != FLOW or state.step not in INDEX:
        await ctx.reply("errors.expired_choice")
        return
    data = cast(OnboardingState, dict(state.data))
    index = INDEX[state.step]
    word = fold(text)
    if choice == "cancel" or (not choice and word in CANCEL_WORDS):
        await ctx.clear_state()
        await ctx.reply("onboarding.cancelled")
        return
    if choice == "back" or (not choice and word in BACK_WORDS):
        await _go(ctx, data, index - 1, direction=-1)
        return
    if not choice and not text.strip():
        await STEPS[index].ask(ctx, data)
        return
    advanced = await STEPS[index].take(ctx, data, choice, text)
    if data.pop("__stop__", False):
        return
    data.pop("__stay__", None)
    if advanced:
        await _go(ctx, data, index + 1)
    else:
        await ctx.set_state(FLOW, STEPS[index].name, data)


async def finish(ctx: Ctx, data: OnboardingState) -> None:
    """Create or update the officer from the answers and close the flow."""
    from datetime import datetime

    authority_id = data.get("authority_id")
    if authority_id is None:
        authority = await ctx.uow.authorities.get_or_create(
            fields.clean_text(data["authority_name"]), data["country"], AuthorityKind.MUNICIPALITY
        )
        authority_id = authority.id
    officer = ctx.officer
    if officer is None:
        invited = data.get("programme_id")
        programme = (
            ctx.programme
            or (await ctx.uow.programmes.get(int(invited)) if invited else None)
            or await ctx.uow.programmes.default_or_create()
        )
        officer = Officer(name=data["name"], role=Role.OFFICER, programme_id=programme.id)
        await ctx.uow.officers.add(officer)
    officer.name = fields.clean_text(data["name"]) or officer.name
    officer.authority_id = authority_id
    officer.job_title = data.get("job_title")
    officer.languages = list(data.get("languages", []))
    officer.timezone = data.get("timezone", "Europe/Brussels")
    officer.sectors = list(data.get("sectors", []))
    officer.wants = list(data.get("wants", []))
    officer.offers = list(data.get("offers", []))
    officer.consent_at = datetime.fromisoformat(data["consent_at"])
    officer.consent_source = ctx.identity.platform
    officer.status = OfficerStatus.ACTIVE
    officer.locale = officer.locale or ctx.locale
    ctx.identity.officer_id = officer.id
    await ctx.uow.flush()
    ctx.officer = officer
    if data.get("practice"):
        from storage.models import GoodPractice

        sectors = officer.sectors or ["cross_sector"]
        ctx.uow.add(
            GoodPractice(
                authority_id=authority_id,
                officer_id=officer.id,
                sector=sectors[0],
                instruments=list(officer.offers),
                title=data["practice"][:120],
                summary=data["practice"],
                status="pending",
            )
        )
    await ctx.clear_state()
    await ctx.reply("onboarding.finished", name=officer.name)


def _yes_no(text: str) -> str | None:
    word = fold(text)
    if word in {"yes", "y", "oui", "ja", "si", "ok", "i agree", "agree", "d'accord"}:
        return "yes"
    if word in {"no", "n", "non", "nein", "nope"}:
        return "no"
    return None


@router.form("profile")
async def submit_profile_form(ctx: Ctx, answers: dict[str, Any]) -> None:
    """A whole profile at once (the Slack modal, validated there): stored as the flow's end."""
    from handlers.core.engine import clean_text

    data = cast(
        OnboardingState, {k: clean_text(v) if isinstance(v, str) else v for k, v in answers.items()}
    )
    earlier = ctx.officer.consent_at if ctx.officer is not None else None
    data["consent_at"] = (earlier or ctx.clock.now()).isoformat()
    await finish(ctx, data)
