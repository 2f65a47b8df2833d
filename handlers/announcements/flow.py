"""Coordinator announcements: compose (`/broadcast` or the CLI), preview, confirm, schedule,
expand into one outbox row per recipient, and report delivery to the author.

The `announcements` job turns a due announcement into outbox rows (key `ann:<id>:<officer>`)
in chunks, saving its cursor after each chunk: expansion is idempotent and resumes after a crash.
When every row is final it marks the announcement done and queues a summary to its author.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypedDict, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime

from handlers.announcements.audience import (
    NOT_REACHED,
    Audience,
    parse_audience,
    programme_ids,
    recipients,
    select_chunk,
    survey,
)
from handlers.announcements.reach import (
    BLOCKED,
    NO_ACCOUNT,
    SHOWN,
    Unreached,
    start_link,
    who_line,
)
from handlers.announcements.stored import (
    DraftPoll,
    Poll,
    StoredAudience,
    audience_of,
    missed_by_officer,
    poll_of,
    scope_ids,
)
from handlers.audit.service import Coordinator
from handlers.core.content import Content
from handlers.core.context import Ctx
from handlers.core.date_phrases import moment_text
from handlers.core.events import Incoming
from handlers.core.i18n import Translator
from handlers.core.jobs import JobCtx, job
from handlers.core.ports import Messenger
from handlers.core.replies import Choice
from handlers.core.router import router
from handlers.core.taxonomy import fold, language_name
from handlers.delivery.outbox import BULK, officer_locale, payload, queue_to_officer, signed_choices
from storage.models import Announcement, Identity, Officer, PollAnswer
from storage.repositories.announcements import (
    CANCELLED,
    DONE,
    PURPOSE,
    SCHEDULED,
    SENDING,
)
from storage.repositories.audience import AudienceRow
from storage.repositories.outbox import row as outbox_row
from storage.uow import UnitOfWork

FLOW = "broadcast"
CHUNK = 2000
MAX_TEXT = 3500
MAX_OPTIONS = 10
TRANSLATION_LANGS = ("en", "fr", "de", "es", "it", "pt", "nl", "pl", "el", "ro")
CLOSE_DAYS = (3, 7, 14)
KINDS = ("single", "multi", "text")


class BroadcastState(TypedDict, total=False):
    """The announcement being composed in chat: `Conversation.data` of the `broadcast` flow."""

    text: str
    lang: str
    translations: dict[str, str]
    poll: DraftPoll | None
    audience: dict[str, list[str]]
    """`Audience.to_json` of the chosen filter."""
    tr_lang: str
    """The language of the translation asked for next."""
    q: str
    q_kind: str
    q_options: list[str]
    """The question, its kind and options while they are asked, until they become `poll`."""


# -- rendering for a recipient -------------------------------------------------------------


def reading_lang(ann: Announcement, officer: Officer, identity: Identity | None) -> str:
    """The language an officer reads an announcement in: theirs (profile, then chat app) when
    it is the original's or a translation's, else one they work in, else the original's."""
    translations = {str(k) for k, v in (ann.translations or {}).items() if v}
    wanted = [officer.locale, identity.locale if identity else None]
    for lang in [w.split("-")[0].lower() for w in wanted if w]:
        if lang == ann.lang or lang in translations:
            return lang
    spoken = [str(c) for c in officer.languages]
    if ann.lang in spoken or not spoken:
        return ann.lang
    return next((lang for lang in spoken if lang in translations), ann.lang)


def text_for(ann: Announcement, officer: Officer, identity: Identity | None) -> str:
    """The announcement in the officer's language when a translation was given."""
    lang = reading_lang(ann, officer, identity)
    return ann.text if lang == ann.lang else str((ann.translations or {})[lang])


def question_for(ann: Announcement, officer: Officer, identity: Identity | None) -> str:
    """A survey's question in the language the officer reads the announcement in, when the
    coordinator translated it (`poll["translations"]`), else as written."""
    poll = poll_of(ann.poll)
    if poll is None:
        return ""
    translated = poll.get("translations", {}).get(reading_lang(ann, officer, identity))
    return translated or poll["question"]


