"""Good practices: `/share` describes one, coordinators approve it, `/practices` searches them.

A practice is stored `pending` and shown to nobody but its author and the coordinators until a
coordinator approves it (a choice in chat or `peerbot practices review --approve ID`). Approved
practices are searchable, cited by FAQ answers on the same instrument (`practices_citation`)
and raise their mentor's score in matching. Collections gathered elsewhere are loaded from YAML
(`import_yaml`: every item validated first, then all written in one transaction).
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypedDict, cast

from babel.numbers import format_decimal
from rapidfuzz import fuzz

from handlers.core.content import Content
from handlers.core.context import Ctx
from handlers.core.events import Incoming
from handlers.core.replies import Choice, shorten
from handlers.core.router import router
from handlers.core.taxonomy import Taxonomy, fold
from handlers.core.typed_words import means
from handlers.delivery.outbox import queue_to_officer
from handlers.outcomes.rules import parse_figure
from handlers.practices.figures import citation_figures, investment_of, mix_text, results_text
from handlers.practices.rules import (
    LENGTHS,
    FigureError,
    PracticeFigures,
    check_figures,
    clean_text,
    extract_mix,
    text_ok,
    year_ok,
)
from storage.models import GoodPractice, Officer
from storage.repositories.practices import APPROVED, PENDING, REJECTED, PracticeRepo
from storage.uow import UnitOfWork

FLOW = "share"
CANCEL_WORDS = {"cancel", "annuler", "abbrechen", "cancelar", "annulla", "stop"}
BACK_WORDS = {"back", "retour", "zuruck", "atras", "indietro"}
SEARCH_CUTOFF = 0.6
SEARCH_LIMIT = 5
STOP_WORDS = {
    "the", "and", "for", "with", "our", "how", "what", "who", "are", "was", "did", "that",
    "des", "les", "pour", "une", "avec", "der", "die", "das", "und", "fur", "mit", "los",
    "las", "para", "con", "del", "per", "gli", "della",
}  # fmt: skip


# -- rendering -------------------------------------------------------------------------------


def format_amount(amount: int | None, locale: str) -> str:
    """An amount in euros, grouped the way the reader's language writes numbers."""
    if amount is None:
        return ""
    try:
        return f"EUR {format_decimal(amount, locale=locale)}"
    except (ValueError, TypeError):
        return f"EUR {amount:,}"


def practice_card(content: Content, locale: str, practice: GoodPractice, authority: str) -> str:
    """A practice as a few lines of text (empty parts left out)."""
    tax = content.taxonomy
    figures = practice.figures or {}
    head = content.t(
        locale,
        "practices.card_head",
        title=practice.title,
        authority=authority,
        year=practice.year or "—",
        sector=tax.label("sectors", practice.sector, locale),
        instruments=", ".join(tax.label("instruments", c, locale) for c in practice.instruments),
    )
    lines = [f"#{practice.id} {head}" if practice.id else head]
    amount = format_amount(investment_of(practice), locale)
    mix = mix_text(content, locale, practice.instrument_mix)
    parts = (
        ("practices.card_amount", f"{amount} ({mix})" if amount and mix else amount),
        ("practices.card_funding", figures.get("funding_mix") or ""),
        ("practices.card_results", practice.summary or ""),
        ("practice_figures.card_yearly", results_text(content, locale, practice)),
        ("practices.card_lessons", figures.get("lessons") or ""),
        ("practices.card_contact", figures.get("contact") or ""),
    )
    lines += [content.t(locale, key, value=value) for key, value in parts if value]
    return "\n".join(lines)


async def authority_label(uow: UnitOfWork, practice: GoodPractice) -> str:
    """'Ghent (BE)' for a practice's authority, or '—'."""
    authority = await uow.authorities.get(practice.authority_id) if practice.authority_id else None
    return f"{authority.name} ({authority.country})" if authority else "—"


# -- the /share flow -------------------------------------------------------------------------

TextField = Literal["title", "results", "lessons"]
FigureField = Literal["savings_mwh", "renewable_mwh", "co2_t"]


