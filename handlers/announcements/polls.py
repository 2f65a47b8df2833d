"""Questions and needs surveys carried by announcements: answers, reminders, results.

An officer answers with buttons (one choice or several) or in writing; the answer is stored per
officer and can be changed until the question closes. Instruments an answer names (an option
mapped to a code, or "EPC", "green bonds" … in a written need) are added to the officer's wants
so that matching can use them. Halfway to the closing time (at most a day before it) those who
have not answered get one reminder; at closing, the author gets the results by country and
sector (also `/broadcast results ID` and `peerbot broadcast results ID --json`).
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta
from typing import Any, TypedDict, cast

from handlers.announcements.flow import render, report_to, when_text
from handlers.announcements.stored import poll_of
from handlers.core.content import Content
from handlers.core.context import Ctx
from handlers.core.events import Incoming
from handlers.core.jobs import JobCtx, job
from handlers.core.ports import Messenger
from handlers.core.router import router
from handlers.core.taxonomy import Taxonomy, fold
from handlers.delivery.outbox import BULK, preferred_identity, queue_to_officer
from storage.models import Announcement, Officer, PollAnswer
from storage.repositories.announcements import REMINDER
from storage.uow import UnitOfWork

TEXT_FLOW = "poll_text"
MAX_ANSWER = 2000
REMIND_BEFORE = timedelta(days=1)


class WrittenAnswerState(TypedDict):
    """`Conversation.data` of the `poll_text` flow: the announcement a written answer is for."""

    announcement: int


# -- instruments named in an answer --------------------------------------------------------


def instrument_phrases(taxonomy: Taxonomy) -> dict[str, list[str]]:
    """Per instrument code, the phrases that name it: its code, labels and acronyms."""
    phrases: dict[str, list[str]] = {}
    for code, names in taxonomy.labels.get("instruments", {}).items():
        found = {fold(code.replace("_", " "))}
        for name in names.values():
            label = fold(name)
            found.add(re.sub(r"\s*\(.*?\)", "", label).strip())
            found.update(a.strip() for a in re.findall(r"\(([^)]+)\)", label))
        phrases[code] = sorted(p for p in found if len(p) >= 3 or p in {"eu"})
    return phrases


def detect_instruments(text: str, taxonomy: Taxonomy) -> list[str]:
    """Instrument codes a free text names, e.g. "need financing advice on EPC" -> ["epc"]."""
    folded = fold(text)
    found: list[str] = []
    for code, phrases in instrument_phrases(taxonomy).items():
        for phrase in phrases:
            if re.search(r"(?<![a-z0-9])" + re.escape(phrase) + r"s?(?![a-z0-9])", folded):
                found.append(code)
                break
    return found


def add_wants(officer: Officer, codes: list[str]) -> list[str]:
    """Add instruments to an officer's wants (kept in order, no repeats); returns the new ones."""
    current = [str(c) for c in officer.wants]
    new = [c for c in codes if c and c not in current]
    if new:
        officer.wants = current + new
    return new


# -- answering -----------------------------------------------------------------------------


@router.choice("poll")
async def press_poll(event: Incoming, ctx: Ctx) -> None:
    """Answer an announcement's question with a button (or start a written answer)."""
    _, ann_arg, action = ((event.choice or "") + "::").split(":", 2)
    action = action.rstrip(":")
    ann = await ctx.uow.announcements.get(int(ann_arg)) if ann_arg.isdigit() else None
    poll = poll_of(ann.poll) if ann is not None else None
    if ann is None or poll is None:
        await ctx.reply("errors.expired_choice")
        return
    if ctx.officer is None:
        await ctx.reply("errors.join_first")
        return
    if ann.closes_at is not None and ann.closes_at <= ctx.clock.now():
        await ctx.reply(
            "poll.closed",
            when=when_text(ann.closes_at, ctx.officer.timezone, ctx.locale, ctx.content.t),
        )
        return
    options = poll["options"]
    if action == "write" and poll["kind"] == "text":
        written: WrittenAnswerState = {"announcement": ann.id}
        await ctx.set_state(TEXT_FLOW, "text", written)
        await ctx.reply("poll.write_now", question=poll["question"])
        return
    repo = ctx.uow.announcements
    answer = await repo.answer_or_new(ann.id, ctx.officer.id, ctx.clock.now())
    if action == "done" and poll["kind"] == "multi":
        picked = [options[i] for i in answer.choices if 0 <= int(i) < len(options)]
        await ctx.reply(
            "poll.thanks_choices" if picked else "poll.nothing_ticked", picked=", ".join(picked)
        )
        return
    if not action.isdigit() or not 0 <= int(action) < len(options):
        await ctx.reply("errors.expired_choice")
        return
    index = int(action)
    if poll["kind"] == "multi":
        chosen = [int(c) for c in answer.choices]
        chosen = [c for c in chosen if c != index] if index in chosen else sorted([*chosen, index])
        answer.choices = chosen
    else:
        answer.choices = [index]
    answer.answered_at = ctx.clock.now()
    codes = poll["codes"]
    add_wants(ctx.officer, [str(codes[i]) for i in answer.choices if i < len(codes) and codes[i]])
    if poll["kind"] == "multi":
        identity = ctx.identity
        content = ctx.content
        text, choices, multi = render(ann, ctx.officer, identity, content, answer)
        await ctx.send(text, choices=choices, multi=multi, edit=True)
        return
    await ctx.reply("poll.thanks_choice", choice=options[index])