def when_text(
    moment: datetime | None, timezone: str, locale: str, t: Translator | None = None
) -> str:
    """A moment in a person's time zone and language, worded by the catalogue's `dates.*`
    when given `t` (`martes 15 de diciembre de 2026, 17:00 h`), else `1 Dec 2026, 09:00`."""
    if t is not None:
        return moment_text(t, locale, moment, timezone)
    if moment is None:
        return "—"
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    try:
        return format_datetime(moment, "d MMM y, HH:mm", tzinfo=zone, locale=locale)
    except (ValueError, TypeError):
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def poll_choices(
    ann: Announcement, t_locale: Any, answer: PollAnswer | None = None
) -> tuple[list[Choice], bool]:
    """The buttons of an announcement's question, ticks for a multi-select answer so far."""
    poll = poll_of(ann.poll)
    kind = poll["kind"] if poll else "single"
    options = poll["options"] if poll else []
    chosen = {int(c) for c in (answer.choices if answer else [])}
    if kind == "text":
        return [Choice(f"poll:{ann.id}:write", t_locale("poll.write"))], False
    if kind == "multi":
        ticks = [
            Choice(f"poll:{ann.id}:{i}", label, selected=i in chosen)
            for i, label in enumerate(options)
        ]
        return [*ticks, Choice(f"poll:{ann.id}:done", t_locale("poll.done"))], True
    return [Choice(f"poll:{ann.id}:{i}", label) for i, label in enumerate(options)], False


def render(
    ann: Announcement,
    officer: Officer,
    identity: Identity | None,
    content: Content,
    answer: PollAnswer | None = None,
    intro: str = "broadcast.message",
) -> tuple[str, list[Choice], bool]:
    """The text, buttons and multi-select flag an officer gets for an announcement."""
    locale = officer_locale(officer, content, identity)

    def t(key: str, **values: Any) -> str:
        return content.t(locale, key, **values)

    text = t(intro, text=text_for(ann, officer, identity))
    poll = poll_of(ann.poll)
    if poll is None:
        return text, [], False
    closes = when_text(ann.closes_at, officer.timezone, locale, content.t)
    question = question_for(ann, officer, identity)
    text += "\n\n" + t(f"poll.ask_{poll['kind']}", question=question)
    if ann.closes_at is not None:
        text += "\n" + t("poll.closes", when=closes)
    choices, multi = poll_choices(ann, t, answer)
    return text, choices, multi


class Renderer:
    """`render` for the rows of an audience, once per distinct reader: the text depends only
    on the officer's locale and languages, their account's locale and (for a question's
    closing time) their time zone, so 20,000 officers are a few dozen renderings."""

    def __init__(self, ann: Announcement, content: Content) -> None:
        self.ann = ann
        self.content = content
        self.done: dict[tuple[Any, ...], tuple[str, list[Choice], bool]] = {}

    def __call__(self, row: AudienceRow) -> tuple[str, list[Choice], bool]:
        zone = row.timezone if self.ann.poll else ""
        key = (row.locale, row.languages_json, row.identity_locale, zone)
        found = self.done.get(key)
        if found is None:
            officer = Officer(locale=row.locale, languages=list(row.languages), timezone=zone)
            identity = Identity(locale=row.identity_locale, platform=row.platform)
            found = self.done[key] = render(self.ann, officer, identity, self.content)
        return found


# -- creating, previewing, reporting -------------------------------------------------------


def make_poll(question: str, kind: str, options: Sequence[str], content: Content) -> Poll:
    """The stored form of a question: options mapped to instrument codes where they name one."""
    labels = [" ".join(o.split())[:60] for o in options if o.strip()][:MAX_OPTIONS]
    codes = [content.taxonomy.match("instruments", label, cutoff=90) for label in labels]
    return {"question": question.strip()[:500], "kind": kind, "options": labels, "codes": codes}