class ShareState(TypedDict, total=False):
    """`Conversation.data` of `share`: the practice described so far, one key per answer."""

    title: str
    sector: str
    instruments: list[str]
    amount_eur: int
    funding: str
    instrument_mix: dict[str, int] | None
    """Shares of instruments named in `funding` (`{"esco": 70}`); None: none named."""
    results: str
    savings_mwh: float
    renewable_mwh: float
    co2_t: float
    year: int
    lessons: str
    contact: str


@dataclass(frozen=True)
class Step:
    """One question of `/share`: how to ask, how to take the answer, whether it may be skipped."""

    name: str
    ask: Callable[[Ctx, ShareState], Awaitable[None]]
    take: Callable[[Ctx, ShareState, str | None, str], Awaitable[bool]]
    optional: bool = False


def _nav(ctx: Ctx, optional: bool = False, back: bool = True) -> list[Choice]:
    nav = [Choice("shr:skip", ctx.t("practices.skip"))] if optional else []
    if back:
        nav.append(Choice("shr:back", ctx.t("practices.back")))
    return [*nav, Choice("shr:cancel", ctx.t("practices.cancel"))]


def _text_step(name: TextField, optional: bool = False) -> Step:
    low, high = LENGTHS[name]

    async def ask(ctx: Ctx, data: ShareState) -> None:
        await ctx.reply(f"practices.ask_{name}", choices=_nav(ctx, optional, name != "title"))

    async def take(ctx: Ctx, data: ShareState, choice: str | None, text: str) -> bool:
        value = clean_text(name, text)
        if not text_ok(name, value):
            await ctx.reply("practices.length", low=low, high=high)
            return False
        data[name] = value
        return True

    return Step(name, ask, take, optional)


async def ask_sector(ctx: Ctx, data: ShareState) -> None:
    tax = ctx.content.taxonomy
    choices = [
        Choice(f"shr:sec:{c}", tax.label("sectors", c, ctx.locale)) for c in tax.codes("sectors")
    ]
    await ctx.reply("practices.ask_sector", choices=[*choices, *_nav(ctx)])


async def take_sector(ctx: Ctx, data: ShareState, choice: str | None, text: str) -> bool:
    code = choice[4:] if choice and choice.startswith("sec:") else None
    code = code or ctx.content.taxonomy.match("sectors", text)
    if code not in ctx.content.taxonomy.codes("sectors"):
        await ctx.reply("practices.unclear", answer=text[:60])
        return False
    data["sector"] = code
    return True


async def ask_instruments(ctx: Ctx, data: ShareState, edit: bool = False) -> None:
    tax = ctx.content.taxonomy
    picked = set(data.get("instruments", []))
    choices = [
        Choice(f"shr:ins:{c}", tax.label("instruments", c, ctx.locale), c in picked)
        for c in tax.codes("instruments")
    ]
    choices.append(Choice("shr:done", ctx.t("practices.done")))
    await ctx.reply(
        "practices.ask_instruments", choices=[*choices, *_nav(ctx)], multi=True, edit=edit
    )


async def take_instruments(ctx: Ctx, data: ShareState, choice: str | None, text: str) -> bool:
    tax = ctx.content.taxonomy
    picked: list[str] = list(data.get("instruments", []))
    if choice and choice.startswith("ins:"):
        code = choice[4:]
        if code not in tax.codes("instruments"):
            await ctx.reply("errors.expired_choice")
            return False
        data["instruments"] = (
            [c for c in picked if c != code] if code in picked else [*picked, code]
        )
        await ask_instruments(ctx, data, edit=True)
        return False
    if choice == "done" or (not choice and means(ctx.content.t, "done", text)):
        if not picked:
            await ctx.reply("practices.pick_one")
            return False
        return True
    codes = tax.match_many("instruments", text)
    if not codes:
        await ctx.reply("practices.unclear", answer=text[:60])
        return False
    data["instruments"] = list(dict.fromkeys(codes))
    return True


