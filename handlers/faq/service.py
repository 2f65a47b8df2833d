"""Questions the FAQ could not answer, for coordinators in chat, CLI and console: list them,
answer one (the answer reaches the asker through the outbox) and promote it to a draft FAQ
entry. Authorization inside: a question of another programme is `NotAllowed`."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from handlers.audit.service import Coordinator, NotAllowed, authorize, record
from handlers.core.content import Content
from handlers.core.metrics import FAQ_COORDINATOR_ANSWERS
from handlers.core.taxonomy import Taxonomy
from handlers.delivery.outbox import officer_locale, payload, queue_to_officer
from storage.models import FaqQuery
from storage.uow import UnitOfWork

ANSWER_MAX = 4000
DRAFT_HEADER = (
    "# Draft from a coordinator's answer: add alternatives, sources, codes and a review date,\n"
    "# then move it into content/faq/<topic>.yaml and run `peerbot content check`.\n"
)


@dataclass(frozen=True)
class Question:
    id: int
    text: str
    lang: str | None
    escalated: bool
    asked_at: datetime
    answer: str | None = None


def _question(q: FaqQuery) -> Question:
    return Question(q.id, q.text, q.lang, bool(q.escalated), q.created_at, q.answer_text)


async def unanswered(
    uow: UnitOfWork, who: Coordinator, programme_id: int, limit: int = 100
) -> list[Question]:
    """The programme's questions without an answer, escalated ones first."""
    authorize(who, programme_id)
    return [_question(q) for q in await uow.questions.unanswered(limit, {programme_id})]


async def unanswered_groups(
    uow: UnitOfWork, who: Coordinator, programme_id: int, content: Content, limit: int = 200
) -> list[list[Question]]:
    """The programme's unanswered questions in groups that ask the same thing (see
    `handlers.faq.grouping`: the FAQ matcher's normalisation and its best entry), in the
    order of `unanswered` (a group where its first question is). The matching runs in a
    worker thread, as the chat's FAQ searches do: new questions cost milliseconds each."""
    from handlers.faq.content import faq_index  # the matcher loads numpy
    from handlers.faq.grouping import Asked, group_questions

    index = faq_index(content)
    found = await unanswered(uow, who, programme_id, limit)
    by_id = {q.id: q for q in found}
    asked = [Asked(q.id, q.text, q.lang) for q in found]
    groups = await asyncio.to_thread(group_questions, asked, index.norm, index)
    return [[by_id[i] for i in ids] for ids in groups]


async def _owned(uow: UnitOfWork, programme_id: int, query_id: int) -> FaqQuery:
    """The question when its asker belongs to the programme (an anonymous asker: the first
    programme's, as `unanswered_rows` has it); else `NotAllowed`."""
    query = await uow.questions.get(query_id)
    if query is None:
        raise NotAllowed(f"question {query_id}")
    if query.officer_id is not None:
        asker = await uow.officers.get(query.officer_id)
        if asker is not None and programme_id in await uow.officers.programme_ids(asker):
            return query
    else:
        default = await uow.programmes.default()
        if default is not None and default.id == programme_id:
            return query
    raise NotAllowed(f"question {query_id}")


async def question(uow: UnitOfWork, who: Coordinator, programme_id: int, query_id: int) -> Question:
    """One question of the programme, answered or not."""
    authorize(who, programme_id)
    return _question(await _owned(uow, programme_id, query_id))


async def send_answer(
    uow: UnitOfWork,
    content: Content,
    secret: bytes,
    query: FaqQuery,
    text: str,
    answered_by_id: int | None,
    now: datetime,
) -> bool:
    """Store an answer on the question and queue it to the asker; whether it could be queued
    (an asker without a chat account keeps the answer stored only)."""
    query.answer_text = text[:ANSWER_MAX]
    query.answered_by_id = answered_by_id
    query.answered_at = now
    FAQ_COORDINATOR_ANSWERS.inc()
    values = {"question": query.text[:300], "answer": text[:3000]}
    asker = await uow.officers.get(query.officer_id) if query.officer_id else None
    if asker is not None:
        return await queue_to_officer(
            uow,
            content,
            secret,
            asker,
            "faq.answer_from_coordinator",
            idempotency_key=f"faq-answer:{query.id}",
            values=values,
            purpose="faq",
            ref_id=query.id,
        )
    identity = await uow.identities.get(query.identity_id) if query.identity_id else None
    if identity is None or not identity.dm_chat_id:
        return False
    body = content.t(identity.locale, "faq.answer_from_coordinator", **values)
    return await uow.outbox.enqueue(
        f"faq-answer:{query.id}",
        identity.platform,
        identity.dm_chat_id,
        payload(body),
        purpose="faq",
        ref_id=query.id,
    )


async def answer(
    uow: UnitOfWork,
    content: Content,
    secret: bytes,
    who: Coordinator,
    programme_id: int,
    query_id: int,
    text: str,
    now: datetime,
) -> bool:
    """Answer an unanswered question of the programme; whether it went to the asker's chat.

    `ValueError` for an empty answer or a question answered already."""
    authorize(who, programme_id)
    query = await _owned(uow, programme_id, query_id)
    cleaned = text.strip()
    if not cleaned:
        raise ValueError("empty")
    if query.answer_text:
        raise ValueError("answered")
    delivered = await send_answer(uow, content, secret, query, cleaned, who.officer_id, now)
    await record(uow, who, programme_id, "faq.answer", now, question=query_id, sent=delivered)
    await uow.commit()
    return delivered