async def store(
    uow: UnitOfWork,
    *,
    text: str,
    audience: Audience,
    scope: Sequence[int] | None,
    programme_id: int | None,
    author_id: int | None,
    now: datetime,
    lang: str = "en",
    translations: dict[str, str] | None = None,
    poll: Poll | None = None,
    closes_at: datetime | None = None,
    send_at: datetime | None = None,
) -> Announcement:
    """Store a confirmed announcement; the `announcements` job sends it when it is due.
    Coordinators' announcements come through `service.create`, which checks them first."""
    data = cast(StoredAudience, dict(audience.to_json()))
    data["scope"] = list(scope) if scope is not None else None
    return await uow.announcements.add(
        Announcement(
            programme_id=programme_id,
            author_id=author_id,
            text=text,
            lang=lang,
            translations=dict(translations or {}),
            audience=data,
            poll=poll,
            send_at=send_at or now,
            closes_at=closes_at,
            status=SCHEDULED,
            recipients=await recipients(uow, audience, scope),
            created_at=now,
        )
    )


def cancel_scheduled(ann: Announcement) -> bool:
    """Stop an announcement that has not started going out (chat, CLI and console alike);
    whether it was stopped (False once it is sending, done or cancelled)."""
    if ann.status != SCHEDULED:
        return False
    ann.status = CANCELLED
    return True


def scope_of(ann: Announcement) -> list[int] | None:
    return scope_ids(audience_of(ann.audience))


async def status_json(uow: UnitOfWork, ann: Announcement) -> dict[str, Any]:
    """The delivery report: `{"id","total","sent","pending","failed","undeliverable",…}`."""
    counts = await uow.outbox.counts(PURPOSE, ann.id)
    queued = sum(counts.values())
    total = queued if ann.expanded_at is not None else max(ann.recipients, queued)
    sent, failed, gone = counts["sent"], counts["failed"], counts["undeliverable"]
    return {
        **await not_reached(uow, ann),
        "id": ann.id,
        "total": total,
        "sent": sent,
        "pending": total - sent - failed - gone,
        "failed": failed,
        "undeliverable": gone,
        "started_at": ann.started_at.isoformat() if ann.started_at else None,
        "finished_at": ann.finished_at.isoformat() if ann.finished_at else None,
    }


async def not_reached(uow: UnitOfWork, ann: Announcement) -> dict[str, Any]:
    """Who of the audience got nothing, by name: never pressed Start, blocked, no account.

    Officers left out when the announcement was expanded, and those whose row the platform
    refused for good (`blocked` when it says so, else `undeliverable`).
    """
    why = missed_by_officer(audience_of(ann.audience))
    for officer_id, error in (await uow.reach.refused_of(PURPOSE, ann.id)).items():
        why[officer_id] = BLOCKED if "block" in error.lower() else "undeliverable"
    people = [
        {"name": officer.name, "email": officer.email, "why": why[officer.id]}
        for officer in await uow.announcements.officers(sorted(why))
    ]
    return {
        "not_started": sum(v == "not_started" for v in why.values()),
        "blocked": sum(v == BLOCKED for v in why.values()),
        "not_reached": people,
    }


async def report_to(uow: UnitOfWork, ann: Announcement) -> Sequence[Officer]:
    """Who hears about an announcement's outcome: its author, else the programme's coordinators."""
    author = await uow.officers.get(ann.author_id) if ann.author_id else None
    if author is not None:
        return [author]
    return await uow.officers.coordinators(ann.programme_id)


# -- the due-work job ----------------------------------------------------------------------


@job("announcements")
async def send_announcements(core: JobCtx, messengers: dict[str, Messenger]) -> int:
    """Start due announcements, expand them into outbox rows, report the finished ones."""
    now = core.clock.now()
    async with core.uow() as uow:
        repo = uow.announcements
        for ann in await repo.due(now):
            ann.status = SENDING
            ann.started_at = ann.started_at or now
        await uow.commit()
        ids = await repo.sending_ids()
    done = 0
    for ann_id in ids:
        done += await expand(core, ann_id)
        done += await finish_if_delivered(core, ann_id)
    return done