# English, French, German, Spanish and Italian words for the scales officers write out
UNITS = dict.fromkeys(("billion", "billions", "bn", "mrd"), 10**9)
UNITS |= dict.fromkeys(("milliard", "milliards", "milliarde", "milliarden", "miliardi"), 10**9)
UNITS |= dict.fromkeys(("million", "millions", "millionen", "mio", "mln", "m"), 10**6)
UNITS |= dict.fromkeys(("millón", "millon", "millones", "milione", "milioni"), 10**6)
UNITS |= dict.fromkeys(("thousand", "tausend", "mil", "mila", "k"), 10**3)
AMOUNT = re.compile(
    r"(?P<number>\d[\d.,'\u00a0\u202f ]*\d|\d)\s*"
    rf"(?P<unit>{'|'.join(sorted(UNITS, key=len, reverse=True))})?\b",
    re.IGNORECASE,
)


def parse_amount(text: str) -> int | None:
    """Euros from '2.5 million', 'EUR 40m', '€1,200,000', '500k', '3,2 Mio €' (None if none)."""
    cleaned = re.sub(r"(?i)€|\beur(os?)?\b", " ", text)
    found = AMOUNT.search(cleaned)
    if found is None:
        return None
    raw = re.sub(r"['\u00a0\u202f ]", "", found.group("number"))
    unit = (found.group("unit") or "").lower()
    marks = [c for c in raw if c in ".,"]
    if not marks:
        value = float(raw)
    elif len(set(marks)) == 2:
        decimal = raw[max(raw.rfind("."), raw.rfind(","))]
        whole, _, frac = raw.rpartition(decimal)
        value = float(f"{re.sub(r'[.,]', '', whole)}.{frac}")
    else:
        mark = marks[0]
        parts = raw.split(mark)
        thousands = len(parts) > 2 or (len(parts[-1]) == 3 and not unit)
        value = float("".join(parts)) if thousands else float(f"{parts[0]}.{parts[1]}")
    return round(value * UNITS.get(unit, 1))


async def ask_amount(ctx: Ctx, data: ShareState) -> None:
    await ctx.reply("practices.ask_amount", choices=_nav(ctx, optional=True))


async def take_amount(ctx: Ctx, data: ShareState, choice: str | None, text: str) -> bool:
    amount = parse_amount(text)
    if amount is None or amount <= 0:
        await ctx.reply("practices.amount_unclear", answer=text[:60])
        return False
    if not await _checked(ctx, PracticeFigures(investment_eur=amount)):
        return False
    data["amount_eur"] = amount
    return True


async def _checked(ctx: Ctx, figures: PracticeFigures) -> bool:
    """Whether figures pass the rules; if not, the officer is told why."""
    try:
        check_figures(figures, ctx.content.taxonomy.codes("instruments"))
    except FigureError as exc:
        await ctx.reply(f"practice_figures.errors.{exc.key}", **exc.values)
        return False
    return True


async def ask_funding(ctx: Ctx, data: ShareState) -> None:
    await ctx.reply("practices.ask_funding", choices=_nav(ctx, optional=True))


async def take_funding(ctx: Ctx, data: ShareState, choice: str | None, text: str) -> bool:
    """The funding mix as written; the shares of named instruments are kept as figures."""
    value = clean_text("funding", text)
    if not text_ok("funding", value):
        low, high = LENGTHS["funding"]
        await ctx.reply("practices.length", low=low, high=high)
        return False
    try:
        mix = extract_mix(value, ctx.content.taxonomy)
    except FigureError as exc:
        await ctx.reply(f"practice_figures.errors.{exc.key}", **exc.values)
        return False
    if mix and not await _checked(ctx, PracticeFigures(instrument_mix=mix)):
        return False
    data["funding"] = value
    data["instrument_mix"] = mix or None
    return True


def _figure_step(name: FigureField) -> Step:
    async def ask(ctx: Ctx, data: ShareState) -> None:
        await ctx.reply(f"practice_figures.ask_{name}", choices=_nav(ctx, optional=True))

    async def take(ctx: Ctx, data: ShareState, choice: str | None, text: str) -> bool:
        value = parse_figure(text)
        if value is None:
            await ctx.reply("practice_figures.errors.figure_unclear", answer=text[:30])
            return False
        data[name] = value
        return True

    return Step(name, ask, take, optional=True)