async def _asker_langs(uow: UnitOfWork, content: Content, query: FaqQuery) -> list[str]:
    """The languages to answer a question's asker in, best first: the officer's (or their
    chat app's), then the language the question was written in."""
    found: list[str] = []
    asker = await uow.officers.get(query.officer_id) if query.officer_id else None
    if asker is not None:
        found.append(officer_locale(asker, content))
    elif query.identity_id:
        identity = await uow.identities.get(query.identity_id)
        if identity is not None and identity.locale:
            found.append(content.t.resolve(identity.locale))
    if query.lang:
        found.append(query.lang.split("-")[0].lower())
    return found


def answer_for(langs: list[str], text: str, lang: str, translations: dict[str, str]) -> str:
    """The answer in the first of `langs` it was written in (`text` is in `lang`), else
    `text`."""
    for wanted in langs:
        if wanted == lang:
            return text
        if translations.get(wanted, "").strip():
            return translations[wanted].strip()
    return text


async def answer_group(
    uow: UnitOfWork,
    content: Content,
    secret: bytes,
    who: Coordinator,
    programme_id: int,
    query_ids: list[int],
    text: str,
    now: datetime,
    lang: str = "en",
    translations: dict[str, str] | None = None,
) -> dict[str, int]:
    """Answer several questions of the programme at once (a group of the same question):
    each asker gets, through the bot, the translation in their language where one is given,
    else `text`. Questions answered meanwhile are left as they are. Counts `sent`, `stored`
    (no chat account), `skipped`. `ValueError("empty")` for no text or no question;
    `NotAllowed` when one is not the programme's."""
    authorize(who, programme_id)
    cleaned = text.strip()
    if not cleaned or not query_ids:
        raise ValueError("empty")
    kept = {k: v.strip() for k, v in (translations or {}).items() if v and v.strip()}
    queries = [await _owned(uow, programme_id, q) for q in dict.fromkeys(query_ids)]
    counts = {"sent": 0, "stored": 0, "skipped": 0}
    for query in queries:
        if query.answer_text:
            counts["skipped"] += 1
            continue
        langs = await _asker_langs(uow, content, query)
        body = answer_for(langs, cleaned, lang, kept)
        sent = await send_answer(uow, content, secret, query, body, who.officer_id, now)
        counts["sent" if sent else "stored"] += 1
    await record(
        uow,
        who,
        programme_id,
        "faq.answer_group",
        now,
        questions=[q.id for q in queries],
        translations=sorted(kept),
        **counts,
    )
    await uow.commit()
    return counts


def slug(text: str) -> str:
    """A stable lowercase id from a question."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(words[:6]) or "draft"


def draft_entry(
    text: str, answer_text: str, lang: str | None, taxonomy: Taxonomy
) -> dict[str, Any]:
    """A draft FAQ entry from a question and its coordinator's answer (codes guessed)."""
    words = f"{text} {answer_text}"
    return {
        "id": slug(text),
        "question": text,
        "alternatives": [],
        "answer": answer_text,
        "sectors": [c for c in taxonomy.codes("sectors") if c.replace("_", " ") in words.lower()],
        "instruments": taxonomy.match_many("instruments", text),
        "tags": [],
        "sources": [],
        "lang": lang or "en",
        "reviewed": None,
    }


def draft_yaml(entry: dict[str, Any]) -> str:
    """The draft as the YAML file a curator completes."""
    import yaml  # here, not at the top: the registry imports this module for every command

    return DRAFT_HEADER + yaml.safe_dump([entry], allow_unicode=True, sort_keys=False)


def write_draft(entry: dict[str, Any], folder: Path) -> Path:
    """Write a draft under `folder` (not loaded by the bot); its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{entry['id']}.yaml"
    path.write_text(draft_yaml(entry), encoding="utf-8")
    return path


async def draft_of(
    uow: UnitOfWork,
    who: Coordinator | None,
    programme_id: int | None,
    query_id: int,
    taxonomy: Taxonomy,
) -> dict[str, Any] | None:
    """The draft FAQ entry of an answered question (None: not answered yet). `who` None is
    the CLI, which may read any question."""
    if who is None:
        query = await uow.questions.get(query_id)
        if query is None:
            return None
    else:
        query = await _owned(uow, authorize(who, programme_id), query_id)
    if not query.answer_text:
        return None
    return draft_entry(query.text, query.answer_text, query.lang, taxonomy)


async def promote(
    uow: UnitOfWork,
    who: Coordinator,
    programme_id: int,
    query_id: int,
    taxonomy: Taxonomy,
    folder: Path,
    now: datetime,
) -> Path:
    """Write the draft FAQ entry of an answered question under `folder`; `ValueError` when it
    has no answer yet."""
    entry = await draft_of(uow, who, programme_id, query_id, taxonomy)
    if entry is None:
        raise ValueError("unanswered")
    path = write_draft(entry, folder)
    await record(uow, who, programme_id, "faq.promote", now, question=query_id, draft=path.name)
    await uow.commit()
    return path