async def expand(core: JobCtx, ann_id: int) -> int:
    """Queue the recipients of an announcement, chunk by chunk; returns the rows added."""
    added = 0
    while True:
        async with core.uow() as uow:
            ann = await uow.announcements.locked(ann_id)
            if ann is None or ann.status != SENDING or ann.expanded_at is not None:
                return added
            content = await core.content.of_programme(uow, ann.programme_id)
            audience = Audience.from_json(ann.audience)
            last, chunk = await select_chunk(
                uow, audience, scope_of(ann), ann.expanded_through or 0, CHUNK
            )
            if last is None:
                counts = await uow.outbox.counts(PURPOSE, ann.id)
                ann.recipients = sum(counts.values())
                ann.expanded_at = core.clock.now()
                await uow.commit()
                return added
            rows = []
            skipped: dict[int, str] = {}
            rendered = Renderer(ann, content)
            for recipient in chunk:
                if recipient.why is not None or not recipient.chat_id:
                    skipped[recipient.officer_id] = recipient.why or NO_ACCOUNT
                    continue  # never pressed Start, blocked the bot, or no chat account
                text, choices, multi = rendered(recipient)
                wire = signed_choices(core.secret, recipient.chat_id, choices)
                rows.append(
                    outbox_row(
                        f"ann:{ann.id}:{recipient.officer_id}",
                        str(recipient.platform),
                        recipient.chat_id,
                        payload(text, wire, multi),
                        officer_id=recipient.officer_id,
                        purpose=PURPOSE,
                        ref_id=ann.id,
                        priority=BULK,
                    )
                )
            added += await uow.outbox.enqueue_many(rows)
            before = dict(ann.audience or {})  # kept as stored, whatever it holds
            missed = dict(audience_of(before).get("not_reached", {}))
            missed.update({str(k): v for k, v in skipped.items()})
            ann.audience = {
                **before,
                "unreachable": sum(v == NO_ACCOUNT for v in missed.values()),
                "not_reached": missed,
            }
            ann.expanded_through = last
            await uow.commit()


async def finish_if_delivered(core: JobCtx, ann_id: int) -> int:
    """Mark an expanded announcement done when no row is left to send; report to its author."""
    async with core.uow() as uow:
        ann = await uow.announcements.locked(ann_id)
        if ann is None or ann.status != SENDING or ann.expanded_at is None:
            return 0
        report = await status_json(uow, ann)
        if report["pending"]:
            return 0
        ann.status = DONE
        ann.finished_at = core.clock.now()
        content = await core.content.of_programme(uow, ann.programme_id)
        unreachable = audience_of(ann.audience).get("unreachable", 0)
        for officer in await report_to(uow, ann):
            await queue_to_officer(
                uow,
                content,
                core.secret,
                officer,
                "broadcast.summary",
                idempotency_key=f"ann-summary:{ann.id}:{officer.id}",
                values={**report, "unreachable": unreachable, "took": _took(ann)},
                purpose="announcement-report",
                ref_id=ann.id,
            )
            if report["not_reached"]:
                locale = officer_locale(officer, content)
                names = [
                    f"• {p['name']} ({content.t(locale, 'broadcast.why_' + p['why'])})"
                    for p in report["not_reached"][:SHOWN]
                ]
                await queue_to_officer(
                    uow,
                    content,
                    core.secret,
                    officer,
                    "broadcast.summary_not_reached",
                    idempotency_key=f"ann-summary:{ann.id}:{officer.id}:names",
                    values={"count": len(report["not_reached"]), "lines": "\n".join(names)},
                    purpose="announcement-report",
                    ref_id=ann.id,
                )
        await uow.commit()
        return 1


def _took(ann: Announcement) -> str:
    if ann.started_at is None or ann.finished_at is None:
        return "—"
    seconds = int((ann.finished_at - ann.started_at).total_seconds())
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


# -- the chat flow -------------------------------------------------------------------------


@router.command("broadcast", coordinator=True)
async def start_broadcast(event: Incoming, ctx: Ctx) -> None:
    """Compose an announcement; also `/broadcast list|status ID|results ID|cancel ID`."""
    word, _, rest = event.args.partition(" ")
    action = word.lower()
    if action == "list" and not rest.strip():
        await _list(ctx)
        return
    if action in ("status", "results", "cancel") and rest.strip().lstrip("#").isdigit():
        await _manage(ctx, action, int(rest.strip().lstrip("#")))
        return
    data: BroadcastState = {"translations": {}, "poll": None, "audience": {}, "lang": ctx.locale}
    if event.args.strip():
        if not await _take_text(ctx, data, event.args):
            await ctx.set_state(FLOW, "text", data)
        return
    await ctx.set_state(FLOW, "text", data)
    await ctx.reply("broadcast.ask_text", choices=[Choice("bc:cancel", ctx.t("broadcast.cancel"))])