async def ask_year(ctx: Ctx, data: ShareState) -> None:
    await ctx.reply("practices.ask_year", choices=_nav(ctx, optional=True))


async def take_year(ctx: Ctx, data: ShareState, choice: str | None, text: str) -> bool:
    found = re.search(r"\b(19|20)\d{2}\b", text)
    year = int(found.group(0)) if found else 0
    if not year_ok(year, ctx.clock.now().year):
        await ctx.reply("practices.year_unclear", answer=text[:20])
        return False
    data["year"] = year
    return True


async def ask_contact(ctx: Ctx, data: ShareState) -> None:
    me = _own_contact(ctx)
    choices = [Choice("shr:me", shorten(me, 60))] if me else []
    await ctx.reply("practices.ask_contact", choices=[*choices, *_nav(ctx, optional=True)])


def _own_contact(ctx: Ctx) -> str:
    officer = ctx.officer
    if officer is None:
        return ""
    return f"{officer.name} <{officer.email}>" if officer.email else officer.name


async def take_contact(ctx: Ctx, data: ShareState, choice: str | None, text: str) -> bool:
    value = _own_contact(ctx) if choice == "me" else clean_text("contact", text)
    if not text_ok("contact", value):
        low, high = LENGTHS["contact"]
        await ctx.reply("practices.length", low=low, high=high)
        return False
    data["contact"] = value
    return True


async def ask_confirm(ctx: Ctx, data: ShareState) -> None:
    draft = _practice_of(ctx, data)
    authority = ctx.officer.authority if ctx.officer else None
    label = f"{authority.name} ({authority.country})" if authority else "—"
    await ctx.reply(
        "practices.confirm",
        card=practice_card(ctx.content, ctx.locale, draft, label),
        choices=[
            Choice("shr:submit", ctx.t("practices.submit")),
            Choice("shr:back", ctx.t("practices.back")),
            Choice("shr:cancel", ctx.t("practices.cancel")),
        ],
    )


async def take_confirm(ctx: Ctx, data: ShareState, choice: str | None, text: str) -> bool:
    if choice == "submit" or fold(text) in {"submit", "yes", "ok", "send"}:
        return True
    await ask_confirm(ctx, data)
    return False


STEPS: list[Step] = [
    _text_step("title"),
    Step("sector", ask_sector, take_sector),
    Step("instruments", ask_instruments, take_instruments),
    Step("amount", ask_amount, take_amount, optional=True),
    Step("funding", ask_funding, take_funding, optional=True),
    _text_step("results"),
    _figure_step("savings_mwh"),
    _figure_step("renewable_mwh"),
    _figure_step("co2_t"),
    Step("year", ask_year, take_year, optional=True),
    _text_step("lessons", optional=True),
    Step("contact", ask_contact, take_contact, optional=True),
    Step("confirm", ask_confirm, take_confirm),
]
INDEX = {s.name: i for i, s in enumerate(STEPS)}


def _practice_of(ctx: Ctx, data: ShareState) -> GoodPractice:
    officer = ctx.officer
    named: tuple[tuple[str, Literal["funding", "lessons", "contact"]], ...] = (
        ("funding_mix", "funding"),
        ("lessons", "lessons"),
        ("contact", "contact"),
    )
    figures = {key: data[field_] for key, field_ in named if data.get(field_)}
    mix = data.get("instrument_mix") or None
    instruments = list(data.get("instruments", []))
    return GoodPractice(
        authority_id=officer.authority_id if officer else None,
        officer_id=officer.id if officer else None,
        sector=data.get("sector", "cross_sector"),
        instruments=[*instruments, *(c for c in mix or {} if c not in instruments)],
        title=data.get("title", ""),
        summary=data.get("results", ""),
        figures=figures,
        investment_eur=data.get("amount_eur"),
        instrument_mix=mix,
        savings_mwh=data.get("savings_mwh"),
        renewable_mwh=data.get("renewable_mwh"),
        co2_t=data.get("co2_t"),
        year=data.get("year"),
        status=PENDING,
        created_at=ctx.clock.now(),
    )


