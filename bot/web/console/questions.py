"""Questions page: what the FAQ could not answer, grouped by similarity (the FAQ matcher's
normalisation, `handlers.faq.grouping`); answer one (the bot sends it to the asker) or a whole
group at once, with translations (each asker gets theirs), and promote an answered question
to a draft FAQ entry, previewed first."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.web.console.announcements import languages, translations_in
from bot.web.console.base import Page, posted, render, see_other
from handlers.faq import service


def _id(page: Page) -> int:
    raw = page.request.match_info.get("qid", "")
    if not raw.isdigit():
        raise web.HTTPNotFound()
    return int(raw)


def drafts_folder(page: Page) -> Any:
    """Where promoted drafts go: the data directory, outside the installation."""
    return page.runtime.settings.data_dir / "faq-drafts" / page.slug


async def show(page: Page, status: int = 200, **values: Any) -> web.Response:
    """The unanswered questions of the programme, grouped when they ask the same thing."""
    async with page.uow() as uow:
        groups = await service.unanswered_groups(uow, page.who, page.programme_id, page.content)
    return render(
        page,
        "questions.html",
        status,
        groups=groups,
        langs_of=await languages(page, values.pop("typed_lang", None)),
        done=page.request.query.get("done", ""),
        counts={k: page.request.query.get(k, "0") for k in ("sent", "stored", "skipped")},
        **values,
    )


async def answer_group(page: Page) -> web.StreamResponse:
    """Answer every question of a group; each asker gets the answer in their language when
    a translation of it was given."""
    form = await posted(page)
    ids = [int(v) for v in form.getall("question", []) if str(v).isdigit()]
    text = str(form.get("text") or "")
    lang = str(form.get("lang") or "en")
    translations = translations_in(form)
    group = str(form.get("group") or "")
    async with page.uow() as uow:
        try:
            counts = await service.answer_group(
                uow,
                page.content,
                page.runtime.core.secret,
                page.who,
                page.programme_id,
                ids,
                text,
                page.now(),
                lang,
                translations,
            )
        except ValueError:
            key = "answer_error_empty" if ids else "group_none"
            return await show(
                page,
                400,
                errors={"group": group, "text": page.t(key)},
                typed=text,
                typed_lang=lang,
                typed_tr=translations,
            )
    query = "&".join(f"{k}={v}" for k, v in counts.items())
    raise see_other(page, f"questions?done=group&{query}")


async def _one(page: Page, status: int = 200, **values: Any) -> web.Response:
    qid = _id(page)
    async with page.uow() as uow:
        found = await service.question(uow, page.who, page.programme_id, qid)
        draft = await service.draft_of(uow, page.who, page.programme_id, qid, page.content.taxonomy)
    preview = service.draft_yaml(draft) if draft else None
    promoted = draft is not None and (drafts_folder(page) / f"{draft['id']}.yaml").exists()
    return render(
        page, "question.html", status, q=found, draft=preview, promoted=promoted, **values
    )


async def one(page: Page) -> web.StreamResponse:
    """One question: the answer form, or the answer and the FAQ draft preview."""
    return await _one(page, done=page.request.query.get("done", ""))


async def answer(page: Page) -> web.StreamResponse:
    """Store the answer and queue it to the asker through the bot."""
    form = await posted(page)
    text = str(form.get("answer") or "")
    qid = _id(page)
    async with page.uow() as uow:
        try:
            sent = await service.answer(
                uow,
                page.content,
                page.runtime.core.secret,
                page.who,
                page.programme_id,
                qid,
                text,
                page.now(),
            )
        except ValueError as exc:
            key = "answer_error_empty" if str(exc) == "empty" else "answer_error_done"
            return await _one(page, 400, errors={"answer": page.t(key)}, typed=text)
    raise see_other(page, f"questions/{qid}?done={'sent' if sent else 'stored'}")


async def promote(page: Page) -> web.StreamResponse:
    """Write the draft FAQ entry for a curator."""
    await posted(page)
    qid = _id(page)
    async with page.uow() as uow:
        try:
            await service.promote(
                uow,
                page.who,
                page.programme_id,
                qid,
                page.content.taxonomy,
                drafts_folder(page),
                page.now(),
            )
        except ValueError:
            return await _one(page, 400, errors={"promote": page.t("promote_error")})
    raise see_other(page, f"questions/{qid}?done=promoted")