@router.flow(FLOW)
async def answer_broadcast(event: Incoming, ctx: Ctx) -> None:
    """Take the text the pending step of the announcement asks for."""
    await _advance(ctx, None, event.text)


@router.choice("bc", coordinator=True)
async def press_broadcast(event: Incoming, ctx: Ctx) -> None:
    """Take a pressed choice of the announcement being composed."""
    await _advance(ctx, (event.choice or "").partition(":")[2], "")


async def _advance(ctx: Ctx, choice: str | None, text: str) -> None:
    state = await ctx.state()
    if state is None or state.flow != FLOW:
        await ctx.reply("errors.expired_choice")
        return
    if not ctx.is_coordinator:
        await ctx.clear_state()
        await ctx.reply("errors.coordinators_only")
        return
    data = cast(BroadcastState, dict(state.data))
    if choice == "cancel" or (choice is None and fold(text) in {"cancel", "stop", "annuler"}):
        await ctx.clear_state()
        await ctx.reply("broadcast.cancelled")
        return
    step = state.step
    handler = STEPS.get(step)
    if handler is None:
        await ctx.clear_state()
        await ctx.reply("errors.expired_choice")
        return
    await handler(ctx, data, choice, text)


async def _take_text(ctx: Ctx, data: BroadcastState, text: str) -> bool:
    body = text.strip()
    if not body:
        await ctx.reply("broadcast.ask_text")
        return False
    if len(body) > MAX_TEXT:
        await ctx.reply("broadcast.too_long", limit=MAX_TEXT)
        return False
    data["text"] = body
    await _menu(ctx, data)
    return True


async def _step_text(ctx: Ctx, data: BroadcastState, choice: str | None, text: str) -> None:
    await _take_text(ctx, data, text)


async def _menu(ctx: Ctx, data: BroadcastState) -> None:
    await ctx.set_state(FLOW, "menu", data)
    translations = ", ".join(language_name(k, ctx.locale) for k in data.get("translations", {}))
    poll = data.get("poll")
    await ctx.reply(
        "broadcast.menu",
        translations=translations or "—",
        question=poll["question"] if poll else "—",
        choices=[
            Choice("bc:tr", ctx.t("broadcast.add_translation")),
            Choice("bc:q", ctx.t("broadcast.add_question")),
            Choice("bc:aud", ctx.t("broadcast.choose_audience")),
            Choice("bc:cancel", ctx.t("broadcast.cancel")),
        ],
    )


async def _step_menu(ctx: Ctx, data: BroadcastState, choice: str | None, text: str) -> None:
    if choice == "tr":
        await ctx.set_state(FLOW, "tr_lang", data)
        langs = [c for c in TRANSLATION_LANGS if c != data.get("lang")]
        await ctx.reply(
            "broadcast.ask_translation_lang",
            choices=[Choice(f"bc:lang:{c}", language_name(c, ctx.locale)) for c in langs],
        )
    elif choice == "q":
        await ctx.set_state(FLOW, "q_text", data)
        await ctx.reply("broadcast.ask_question")
    elif choice == "aud":
        await _ask_audience(ctx, data)
    else:
        await _menu(ctx, data)


async def _step_tr_lang(ctx: Ctx, data: BroadcastState, choice: str | None, text: str) -> None:
    from handlers.core.taxonomy import match_language

    code = choice.partition(":")[2] if choice and choice.startswith("lang:") else None
    code = code or match_language(text)
    if code is None:
        await ctx.reply("broadcast.unknown_language", answer=text[:40])
        return
    data["tr_lang"] = code
    await ctx.set_state(FLOW, "tr_text", data)
    await ctx.reply("broadcast.ask_translation", language=language_name(code, ctx.locale))


async def _step_tr_text(ctx: Ctx, data: BroadcastState, choice: str | None, text: str) -> None:
    body = text.strip()
    if not body or len(body) > MAX_TEXT:
        await ctx.reply("broadcast.too_long", limit=MAX_TEXT)
        return
    data.setdefault("translations", {})[data.pop("tr_lang")] = body
    await _menu(ctx, data)