async def _go(ctx: Ctx, data: ShareState, index: int) -> None:
    index = max(0, index)
    if index >= len(STEPS):
        await submit(ctx, data)
        return
    await ctx.set_state(FLOW, STEPS[index].name, data)
    await STEPS[index].ask(ctx, data)


@router.command("share", member=True)
async def start_share(event: Incoming, ctx: Ctx) -> None:
    """Start describing a financing good practice of the caller's authority."""
    await ctx.reply("practices.share_intro")
    await _go(ctx, {}, 0)


@router.flow(FLOW)
async def answer_share(event: Incoming, ctx: Ctx) -> None:
    """Take a typed answer to the pending `/share` question."""
    await _advance(ctx, None, event.text)


@router.choice("shr")
async def press_share(event: Incoming, ctx: Ctx) -> None:
    """Take a pressed choice of the pending `/share` question."""
    await _advance(ctx, (event.choice or "").partition(":")[2], "")


async def _advance(ctx: Ctx, choice: str | None, text: str) -> None:
    state = await ctx.state()
    if state is None or state.flow != FLOW or state.step not in INDEX or ctx.officer is None:
        await ctx.reply("errors.expired_choice")
        return
    data, index = cast(ShareState, dict(state.data)), INDEX[state.step]
    step, word = STEPS[index], fold(text)
    if choice == "cancel" or (not choice and word in CANCEL_WORDS):
        await ctx.clear_state()
        await ctx.reply("practices.cancelled")
        return
    if choice == "back" or (not choice and word in BACK_WORDS):
        await _go(ctx, data, index - 1)
        return
    if step.optional and (choice == "skip" or (not choice and means(ctx.content.t, "skip", text))):
        await _go(ctx, data, index + 1)
        return
    if not choice and not text.strip():
        await step.ask(ctx, data)
        return
    if await step.take(ctx, data, choice, text):
        await _go(ctx, data, index + 1)
    else:
        await ctx.set_state(FLOW, step.name, data)


async def submit(ctx: Ctx, data: ShareState) -> None:
    """Store the practice as pending and ask the coordinators to review it."""
    practice = await ctx.uow.practices.add(_practice_of(ctx, data))
    await ctx.clear_state()
    await notify_reviewers(ctx.uow, ctx.content, ctx.secret, practice, ctx.officer)
    await ctx.reply("practices.submitted", title=practice.title)


async def notify_reviewers(
    uow: UnitOfWork, content: Content, secret: bytes, practice: GoodPractice, author: Officer | None
) -> int:
    """Queue the review request to the author's programme's coordinators."""
    programme_id = author.programme_id if author else None
    coordinators = list(await uow.officers.coordinators(programme_id))
    coordinators = coordinators or list(await uow.officers.coordinators())
    authority = await authority_label(uow, practice)
    queued = 0
    for coordinator in coordinators:
        locale = content.t.resolve(coordinator.locale)
        queued += await queue_to_officer(
            uow,
            content,
            secret,
            coordinator,
            "practices.review_request",
            idempotency_key=f"practice:{practice.id}:review:{coordinator.id}",
            values={
                "author": author.name if author else "—",
                "card": practice_card(content, locale, practice, authority),
            },
            choices=review_choices(content, locale, practice.id),
            purpose="practice",
            ref_id=practice.id,
        )
    return queued


def review_choices(content: Content, locale: str, practice_id: int) -> list[Choice]:
    return [
        Choice(f"prc:ok:{practice_id}", content.t(locale, "practices.approve")),
        Choice(f"prc:no:{practice_id}", content.t(locale, "practices.reject")),
    ]


# -- review ----------------------------------------------------------------------------------


@dataclass
class Reviewed:
    """What a review did: the practice, and whether its status changed."""

    practice: GoodPractice | None
    changed: bool = False


