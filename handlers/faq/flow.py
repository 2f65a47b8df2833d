"""Financing questions: answer, suggest, or pass to the coordinators and relay their answer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, TypedDict, cast

from handlers.core.context import Ctx
from handlers.core.events import Incoming
from handlers.core.metrics import FAQ_QUESTIONS
from handlers.core.replies import Choice, shorten
from handlers.core.router import router
from handlers.delivery.outbox import officer_locale, preferred_identity
from handlers.faq.content import faq_index, render_answer
from handlers.faq.rules import FOLLOWUP_WINDOW, in_context, needs_context
from handlers.practices.flow import practices_citation
from storage.models import FaqQuery
from storage.uow import UnitOfWork

MAX_QUESTION = 1000
ANSWER_FLOW = "faq_answer"


class AnswerState(TypedDict):
    """`Conversation.data` of `faq_answer`: the question a coordinator is answering."""

    query_id: int


async def _log(
    ctx: Ctx,
    text: str,
    outcome: str,
    entry_id: str | None,
    score: float | None,
    lang: str | None = None,
) -> int:
    """Log the question; its id, which the reply's buttons carry."""
    return await ctx.uow.faq_queries.log(
        officer_id=ctx.officer.id if ctx.officer else None,
        identity_id=ctx.identity.id,
        text=text,
        lang=lang or ctx.locale,
        entry_id=entry_id,
        score=score,
        outcome=outcome,
        created_at=ctx.clock.now(),
    )


async def answer_question(ctx: Ctx, text: str, private: bool = False) -> None:
    """Search the FAQ and reply with an answer, a did-you-mean, or an honest don't-know.

    In a private chat, a short question that the FAQ cannot answer on its own right after an
    answer ("and for schools?") is read together with that answer's question.
    """
    question = " ".join(text.split())[:MAX_QUESTION]
    if not question:
        await ctx.reply("faq.ask_what")
        return
    index = faq_index(ctx.content)
    # The search runs in a worker thread: the meaning layer's encoder spends milliseconds in
    # numpy per question, which would otherwise stall every other officer's update.
    result = await asyncio.to_thread(index.search, question, ctx.locale)
    lead = None
    if private and needs_context(index, question, result):
        since = ctx.clock.now() - FOLLOWUP_WINDOW
        previous = await ctx.uow.faq_queries.last_answer(ctx.identity.id, since)
        before = _question(ctx, previous.entry_id) if previous and previous.entry_id else ""
        previous_id = previous.entry_id if previous else None
        within = await asyncio.to_thread(
            in_context, index, before, previous_id, question, result, ctx.locale
        )
        if within is not None:
            result, lead = within, ctx.t("faq.in_context", question=before)
    FAQ_QUESTIONS.labels(result.status).inc()
    best = result.best
    query_id = await _log(
        ctx,
        question,
        result.status,
        best.entry_id if best else None,
        best.score if best else None,
        result.lang,
    )
    if result.status == "answer" and best is not None:
        await _send_entry(ctx, best.entry_id, query_id, result.lang, lead)
        return
    if result.status == "suggest":
        siblings = faq_index(ctx.content).sibling_question(result)
        if siblings is not None:  # ESCO or EPC? ask the question that tells them apart
            ask, ids = siblings
            choices = [
                Choice(f"faq:show:{i}", shorten(_question(ctx, i), 60))
                for i in ids
                if _question(ctx, i)
            ]
            choices.append(Choice(f"faq:none:{query_id}", ctx.t("faq.none_of_these")))
            await ctx.send(ask.get(ctx.locale, ask["en"]), choices=choices)
            return
        choices = [
            Choice(f"faq:show:{h.entry_id}", shorten(h.question, 60))
            for h in result.suggestions[:3]
        ]
        choices.append(Choice(f"faq:none:{query_id}", ctx.t("faq.none_of_these")))
        await ctx.reply("faq.did_you_mean", choices=choices)
        return
    await ctx.reply(
        "faq.unknown",
        choices=[
            Choice(f"faq:escalate:{query_id}", ctx.t("faq.escalate_yes")),
            Choice(f"faq:drop:{query_id}", ctx.t("faq.escalate_no")),
        ],
    )