async def _step_q_text(ctx: Ctx, data: BroadcastState, choice: str | None, text: str) -> None:
    question = text.strip()
    if len(question) < 3:
        await ctx.reply("broadcast.ask_question")
        return
    data["q"] = question[:500]
    await ctx.set_state(FLOW, "q_kind", data)
    await ctx.reply(
        "broadcast.ask_kind",
        choices=[Choice(f"bc:kind:{k}", ctx.t(f"broadcast.kind_{k}")) for k in KINDS],
    )


async def _step_q_kind(ctx: Ctx, data: BroadcastState, choice: str | None, text: str) -> None:
    kind = choice.partition(":")[2] if choice and choice.startswith("kind:") else None
    if kind not in KINDS:
        await ctx.reply(
            "broadcast.ask_kind",
            choices=[Choice(f"bc:kind:{k}", ctx.t(f"broadcast.kind_{k}")) for k in KINDS],
        )
        return
    data["q_kind"] = kind
    if kind == "text":
        data["q_options"] = []
        await _ask_close(ctx, data)
        return
    await ctx.set_state(FLOW, "q_options", data)
    await ctx.reply("broadcast.ask_options", max=MAX_OPTIONS)


async def _step_q_options(ctx: Ctx, data: BroadcastState, choice: str | None, text: str) -> None:
    options = [o.strip() for o in re.split(r"[;\n]", text) if o.strip()]
    if not 2 <= len(options) <= MAX_OPTIONS:
        await ctx.reply("broadcast.ask_options", max=MAX_OPTIONS)
        return
    data["q_options"] = options
    await _ask_close(ctx, data)


async def _ask_close(ctx: Ctx, data: BroadcastState) -> None:
    await ctx.set_state(FLOW, "q_close", data)
    await ctx.reply(
        "broadcast.ask_close",
        choices=[Choice(f"bc:close:{d}", ctx.t("broadcast.in_days", days=d)) for d in CLOSE_DAYS],
    )


async def _step_q_close(ctx: Ctx, data: BroadcastState, choice: str | None, text: str) -> None:
    now = ctx.clock.now()
    if choice and choice.startswith("close:") and choice[6:].isdigit():
        closes = now + timedelta(days=int(choice[6:]))
    else:
        found = parse_when(text, _tz(ctx), now)
        if found is None:
            await ctx.reply("broadcast.bad_time", answer=text[:40])
            return
        closes = found
    poll: DraftPoll = {
        **make_poll(data.pop("q"), data.pop("q_kind"), data.pop("q_options"), ctx.content),
        "closes_at": closes.isoformat(),
    }
    data["poll"] = poll
    await _menu(ctx, data)


async def _ask_audience(ctx: Ctx, data: BroadcastState) -> None:
    await ctx.set_state(FLOW, "audience", data)
    await ctx.reply(
        "broadcast.ask_audience",
        choices=[
            Choice("bc:everyone", ctx.t("broadcast.everyone")),
            Choice("bc:plat:telegram", ctx.t("broadcast.only_platform", platform="Telegram")),
            Choice("bc:plat:slack", ctx.t("broadcast.only_platform", platform="Slack")),
        ],
    )


async def _step_audience(ctx: Ctx, data: BroadcastState, choice: str | None, text: str) -> None:
    if choice == "everyone":
        audience = Audience()
    elif choice and choice.startswith("plat:"):
        audience = Audience(platforms=(choice[5:],))
    else:
        audience, problems = parse_audience(text, ctx.content.taxonomy)
        if problems:
            await ctx.reply("broadcast.bad_audience", problems=", ".join(problems[:5]))
            return
    named, missing = await programme_ids(ctx.uow, audience)
    if named - set(ctx.coordinates):
        missing = [*missing, *(s for s in audience.programmes if s not in missing)]
    if missing:
        # a programme the coordinator does not run is as unknown to them as a wrong slug
        await ctx.reply("broadcast.bad_audience", problems=", ".join(missing))
        return
    data["audience"] = audience.to_json()
    await _preview(ctx, data)