@router.flow(TEXT_FLOW)
async def take_written_answer(event: Incoming, ctx: Ctx) -> None:
    """Store a written answer to a question (a need, an idea); instruments feed the wants."""
    state = await ctx.state()
    await ctx.clear_state()
    if state is None or ctx.officer is None:
        return
    written = cast(WrittenAnswerState, state.data)
    ann = await ctx.uow.announcements.get(int(written.get("announcement", 0)))
    text = event.text.strip()[:MAX_ANSWER]
    if ann is None or not ann.poll or not text:
        await ctx.reply("errors.expired_choice")
        return
    if ann.closes_at is not None and ann.closes_at <= ctx.clock.now():
        await ctx.reply(
            "poll.closed",
            when=when_text(ann.closes_at, ctx.officer.timezone, ctx.locale, ctx.content.t),
        )
        return
    answer = await ctx.uow.announcements.answer_or_new(ann.id, ctx.officer.id, ctx.clock.now())
    answer.text = text
    answer.answered_at = ctx.clock.now()
    codes = detect_instruments(text, ctx.content.taxonomy)
    add_wants(ctx.officer, codes)
    if codes:
        labels = ", ".join(ctx.content.taxonomy.label("instruments", c, ctx.locale) for c in codes)
        await ctx.reply("poll.thanks_needs", instruments=labels)
    else:
        await ctx.reply("poll.thanks_text")


def answered(answer: PollAnswer) -> bool:
    return bool(answer.choices) or bool((answer.text or "").strip())


# -- reminders and results -----------------------------------------------------------------


@job("polls")
async def remind_and_close_polls(core: JobCtx, messengers: dict[str, Messenger]) -> int:
    """Remind those who did not answer (once), and report results when a question closes."""
    now = core.clock.now()
    done = 0
    async with core.uow() as uow:
        repo = uow.announcements
        for ann in await repo.polls_open(now):
            if ann.closes_at is None or ann.started_at is None or ann.expanded_at is None:
                continue
            half = (ann.closes_at - ann.started_at) / 2
            if now < ann.closes_at - min(half, REMIND_BEFORE):
                continue
            done += await _remind(core, uow, ann)
            ann.reminded_at = now
        for ann in await repo.polls_closed(now):
            if ann.expanded_at is None:
                continue
            content = await core.content.of_programme(uow, ann.programme_id)
            results = await results_json(uow, ann, now, content.taxonomy)
            for officer in await report_to(uow, ann):
                locale = content.t.resolve(officer.locale)
                await queue_to_officer(
                    uow,
                    content,
                    core.secret,
                    officer,
                    "",
                    text=results_text(results, content, locale, now),
                    idempotency_key=f"ann-results:{ann.id}:{officer.id}",
                    purpose="announcement-report",
                    ref_id=ann.id,
                )
            ann.results_sent_at = now
            done += 1
        await uow.commit()
    return done


async def _remind(core: JobCtx, uow: UnitOfWork, ann: Announcement) -> int:
    content = await core.content.of_programme(uow, ann.programme_id)
    repo = uow.announcements
    given = {a.officer_id: a for a, _ in await repo.answers(ann.id)}
    waiting = [
        i for i in await repo.delivered_to(ann.id) if i not in given or not answered(given[i])
    ]
    queued = 0
    for start in range(0, len(waiting), 500):
        ids = waiting[start : start + 500]
        for officer in await repo.officers(ids):
            identity = preferred_identity(officer)
            answer = given.get(officer.id)  # an empty row of someone who began, else None
            text, choices, multi = render(
                ann, officer, identity, content, answer, intro="poll.reminder"
            )
            queued += await queue_to_officer(
                uow,
                content,
                core.secret,
                officer,
                "",
                text=text,
                choices=choices,
                multi=multi,
                idempotency_key=f"ann-remind:{ann.id}:{officer.id}",
                purpose=REMINDER,
                ref_id=ann.id,
                priority=BULK,
            )
    return queued