def _question(ctx: Ctx, entry_id: str) -> str:
    """An entry's question in the officer's language ("" if the entry is gone)."""
    entry = faq_index(ctx.content).get(entry_id)
    return entry.text_for(entry.answer_lang(ctx.locale))[0] if entry is not None else ""


async def _send_entry(
    ctx: Ctx,
    entry_id: str,
    query_id: int | None,
    asked_lang: str | None = None,
    lead: str | None = None,
) -> None:
    """The answer in the officer's locale, else the question's language, else English; `lead`
    (a line saying which earlier answer a follow-up was read with) comes first."""
    entry = faq_index(ctx.content).get(entry_id)
    if entry is None:
        await ctx.reply("errors.expired_choice")
        return
    choices = []
    if query_id is not None:
        choices += [
            Choice(f"faq:yes:{query_id}", ctx.t("faq.helpful_yes")),
            Choice(f"faq:no:{query_id}", ctx.t("faq.helpful_no")),
        ]
    choices += [
        Choice(f"faq:show:{h.entry_id}", ctx.t("faq.related", question=shorten(h.question, 50)))
        for h in faq_index(ctx.content).related(entry_id, 2)
    ]
    shown = entry.answer_lang(ctx.locale, asked_lang)
    text = render_answer(entry, shown if shown != entry.lang else ctx.locale)
    if lead:
        text = lead + "\n\n" + text
    cited = await practices_citation(ctx.uow, entry.instruments, ctx.locale, ctx.content)
    if cited:
        text += "\n\n" + cited
    text += "\n\n" + ctx.t("faq.was_it_helpful")
    await ctx.send(text, choices=choices)


@router.command("ask", group=True)
async def ask(event: Incoming, ctx: Ctx) -> None:
    """`/ask <question>`: answer a financing question."""
    await answer_question(ctx, event.args, private=event.chat_kind == "dm")


@router.text()
async def free_text(event: Incoming, ctx: Ctx) -> None:
    """Free text in a private chat is a question."""
    await answer_question(ctx, event.text, private=event.chat_kind == "dm")


@router.choice("faq")
async def press_faq(event: Incoming, ctx: Ctx) -> None:
    """Feedback, a suggestion picked, or the wish to ask the coordinators."""
    _, action, arg = ((event.choice or "") + "::").split(":", 2)
    arg = arg.rstrip(":")
    if action == "show":
        picked = await _log(ctx, f"[picked] {arg}", "picked", arg, None)
        await _send_entry(ctx, arg, picked)
        return
    query = await _own_query(ctx, arg)
    if query is None:
        await ctx.reply("errors.expired_choice")
        return
    if action == "yes":
        query.feedback = "yes"
        await ctx.reply("faq.thanks_feedback")
    elif action in ("no", "none"):
        query.feedback = "no"
        await ctx.reply(
            "faq.sorry_unhelpful",
            choices=[
                Choice(f"faq:escalate:{query.id}", ctx.t("faq.escalate_yes")),
                Choice(f"faq:drop:{query.id}", ctx.t("faq.escalate_no")),
            ],
        )
    elif action == "escalate":
        await escalate(ctx, query)
    else:
        await ctx.reply("faq.not_escalated")


async def _own_query(ctx: Ctx, arg: str) -> FaqQuery | None:
    if not arg.isdigit():
        return None
    query = await ctx.uow.faq_queries.get(int(arg))
    if query is None or query.identity_id != ctx.identity.id:
        return None
    return query


async def escalate(ctx: Ctx, query: FaqQuery) -> None:
    """Pass a question to the programme's coordinators (once)."""
    if query.escalated:
        await ctx.reply("faq.escalated_already")
        return
    query.escalated = True
    programme_id = ctx.officer.programme_id if ctx.officer else None
    asker = ctx.officer.name if ctx.officer else (ctx.identity.display_name or ctx.identity.user_id)
    for coordinator in await ctx.uow.officers.coordinators(programme_id):
        label = ctx.content.t(
            officer_locale(coordinator, ctx.content, preferred_identity(coordinator)),
            "faq.answer_it",
        )  # the button is read by the coordinator, in their language
        await ctx.notify(
            coordinator,
            "faq.coordinator_new_question",
            idempotency_key=f"faq-escalate:{query.id}:{coordinator.id}",
            values={"asker": asker, "question": query.text[:500], "id": query.id},
            choices=[Choice(f"faqc:answer:{query.id}", label)],
            purpose="faq",
            ref_id=query.id,
        )
    await ctx.reply("faq.escalated")