async def _preview(ctx: Ctx, data: BroadcastState) -> None:
    audience = Audience.from_json(data.get("audience"))
    totals, missed = await survey(ctx.uow, audience, sorted(ctx.coordinates), SHOWN)
    reachable = {k: v for k, v in totals.items() if k not in NOT_REACHED}
    await ctx.set_state(FLOW, "preview", data)
    poll = data.get("poll")
    await _tell_not_reached(ctx, missed, totals)
    await ctx.reply(
        "broadcast.preview",
        count=sum(reachable.values()),
        platforms=", ".join(f"{k} {v}" for k, v in sorted(reachable.items())) or "—",
        unreachable=totals.get("unreachable", 0),
        audience=audience.text(),
        text=data["text"],
        translations=", ".join(sorted(data.get("translations", {}))) or "—",
        question=poll["question"] if poll else "—",
        choices=[
            Choice("bc:send", ctx.t("broadcast.send_now")),
            Choice("bc:schedule", ctx.t("broadcast.schedule")),
            Choice("bc:aud", ctx.t("broadcast.change_audience")),
            Choice("bc:cancel", ctx.t("broadcast.cancel")),
        ],
    )


async def _tell_not_reached(ctx: Ctx, missed: Sequence[Unreached], totals: dict[str, int]) -> None:
    """List who will get nothing: Telegram officers who never pressed Start (with the link to
    send them) and those who blocked the bot (the first `SHOWN` by name, the rest counted)."""
    for why in ("not_started", BLOCKED):
        people = [u.officer for u in missed if u.why == why]
        count = totals.get(why, 0)
        if not people:
            continue
        lines = "\n".join(f"• {who_line(o)}" for o in people[:SHOWN])
        if count > SHOWN:
            lines += "\n" + ctx.t("broadcast.and_more", count=count - SHOWN)
        await ctx.reply(
            f"broadcast.preview_{why}",
            count=count,
            lines=lines,
            link=start_link(ctx.messenger),
        )


async def _step_preview(ctx: Ctx, data: BroadcastState, choice: str | None, text: str) -> None:
    if choice == "send":
        await _confirm(ctx, data, None)
    elif choice == "schedule":
        await ctx.set_state(FLOW, "when", data)
        await ctx.reply("broadcast.ask_when", timezone=_tz(ctx))
    elif choice == "aud":
        await _ask_audience(ctx, data)
    else:
        await _preview(ctx, data)


async def _step_when(ctx: Ctx, data: BroadcastState, choice: str | None, text: str) -> None:
    when = parse_when(text, _tz(ctx), ctx.clock.now())
    if when is None:
        await ctx.reply("broadcast.bad_time", answer=text[:40])
        return
    await _confirm(ctx, data, when)


async def _confirm(ctx: Ctx, data: BroadcastState, send_at: datetime | None) -> None:
    # not at the top: the service builds on this module (rendering, reports)
    from handlers.announcements import service

    assert ctx.officer is not None
    poll = data.get("poll")
    closes_at = datetime.fromisoformat(poll.pop("closes_at")) if poll else None
    by = service.in_chat(
        Coordinator(ctx.officer.id, ctx.coordinates), ctx.officer.programme_id, ctx.content
    )
    try:
        ann = await service.create(
            ctx.uow,
            by,
            text=data["text"],
            audience=Audience.from_json(data.get("audience")),
            now=ctx.clock.now(),
            lang=data.get("lang") or "en",
            translations=data.get("translations"),
            poll=poll,
            closes_at=closes_at,
            send_at=send_at,
        )
    except ValueError as exc:
        if str(exc) != "closes":
            raise
        await ctx.reply("broadcast.closes_before_sending")
        return
    await ctx.clear_state()
    if send_at is None:
        await ctx.reply("broadcast.queued", id=ann.id, count=ann.recipients)
    else:
        await ctx.reply(
            "broadcast.scheduled",
            id=ann.id,
            count=ann.recipients,
            when=when_text(send_at, _tz(ctx), ctx.locale, ctx.content.t),
        )


STEPS = {
    "text": _step_text,
    "menu": _step_menu,
    "tr_lang": _step_tr_lang,
    "tr_text": _step_tr_text,
    "q_text": _step_q_text,
    "q_kind": _step_q_kind,
    "q_options": _step_q_options,
    "q_close": _step_q_close,
    "audience": _step_audience,
    "preview": _step_preview,
    "when": _step_when,
}


def _tz(ctx: Ctx) -> str:
    return ctx.officer.timezone if ctx.officer is not None else "UTC"