async def review(
    uow: UnitOfWork,
    content: Content,
    secret: bytes,
    practice_id: int,
    approve: bool,
    reviewer: Officer | None,
    now: datetime,
) -> Reviewed:
    """Approve or reject a pending practice and tell its author (once; the row is locked)."""
    practice = await uow.practices.lock(practice_id)
    if practice is None:
        return Reviewed(None)
    status = APPROVED if approve else REJECTED
    if practice.status == status:
        return Reviewed(practice)
    practice.status = status
    practice.reviewed_at = now
    practice.reviewed_by_id = reviewer.id if reviewer else None
    author = await uow.officers.get(practice.officer_id) if practice.officer_id else None
    if author is not None:
        await queue_to_officer(
            uow,
            content,
            secret,
            author,
            f"practices.{status}_author",
            idempotency_key=f"practice:{practice.id}:{status}",
            values={"title": practice.title},
            purpose="practice",
            ref_id=practice.id,
        )
    await uow.flush()
    return Reviewed(practice, True)


@router.choice("prc", coordinator=True)
async def press_review(event: Incoming, ctx: Ctx) -> None:
    """A coordinator approves or rejects a practice from the review message."""
    _, action, arg = ((event.choice or "") + "::").split(":", 2)
    arg = arg.rstrip(":")
    if action not in ("ok", "no") or not arg.isdigit():
        await ctx.reply("errors.expired_choice")
        return
    done = await review(
        ctx.uow, ctx.content, ctx.secret, int(arg), action == "ok", ctx.officer, ctx.clock.now()
    )
    if done.practice is None:
        await ctx.reply("practices.missing", id=arg)
        return
    await ctx.reply(
        f"practices.{done.practice.status}_review", title=done.practice.title, id=done.practice.id
    )


async def show_pending(ctx: Ctx) -> None:
    """Coordinators: the practices waiting for review, each with approve/reject."""
    pending = await ctx.uow.practices.list(status=PENDING)
    if not pending:
        await ctx.reply("practices.none_pending")
        return
    for practice in pending[:10]:
        card = practice_card(
            ctx.content, ctx.locale, practice, await authority_label(ctx.uow, practice)
        )
        await ctx.send(card, choices=review_choices(ctx.content, ctx.locale, practice.id))


# -- search ----------------------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    return [
        t
        for t in re.split(r"[^\w]+", fold(text))
        if len(t) >= 3 and t not in STOP_WORDS and not t.isdigit()
    ]


def _similar(a: str, b: str) -> float:
    if a == b:
        return 1.0
    prefix = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        prefix += 1
    if prefix >= 5 or (prefix >= 4 and prefix == min(len(a), len(b))):
        return 0.9
    ratio = fuzz.ratio(a, b) / 100
    return ratio if ratio >= 0.8 else 0.0


@dataclass
class Hit:
    """A practice found by a search, with its score in [0, 1]."""

    practice: GoodPractice
    score: float
    authority: str = ""
    why: list[str] = field(default_factory=list)


def score_practice(query: str, practice: GoodPractice, authority: str, taxonomy: Taxonomy) -> float:
    """How well a practice answers a few words: fuzzy token overlap, taxonomy codes on top."""
    words = _tokens(query)
    if not words:
        return 0.0
    labels = [
        name
        for group, codes in (("sectors", [practice.sector]), ("instruments", practice.instruments))
        for code in codes
        for name in [code.replace("_", " "), *taxonomy.labels.get(group, {}).get(code, {}).values()]
    ]
    title = _tokens(practice.title)
    body = _tokens(" ".join([practice.summary, authority, *labels, *_figure_texts(practice)]))
    total = 0.0
    for word in words:
        best_title = max((_similar(word, t) for t in title), default=0.0)
        best_body = max((_similar(word, t) for t in body), default=0.0)
        total += max(best_title, 0.85 * best_body)
    score = total / len(words)
    instrument = taxonomy.match("instruments", query)
    sector = taxonomy.match("sectors", query)
    if instrument and instrument in practice.instruments:
        score = max(score, 0.9)
    if sector and sector == practice.sector:
        score = max(score, 0.75)
    return round(score, 3)


def _figure_texts(practice: GoodPractice) -> list[str]:
    figures = practice.figures or {}
    return [str(figures.get(k) or "") for k in ("funding_mix", "lessons")]