async def unanswered_rows(
    uow: UnitOfWork, limit: int = 20, programme_ids: set[int] | None = None
) -> Sequence[FaqQuery]:
    """Questions the FAQ could not answer (or answered unhelpfully) with no human answer yet.

    With `programme_ids`, only questions of those programmes' officers (and, for the first
    programme, of people who have not joined yet): one programme never sees another's.
    """
    return await uow.questions.unanswered(limit, programme_ids)


async def feedback_counts(uow: UnitOfWork) -> dict[str, dict[str, int]]:
    """Per entry, how many officers answered "Was this helpful?" with yes and with no."""
    return await uow.faq_queries.helpful_counts()


async def candidate_rows(uow: UnitOfWork, limit: int = 5000) -> list[dict[str, Any]]:
    """Real questions worth adding to the dev set, to be labelled by a curator.

    Questions whose answer an officer rated "No" (the matched entry was wrong or missing) and
    questions a coordinator answered by hand (the FAQ had nothing). Each row has "id": null and
    "needs_label": true, so `faq eval` and the bench skip it until a curator sets the label.
    """
    rows = []
    for q in await uow.faq_queries.label_candidates(limit):
        rows.append(
            {
                "q": q.text,
                "id": None,
                "lang": q.lang,
                "needs_label": True,
                "source": "coordinator_answered" if q.answer_text else "answered_no",
                "matched": q.entry_id,
                "query_id": q.id,
                "coordinator_answer": (q.answer_text or "")[:500] or None,
            }
        )
    return rows


@router.command("unanswered", coordinator=True)
async def unanswered(event: Incoming, ctx: Ctx) -> None:
    """List unanswered questions; `/unanswered ID answer text` answers one directly."""
    number, _, answer = event.args.partition(" ")
    if number.isdigit() and answer.strip():
        await deliver_answer(ctx, int(number), answer.strip())
        return
    queries = await unanswered_rows(ctx.uow, programme_ids=set(ctx.coordinates))
    if not queries:
        await ctx.reply("faq.unanswered_none")
        return
    lines = "\n".join(f"#{q.id} {'⚑ ' if q.escalated else ''}{q.text[:120]}" for q in queries)
    choices = [Choice(f"faqc:answer:{q.id}", f"#{q.id}") for q in queries[:8]]
    await ctx.reply("faq.unanswered_list", lines=lines, choices=choices)


@router.choice("faqc", coordinator=True)
async def press_answer(event: Incoming, ctx: Ctx) -> None:
    """A coordinator chose to answer a question: the next message is the answer."""
    arg = (event.choice or "").rpartition(":")[2]
    query = await ctx.uow.faq_queries.get(int(arg)) if arg.isdigit() else None
    if query is None:
        await ctx.reply("errors.expired_choice")
        return
    answering: AnswerState = {"query_id": query.id}
    await ctx.set_state(ANSWER_FLOW, "text", answering)
    await ctx.reply("faq.type_answer", question=query.text[:300])


@router.flow(ANSWER_FLOW)
async def take_answer(event: Incoming, ctx: Ctx) -> None:
    """The coordinator's answer text."""
    state = await ctx.state()
    await ctx.clear_state()
    if state is None or not ctx.is_coordinator:
        return
    await deliver_answer(ctx, int(cast(AnswerState, state.data)["query_id"]), event.text.strip())


async def deliver_answer(ctx: Ctx, query_id: int, text: str) -> None:
    """Store a coordinator's answer and send it to the asker (`handlers.faq.service`)."""
    from handlers.faq.service import send_answer

    query = await ctx.uow.faq_queries.get(query_id)
    visible = await unanswered_rows(ctx.uow, 1000, set(ctx.coordinates))
    if query is None or not text or query.id not in {q.id for q in visible}:
        await ctx.reply("faq.unanswered_missing", id=query_id)
        return
    delivered = await send_answer(
        ctx.uow,
        ctx.content,
        ctx.secret,
        query,
        text,
        ctx.officer.id if ctx.officer else None,
        ctx.clock.now(),
    )
    await ctx.reply("faq.answer_sent" if delivered else "faq.answer_stored", id=query.id)