async def results_json(
    uow: UnitOfWork,
    ann: Announcement,
    now: datetime | None = None,
    taxonomy: Taxonomy | None = None,
) -> dict[str, Any]:
    """Tallies of an announcement's question: overall, by country, by sector; needs named
    (options mapped to instruments, and, given the taxonomy, instruments written answers name)."""
    poll = poll_of(ann.poll)
    kind = poll["kind"] if poll else "single"
    options = poll["options"] if poll else []
    total: Counter[str] = Counter()
    by_country: dict[str, Counter[str]] = {}
    by_sector: dict[str, Counter[str]] = {}
    needs: Counter[str] = Counter()
    rows = []
    codes = poll["codes"] if poll else []
    for answer, officer in await uow.announcements.answers(ann.id):
        if not answered(answer):
            continue
        country = officer.authority.country if officer.authority else "??"
        picked = [options[int(i)] for i in answer.choices if 0 <= int(i) < len(options)]
        keys = picked if kind != "text" else ["answered"]
        for key in keys:
            total[key] += 1
            by_country.setdefault(country, Counter())[key] += 1
            for sector in officer.sectors or ["—"]:
                by_sector.setdefault(str(sector), Counter())[key] += 1
        named = [
            str(codes[int(i)]) for i in answer.choices if int(i) < len(codes) and codes[int(i)]
        ]
        rows.append(
            {
                "officer_id": officer.id,
                "name": officer.name,
                "authority": officer.authority.name if officer.authority else None,
                "country": country,
                "sectors": [str(s) for s in officer.sectors],
                "choices": picked,
                "text": answer.text,
                "answered_at": answer.answered_at.isoformat(),
            }
        )
        needs.update(named)
    results = {
        "id": ann.id,
        "question": poll["question"] if poll else None,
        "kind": kind,
        "options": options,
        "closes_at": ann.closes_at.isoformat() if ann.closes_at else None,
        "closed": bool(ann.closes_at and now and ann.closes_at <= now),
        "recipients": ann.recipients,
        "answered": len(rows),
        "tallies": {
            "all": dict(total),
            "by_country": {k: dict(v) for k, v in sorted(by_country.items())},
            "by_sector": {k: dict(v) for k, v in sorted(by_sector.items())},
        },
        "needs": dict(needs.most_common()),
        "answers": rows,
    }
    return with_needs(results, taxonomy) if taxonomy is not None else results


def with_needs(results: dict[str, Any], taxonomy: Taxonomy) -> dict[str, Any]:
    """Add the instruments named in written answers to `needs`."""
    needs: Counter[str] = Counter(results.get("needs", {}))
    for row in results["answers"]:
        if row.get("text"):
            needs.update(detect_instruments(row["text"], taxonomy))
    return {**results, "needs": dict(needs.most_common())}


def results_text(results: dict[str, Any], content: Content, locale: str, now: datetime) -> str:
    """The results as a chat message for a coordinator."""

    def t(key: str, **values: Any) -> str:
        return content.t(locale, key, **values)

    def line(counts: dict[str, int]) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))

    tallies = results["tallies"]
    parts = [
        t(
            "poll.results_head",
            id=results["id"],
            question=results["question"],
            answered=results["answered"],
            recipients=results["recipients"],
        )
    ]
    if results["kind"] != "text" and tallies["all"]:
        parts.append(t("poll.results_all", counts=line(tallies["all"])))
    if tallies["by_country"]:
        countries = "; ".join(f"{c}: {line(v)}" for c, v in tallies["by_country"].items())
        parts.append(t("poll.results_country", counts=countries))
    if tallies["by_sector"]:
        sectors = "; ".join(
            f"{content.taxonomy.label('sectors', s, locale)}: {line(v)}"
            for s, v in tallies["by_sector"].items()
        )
        parts.append(t("poll.results_sector", counts=sectors))
    if results["needs"]:
        named = ", ".join(
            f"{content.taxonomy.label('instruments', c, locale)} {n}"
            for c, n in results["needs"].items()
        )
        parts.append(t("poll.results_needs", counts=named))
    written = [r for r in results["answers"] if r.get("text")][-5:]
    for row in written:
        parts.append(
            t(
                "poll.results_answer",
                name=row["name"],
                authority=row["authority"] or "—",
                text=" ".join(row["text"].split())[:300],
            )
        )
    return "\n".join(parts)