async def search(
    uow: UnitOfWork, query: str, taxonomy: Taxonomy, limit: int = SEARCH_LIMIT
) -> list[Hit]:
    """Approved practices matching a few words, best first."""
    hits = []
    for practice in await uow.practices.list(status=APPROVED):
        authority = await authority_label(uow, practice)
        score = score_practice(query, practice, authority, taxonomy)
        if score >= SEARCH_CUTOFF:
            hits.append(Hit(practice, score, authority))
    hits.sort(key=lambda h: (-h.score, -(h.practice.year or 0), h.practice.id))
    return hits[:limit]


@router.command("practices", member=True, group=True)
async def search_practices(event: Incoming, ctx: Ctx) -> None:
    """`/practices <words>`: search approved good practices (coordinators: `/practices review`)."""
    words = event.args.strip()
    if ctx.is_coordinator and fold(words) in {"review", "pending"}:
        await show_pending(ctx)
        return
    if not words:
        recent = list(await ctx.uow.practices.list(status=APPROVED))[-SEARCH_LIMIT:]
        if not recent:
            await ctx.reply("practices.none_yet")
            return
        cards = [
            practice_card(ctx.content, ctx.locale, p, await authority_label(ctx.uow, p))
            for p in reversed(recent)
        ]
        await ctx.reply("practices.recent", cards="\n\n".join(cards))
        return
    hits = await search(ctx.uow, words, ctx.content.taxonomy)
    if not hits:
        await ctx.reply("practices.no_hits", query=words[:80])
        return
    cards = [practice_card(ctx.content, ctx.locale, h.practice, h.authority) for h in hits]
    await ctx.reply("practices.hits", query=words[:80], cards="\n\n".join(cards))


# -- FAQ citation ----------------------------------------------------------------------------


CITATION_TTL = 5.0
"""Seconds a citation line is reused. Practices and authorities changed in this process
invalidate it at once (`PracticeRepo.cited_version`); a change made by another process (the
CLI, the web console in its own process, another bot) shows within these seconds. Every FAQ
answer cites, so without the cache each one costs a query on the practices."""
CITATION_ENTRIES = 512
citation_clock: Callable[[], float] = time.monotonic
"""The cache's clock (seconds; tests move it)."""
_citations: dict[tuple[Any, ...], tuple[float, Content | None, str | None]] = {}


def forget_citations() -> None:
    """Drop every cached citation line (benchmarks measure the query behind it)."""
    _citations.clear()


async def practices_citation(
    uow: UnitOfWork,
    instruments: Sequence[str],
    locale: str,
    content: Content | None = None,
    limit: int = 3,
) -> str | None:
    """'Cities that did this: Ghent — EPC for 40,000 street lights (2019): €12M via EPC,
    1,200 MWh/year saved; …' or None.

    Approved practices sharing an instrument with an FAQ answer, most instruments in common
    first, then the most recent; the repository selects only those, at most `limit`. With
    `content` the line is the catalogue's `practices.citation` in `locale`, each practice with
    its figures in the reader's number format; without it, only the list of practices.
    The line is cached in the process for `CITATION_TTL` seconds.
    """
    repo = uow.practices
    key = (repo.cited_version(), tuple(sorted(set(instruments))), locale, id(content), limit)
    now = citation_clock()
    hit = _citations.get(key)
    if hit is not None and hit[0] > now and hit[1] is content:
        return hit[2]
    line = await _citation(repo, instruments, locale, content, limit)
    if len(_citations) >= CITATION_ENTRIES:
        _citations.clear()
    _citations[key] = (now + CITATION_TTL, content, line)
    return line


async def _citation(
    repo: PracticeRepo,
    instruments: Sequence[str],
    locale: str,
    content: Content | None,
    limit: int,
) -> str | None:
    found = await repo.cited_for(instruments, limit)
    if not found:
        return None
    items = []
    for practice, authority in found:
        year = f" ({practice.year})" if practice.year else ""
        item = f"{authority.name if authority else '—'} — {practice.title}{year}"
        figures = citation_figures(content, locale, practice) if content else ""
        if content and figures:
            item = content.t(locale, "practice_figures.cited", item=item, figures=figures)
        items.append(item)
    if content is None:
        return "; ".join(items)
    listed = content.t(locale, "practice_figures.separator").join(items)
    return content.t(locale, "practices.citation", items=listed)
