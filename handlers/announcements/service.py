"""Announcement use cases shared by the chat, `peerbot broadcast` and the console: how many
officers an audience reaches (by platform and by language), queue an announcement or a survey
(now or at a given time), cancel one before it goes, its delivery report, a survey's results
and their CSV. Authorization inside: the programme must be the coordinator's, and an
announcement of another programme is `NotAllowed`. The command line acts as the operator (every
programme) unless it names an author, who must coordinate the programme (`sender`)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from handlers.announcements import flow as bc
from handlers.announcements import polls
from handlers.announcements.audience import (
    Audience,
    count,
    parse_audience,
    programme_ids,
    query_of,
)
from handlers.announcements.stored import Poll, question_of
from handlers.audit.service import Coordinator, NotAllowed, authorize, record
from handlers.core.content import Content, ContentStore
from handlers.core.taxonomy import Taxonomy
from storage.models import Announcement
from storage.repositories.audience import NO_ACCOUNT
from storage.uow import UnitOfWork

LANGS = ("en", "fr", "de", "es", "it")


class AudienceProblem(ValueError):
    """Parts of an audience filter that were not understood (`parts`)."""

    def __init__(self, parts: list[str]) -> None:
        super().__init__(", ".join(parts))
        self.parts = parts


@dataclass
class Reach:
    """Who an announcement would reach: per platform and per language of the recipient, and
    who would get nothing (`not_started`, `blocked`, `unreachable`)."""

    audience: str
    by_platform: dict[str, int] = field(default_factory=dict)
    by_language: dict[str, int] = field(default_factory=dict)
    not_reached: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_platform.values())


async def audience_of(uow: UnitOfWork, text: str, taxonomy: Taxonomy) -> Audience:
    """A written filter, checked; `AudienceProblem` names what was not understood."""
    wanted, problems = parse_audience(text, taxonomy)
    _, missing = await programme_ids(uow, wanted)
    if problems or missing:
        raise AudienceProblem(problems + missing)
    return wanted


async def reach(
    uow: UnitOfWork, who: Coordinator, programme_id: int, audience_text: str, taxonomy: Taxonomy
) -> Reach:
    """The recipients an audience filter gives within the programme, counted."""
    authorize(who, programme_id)
    wanted = await audience_of(uow, audience_text, taxonomy)
    found = Reach(wanted.text())
    query = await query_of(uow, wanted, [programme_id])
    for tally in await uow.audiences.tally(query):
        if tally.why is not None or tally.platform is None:
            key = tally.why or NO_ACCOUNT
            found.not_reached[key] = found.not_reached.get(key, 0) + tally.count
            continue
        found.by_platform[tally.platform] = found.by_platform.get(tally.platform, 0) + tally.count
        lang = (tally.locale or tally.identity_locale or "en").split("-")[0].lower()
        found.by_language[lang] = found.by_language.get(lang, 0) + tally.count
    return found


@dataclass(frozen=True)
class Sender:
    """Who queues an announcement and to whom it may go: a coordinator (`who`) or, from the
    command line without `--author`, the operator (None); `scope` is the programmes whose
    officers it reaches (None: every programme), `programme_id` the one it belongs to."""

    programme_id: int | None
    scope: list[int] | None
    who: Coordinator | None
    content: Content
    audited: bool = False
    """Written to the programme's audit log (the console's actions are)."""

    @property
    def author_id(self) -> int | None:
        """Who gets the delivery report (None: the programme's coordinators)."""
        return self.who.officer_id if self.who is not None else None


def in_console(who: Coordinator, programme_id: int, content: Content) -> Sender:
    """A coordinator in the console, acting in one programme (each action audited)."""
    return Sender(programme_id, [programme_id], who, content, audited=True)


def in_chat(who: Coordinator, home: int | None, content: Content) -> Sender:
    """A coordinator in chat (`/broadcast`): every programme they coordinate; it belongs to
    their own programme when they coordinate it, else to the first."""
    scope = sorted(who.programme_ids)
    return Sender(
        home if home in who.programme_ids else (scope[0] if scope else None), scope, who, content
    )


async def create(
    uow: UnitOfWork,
    by: Sender,
    *,
    text: str,
    audience: Audience | str,
    now: datetime,
    lang: str = "en",
    translations: dict[str, str] | None = None,
    send_at: datetime | None = None,
    poll: Poll | None = None,
    closes_at: datetime | None = None,
) -> Announcement:
    """Queue an announcement (with `poll`: a survey, see `survey_poll`) to an audience (a
    written filter or one already read) within the sender's scope: `/broadcast`, the console
    and `peerbot broadcast create` alike. The `announcements` job sends it when due (`send_at`,
    else now); the caller commits. `NotAllowed` when the coordinator does not coordinate the
    scope, `ValueError("empty")` for no text, `ValueError("past")` for a sending time gone by,
    `ValueError("closes")` for a survey closing before it goes, `ValueError("too_long")` for a
    text over `MAX_TEXT` (refused, never cut: the coordinator decides what to leave out),
    `AudienceProblem` for a filter not understood."""
    if by.who is not None:
        for programme_id in by.scope if by.scope else [None]:
            authorize(by.who, programme_id)
    body = text.strip()
    if not body:
        raise ValueError("empty")
    if len(body) > bc.MAX_TEXT:
        raise ValueError("too_long")
    if send_at is not None and send_at <= now:
        raise ValueError("past")
    if poll is not None and (closes_at is None or closes_at <= (send_at or now)):
        raise ValueError("closes")
    if isinstance(audience, str):
        audience = await audience_of(uow, audience, by.content.taxonomy)
    kept = {k: v.strip() for k, v in (translations or {}).items() if v and v.strip() and k != lang}
    ann = await bc.store(
        uow,
        text=body,
        audience=audience,
        scope=by.scope,
        programme_id=by.programme_id,
        author_id=by.author_id,
        now=now,
        lang=lang,
        translations=kept,
        send_at=send_at,
        poll=poll,
        closes_at=closes_at if poll is not None else None,
    )
    if by.audited and by.who is not None and by.programme_id is not None:
        action = "survey" if poll is not None else "announcement"
        when = {"send_at": send_at.isoformat()} if send_at is not None else {}
        await record(
            uow,
            by.who,
            by.programme_id,
            f"{action}.{'schedule' if send_at is not None else 'send'}",
            now,
            announcement=ann.id,
            audience=audience.text(),
            recipients=ann.recipients,
            **when,
        )
    return ann


class SurveyProblem(ValueError):
    """What is wrong with a survey's question, per form field (`question`, `kind`,
    `options`), as message keys."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in fields.items()))
        self.fields = fields


def survey_poll(
    question: str,
    kind: str,
    options: list[str],
    content: Content,
    translations: dict[str, str] | None = None,
) -> Poll:
    """The stored question of a survey with the chat flow's rules (`/broadcast`): a question
    of at least 3 characters, a kind among `flow.KINDS`, 2 to `flow.MAX_OPTIONS` options
    unless answers are written; `SurveyProblem` names the fields that are wrong. The question's
    `translations` (language code -> text) reach officers as `flow.question_for` picks."""
    wrong: dict[str, str] = {}
    kept = [o.strip() for o in options if o.strip()]
    if len(question.strip()) < 3:
        wrong["question"] = "survey_question_error"
    if kind not in bc.KINDS:
        wrong["kind"] = "survey_kind_error"
    elif kind != "text" and not 2 <= len(kept) <= bc.MAX_OPTIONS:
        wrong["options"] = "survey_options_error"
    if wrong:
        raise SurveyProblem(wrong)
    poll = bc.make_poll(question, kind, kept if kind != "text" else [], content)
    translated = {
        k: " ".join(v.split())[:500] for k, v in (translations or {}).items() if v.strip()
    }
    if translated:
        poll["translations"] = translated  # each officer reads it in their language
    return poll


async def _owned(uow: UnitOfWork, programme_id: int, announcement_id: int) -> Announcement:
    ann = await uow.announcements.get(announcement_id)
    if ann is None or ann.programme_id != programme_id:
        raise NotAllowed(f"announcement {announcement_id}")
    return ann


async def cancel(
    uow: UnitOfWork, who: Coordinator, programme_id: int, announcement_id: int, now: datetime
) -> None:
    """Cancel a scheduled announcement before the job picks it up (as `/broadcast cancel`
    and `peerbot broadcast cancel`); `ValueError(<status>)` once it is sending or done."""
    authorize(who, programme_id)
    ann = await uow.announcements.locked(announcement_id)
    if ann is None or ann.programme_id != programme_id:
        raise NotAllowed(f"announcement {announcement_id}")
    if not bc.cancel_scheduled(ann):
        raise ValueError(str(ann.status))
    await record(uow, who, programme_id, "announcement.cancel", now, announcement=ann.id)
    await uow.commit()


async def report(
    uow: UnitOfWork, who: Coordinator, programme_id: int, announcement_id: int
) -> dict[str, Any]:
    """The delivery report (`peerbot broadcast status`) with the text and who was not reached."""
    authorize(who, programme_id)
    ann = await _owned(uow, programme_id, announcement_id)
    return {
        **await bc.status_json(uow, ann),
        "text": ann.text,
        "lang": ann.lang,
        "translations": dict(ann.translations or {}),
        "status": ann.status,
        "audience": Audience.from_json(ann.audience).text(),
        "send_at": ann.send_at,
        "question": question_of(ann.poll),
    }


async def recent(
    uow: UnitOfWork, who: Coordinator, programme_id: int, limit: int = 30
) -> list[dict[str, Any]]:
    """The programme's latest announcements, newest first."""
    authorize(who, programme_id)
    return [
        {
            "id": a.id,
            "text": a.text,
            "status": a.status,
            "recipients": a.recipients,
            "at": a.send_at,
            "question": question_of(a.poll),
            "closes_at": a.closes_at,
        }
        for a in await uow.console.announcements(programme_id, limit)
    ]


async def surveys(
    uow: UnitOfWork, who: Coordinator, programme_id: int, limit: int = 30
) -> list[dict[str, Any]]:
    """The programme's latest surveys (announcements carrying a question), newest first."""
    found = [a for a in await recent(uow, who, programme_id, 10 * limit) if a["question"]]
    return found[:limit]


async def results(
    uow: UnitOfWork,
    who: Coordinator,
    programme_id: int,
    announcement_id: int,
    now: datetime,
    taxonomy: Taxonomy,
) -> dict[str, Any]:
    """A survey's results (`peerbot broadcast results --json`); `NotAllowed` for another
    programme's announcement or one without a question."""
    authorize(who, programme_id)
    ann = await _owned(uow, programme_id, announcement_id)
    if not ann.poll:
        raise NotAllowed(f"survey {announcement_id}")
    return await polls.results_json(uow, ann, now, taxonomy)


CSV_FIELDS = ("name", "authority", "country", "sectors", "choices", "text", "answered_at")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP CSV injection)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def results_csv(found: dict[str, Any]) -> str:
    """One row per answer of `results`: who (name, authority, country, sectors), the options
    picked (`;`-separated), the written answer, when; formulas neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_FIELDS)
    for row in found["answers"]:
        writer.writerow(
            [
                _cell(str(row.get("name") or "")),
                _cell(str(row.get("authority") or "")),
                _cell(str(row.get("country") or "")),
                ";".join(row.get("sectors") or []),
                _cell(";".join(row.get("choices") or [])),
                _cell(str(row.get("text") or "")),
                str(row.get("answered_at") or ""),
            ]
        )
    return out.getvalue()


# -- the command line's operator -----------------------------------------------------------


async def sender(
    uow: UnitOfWork, contents: ContentStore, programme: str | None, author: str | None
) -> Sender:
    """The operator, or the author named by e-mail, who must coordinate the programme (or,
    without one, some programme: then their programmes are the scope). `NotAllowed` names
    what is wrong."""
    home = await uow.programmes.by_slug(programme) if programme else None
    if programme and home is None:
        raise NotAllowed(f"no programme {programme!r}; see `peerbot programmes list`")
    writer = await uow.officers.by_email(author) if author else None
    if author and writer is None:
        raise NotAllowed(f"--author: no officer with the email {author!r}")
    scope: list[int] | None = [home.id] if home else None
    if writer is not None:
        coordinated = await uow.officers.coordinated_programme_ids(writer)
        if not coordinated or (home is not None and home.id not in coordinated):
            raise NotAllowed(
                f"{author} is not a coordinator of this programme; "
                "only coordinators can send announcements. Nothing was queued."
            )
        scope = scope or sorted(coordinated)
        return Sender(
            programme_id=home.id if home else scope[0],
            scope=scope,
            who=Coordinator(writer.id, frozenset(coordinated)),
            content=contents.for_programme(home.slug if home else None),
        )
    return Sender(
        programme_id=home.id if home else None,
        scope=scope,
        who=None,
        content=contents.for_programme(home.slug if home else None),
    )


async def preview(
    uow: UnitOfWork, by: Sender, audience_text: str
) -> tuple[Audience, dict[str, int]]:
    """The audience of a written filter within the sender's scope and its recipients per
    platform and per reason they get nothing (`AudienceProblem`: parts not understood)."""
    wanted = await audience_of(uow, audience_text, by.content.taxonomy)
    return wanted, await count(uow, wanted, by.scope)


def question(text: str, options: list[str], multi: bool, content: Content) -> Poll:
    """A survey's question as `peerbot broadcast create` takes it: answered in writing when
    it has no `options`, else by picking one or, with `multi`, several of them."""
    kind = "text" if not options else ("multi" if multi else "single")
    return bc.make_poll(text, kind, options, content)


async def status_of(uow: UnitOfWork, announcement_id: int) -> dict[str, Any] | None:
    """The delivery report of any announcement (the operator's `broadcast status`)."""
    ann = await uow.announcements.get(announcement_id)
    return await bc.status_json(uow, ann) if ann is not None else None


async def results_of(
    uow: UnitOfWork, contents: ContentStore, announcement_id: int, now: datetime
) -> tuple[dict[str, Any], str] | None:
    """Any survey's results as JSON and as the coordinators' message (in English); None when
    there is no such announcement, `NotAllowed` when it carries no question."""
    ann = await uow.announcements.get(announcement_id)
    if ann is None:
        return None
    if not ann.poll:
        raise NotAllowed(f"announcement #{ann.id} carries no question")
    content = await contents.of_programme(uow, ann.programme_id)
    found = await polls.results_json(uow, ann, now, content.taxonomy)
    return found, polls.results_text(found, content, "en", now)


async def latest(uow: UnitOfWork, limit: int = 50) -> list[dict[str, Any]]:
    """Every programme's latest announcements, newest first (the operator's `broadcast list`)."""
    return [
        {
            "id": a.id,
            "status": a.status,
            "text": a.text,
            "recipients": a.recipients,
            "question": question_of(a.poll),
            "send_at": a.send_at.isoformat() if a.send_at else None,
            "closes_at": a.closes_at.isoformat() if a.closes_at else None,
            "created_at": a.created_at.isoformat(),
        }
        for a in await uow.announcements.recent(limit)
    ]


async def cancel_any(uow: UnitOfWork, announcement_id: int) -> str | None:
    """Cancel a scheduled announcement (the operator's `broadcast cancel`): `cancelled`, else
    the status that keeps it going; None when there is no such announcement."""
    ann = await uow.announcements.get(announcement_id)
    if ann is None:
        return None
    outcome = "cancelled" if bc.cancel_scheduled(ann) else str(ann.status)
    await uow.commit()
    return outcome