async def _list(ctx: Ctx) -> None:
    repo = ctx.uow.announcements
    mine = [a for a in await repo.recent(10) if _visible(ctx, a)]
    if not mine:
        await ctx.reply("broadcast.list_none")
        return
    lines = "\n".join(
        ctx.t(
            "broadcast.list_line",
            id=a.id,
            status=ctx.t(f"announcement_state.{a.status}"),
            count=a.recipients,
            text=" ".join(a.text.split())[:60],
        )
        for a in mine
    )
    await ctx.reply("broadcast.list", lines=lines)


def _visible(ctx: Ctx, ann: Announcement) -> bool:
    return ann.programme_id is None or ann.programme_id in ctx.coordinates


async def _manage(ctx: Ctx, action: str, ann_id: int) -> None:
    ann = await ctx.uow.announcements.get(ann_id)
    if ann is None or not _visible(ctx, ann):
        await ctx.reply("broadcast.not_found", id=ann_id)
        return
    if action == "status":
        report = await status_json(ctx.uow, ann)
        state = ctx.t(f"announcement_state.{ann.status}")
        await ctx.reply("broadcast.status", **{**report, "status": state})
    elif action == "results":
        from handlers.announcements.polls import results_json, results_text

        if not ann.poll:
            await ctx.reply("poll.no_question", id=ann.id)
            return
        results = await results_json(ctx.uow, ann, ctx.clock.now(), ctx.content.taxonomy)
        await ctx.send(results_text(results, ctx.content, ctx.locale, ctx.clock.now()))
    elif cancel_scheduled(ann):
        await ctx.reply("broadcast.cancelled_id", id=ann.id)
    else:
        state = ctx.t(f"announcement_state.{ann.status}")
        await ctx.reply("broadcast.cannot_cancel", id=ann.id, status=state)


# -- times written by people ---------------------------------------------------------------

_IN = re.compile(r"^in\s+(\d{1,3})\s*(min|minute|minutes|h|hour|hours|d|day|days)$")
_CLOCK = re.compile(r"^(\d{1,2})[:h.](\d{2})$")


def parse_when(text: str, timezone: str, now: datetime) -> datetime | None:
    """A future moment from `2026-12-01 09:00`, `01/12/2026 9:00`, `tomorrow 9:00`, `in 2 hours`,
    `9:30` (today, or tomorrow when past) or `5 days`; in the given time zone."""
    word = " ".join(fold(text).split())
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local_now = now.astimezone(zone)
    found: datetime | None = None
    days = re.fullmatch(r"(\d{1,3})\s*(d|day|days|jours?|tage?)", word)
    ahead = _IN.match(word)
    if ahead:
        amount, unit = int(ahead.group(1)), ahead.group(2)[0]
        found = now + (
            timedelta(minutes=amount)
            if unit == "m"
            else timedelta(hours=amount)
            if unit == "h"
            else timedelta(days=amount)
        )
    elif days:
        found = now + timedelta(days=int(days.group(1)))
    elif word.startswith(("tomorrow", "demain", "morgen")):
        rest = word.split(maxsplit=1)[1] if " " in word else "9:00"
        clock = _CLOCK.match(rest)
        if clock:
            base = (local_now + timedelta(days=1)).date()
            found = _at(base, int(clock.group(1)), int(clock.group(2)), zone)
    elif _CLOCK.match(word):
        clock = _CLOCK.match(word)
        assert clock is not None
        found = _at(local_now.date(), int(clock.group(1)), int(clock.group(2)), zone)
        if found is not None and found <= now:
            found = found + timedelta(days=1)
    else:
        found = _absolute(text.strip(), zone)
    if found is None or found <= now:
        return None
    return found


def _at(day: Any, hour: int, minute: int, zone: ZoneInfo) -> datetime | None:
    if not (0 <= hour < 24 and 0 <= minute < 60):
        return None
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)


def _absolute(text: str, zone: ZoneInfo) -> datetime | None:
    moment: datetime | None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None:
        for fmt in ("%d/%m/%Y %H:%M", "%d.%m.%Y %H:%M", "%d/%m/%Y", "%d.%m.%Y"):
            try:
                moment = datetime.strptime(text.strip(), fmt)  # noqa: DTZ007 - zone added below
                break
            except ValueError:
                continue
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)
