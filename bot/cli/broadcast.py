"""`peerbot broadcast …`: create an announcement (or a question) and follow its delivery.

The running bot (`peerbot run`) sends it: its `announcements` job expands the announcement into
outbox rows when it is due, and the outbox senders deliver them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import typer

from bot.cli.main import arun, dump, fail, settings, with_runtime

NAME = "broadcast"
app = typer.Typer(help="Announcements and needs surveys to officers.", no_args_is_help=True)


def _moment(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(f"{name}: not an ISO date and time: {value!r} (e.g. 2026-12-01T09:00+01:00)", 2)
        raise AssertionError from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _translations(values: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for value in values:
        lang, sep, text = value.partition("=")
        if not sep or len(lang.strip()) != 2 or not text.strip():
            fail(f"--translation must be LANG=TEXT (e.g. fr=Bonjour), not {value!r}", 2)
        found[lang.strip().lower()] = text.strip()
    return found


@app.command("create")
def create(
    text: str = typer.Option(..., "--text", help="the announcement"),
    audience: str = typer.Option(
        "everyone",
        "--audience",
        help="e.g. 'country=BE,FR sector=public_lighting lang=fr platform=telegram "
        "programme=SLUG pair=none role=officer'",
    ),
    at: str = typer.Option(None, "--at", help="send at (ISO 8601; UTC when no offset)"),
    yes: bool = typer.Option(False, "--yes", help="do not ask for confirmation"),
    json_out: bool = typer.Option(False, "--json"),
    lang: str = typer.Option("en", "--lang", help="language of --text"),
    translation: list[str] = typer.Option([], "--translation", help="LANG=TEXT, repeatable"),
    programme: str = typer.Option(None, "--programme", help="programme slug (default: all)"),
    author: str = typer.Option(None, "--author", help="coordinator's email (gets the report)"),
    question: str = typer.Option(None, "--question", help="a question to answer"),
    option: list[str] = typer.Option([], "--option", help="an answer option, repeatable"),
    multi: bool = typer.Option(False, "--multi", help="several options may be ticked"),
    closes: str = typer.Option(None, "--closes", help="question closes at (ISO 8601)"),
) -> None:
    """Preview an announcement with its recipient count, confirm, and queue it.

    With --json and without --yes, only the preview is printed and nothing is queued.
    """
    s = settings()
    send_at = _moment(at, "--at")
    closes_at = _moment(closes, "--closes")
    translations = _translations(translation)
    if not text.strip():
        fail("--text is empty", 2)
    if question and option and len(option) < 2:
        fail("a question with options needs at least two --option", 2)
    if question and closes_at is None:
        fail("a question needs --closes", 2)
    now = datetime.now(UTC)
    if send_at is not None and send_at <= now:
        fail(f"--at {at} is in the past", 2)
    if closes_at is not None and closes_at <= (send_at or now):
        fail("--closes must be after the sending time", 2)

    async def go(rt: Any) -> dict[str, Any]:
        from handlers.announcements import flow as bc
        from handlers.announcements.audience import count, parse_audience, programme_ids
        from storage.uow import UnitOfWork

        async with UnitOfWork(rt.sessionmaker) as uow:
            home = await uow.programmes.by_slug(programme) if programme else None
            if programme and home is None:
                return {"error": f"no programme {programme!r}; see `peerbot programmes list`"}
            content = rt.content.for_programme(home.slug if home else None)
            wanted, problems = parse_audience(audience, content.taxonomy)
            _, missing = await programme_ids(uow, wanted)
            if problems or missing:
                return {"error": f"--audience: not understood: {', '.join(problems + missing)}"}
            writer = await uow.officers.by_email(author) if author else None
            if author and writer is None:
                return {"error": f"--author: no officer with the email {author!r}"}
            scope: list[int] | None = [home.id] if home else None
            if writer is not None:
                coordinated = await uow.officers.coordinated_programme_ids(writer)
                if not coordinated or (home is not None and home.id not in coordinated):
                    return {
                        "error": f"{author} is not a coordinator of this programme; "
                        "only coordinators can send announcements. Nothing was queued."
                    }
                scope = scope or sorted(coordinated)
            totals = await count(uow, wanted, scope)
            reachable = {k: v for k, v in totals.items() if k != "unreachable"}
            preview: dict[str, Any] = {
                "id": None,
                "status": "preview",
                "recipients": sum(reachable.values()),
                "by_platform": reachable,
                "unreachable": totals.get("unreachable", 0),
                "audience": wanted.text(),
                "send_at": (send_at or now).isoformat(),
            }
            if not yes:
                if json_out:
                    return preview
                typer.echo(
                    f"To {preview['recipients']} officers "
                    f"({', '.join(f'{k} {v}' for k, v in sorted(reachable.items())) or '-'}); "
                    f"{preview['unreachable']} without a chat account. Audience: "
                    f"{preview['audience']}.\n\n{text}\n",
                    err=True,
                )
                import asyncio  # not at the top: `peerbot --help` starts without it

                if not await asyncio.to_thread(typer.confirm, "Send it?", err=True):
                    return {"error": "not confirmed; nothing was queued"}
            poll = None
            if question:
                kind = "text" if not option else ("multi" if multi else "single")
                poll = bc.make_poll(question, kind, option, content)
            ann = await bc.create(
                uow,
                text=text.strip(),
                audience=wanted,
                scope=scope,
                programme_id=home.id if home else (scope[0] if scope else None),
                author_id=writer.id if writer else None,
                now=now,
                lang=lang,
                translations=translations,
                poll=poll,
                closes_at=closes_at,
                send_at=send_at,
            )
            await uow.commit()
            return {**preview, "id": ann.id, "status": ann.status}

    result = arun(with_runtime(s, go))
    if "error" in result:
        fail(result["error"], 1)
    if json_out:
        dump(result)
    elif result["id"] is not None:
        typer.echo(
            f"announcement #{result['id']} queued for {result['recipients']} officers, "
            f"sending at {result['send_at']}; follow it with `peerbot broadcast status "
            f"{result['id']}`"
        )


def _load(announcement_id: int, fn: Any) -> Any:
    async def go(rt: Any) -> Any:
        from storage.repositories.announcements import AnnouncementRepo
        from storage.uow import UnitOfWork

        async with UnitOfWork(rt.sessionmaker) as uow:
            ann = await uow.get(AnnouncementRepo).get(announcement_id)
            if ann is None:
                return None
            result = await fn(rt, uow, ann)
            await uow.commit()
            return result

    found = arun(with_runtime(settings(), go))
    if found is None:
        fail(f"no announcement #{announcement_id}", 1)
    return found


@app.command("status")
def status(announcement_id: int, json_out: bool = typer.Option(False, "--json")) -> None:
    """Delivery report: total, sent, pending, failed, undeliverable, started and finished."""
    from handlers.announcements.flow import status_json

    report = _load(announcement_id, lambda rt, uow, ann: status_json(uow, ann))
    if json_out:
        dump(report)
        return
    typer.echo(
        f"#{report['id']}: {report['sent']}/{report['total']} sent, {report['pending']} pending, "
        f"{report['failed']} failed, {report['undeliverable']} undeliverable "
        f"(started {report['started_at'] or '-'}, finished {report['finished_at'] or '-'})"
    )


@app.command("results")
def results(announcement_id: int, json_out: bool = typer.Option(False, "--json")) -> None:
    """Answers to an announcement's question: tallies by country and sector, needs named."""
    from handlers.announcements.polls import results_json, results_text

    async def fn(rt: Any, uow: Any, ann: Any) -> Any:
        if not ann.poll:
            return {"error": f"announcement #{ann.id} carries no question"}
        content = await rt.core.content.of_programme(uow, ann.programme_id)
        now = datetime.now(UTC)
        found = await results_json(uow, ann, now, content.taxonomy)
        return {"json": found, "text": results_text(found, content, "en", now)}

    found = _load(announcement_id, fn)
    if "error" in found:
        fail(found["error"], 1)
    if json_out:
        dump(found["json"])
    else:
        typer.echo(found["text"])


@app.command("list")
def list_announcements(
    json_out: bool = typer.Option(False, "--json"), limit: int = typer.Option(50, min=1)
) -> None:
    """The latest announcements."""

    async def go(rt: Any) -> list[dict[str, Any]]:
        from storage.repositories.announcements import AnnouncementRepo
        from storage.uow import UnitOfWork

        async with UnitOfWork(rt.sessionmaker) as uow:
            return [
                {
                    "id": a.id,
                    "status": a.status,
                    "text": a.text,
                    "recipients": a.recipients,
                    "question": (a.poll or {}).get("question"),
                    "send_at": a.send_at.isoformat() if a.send_at else None,
                    "closes_at": a.closes_at.isoformat() if a.closes_at else None,
                    "created_at": a.created_at.isoformat(),
                }
                for a in await uow.get(AnnouncementRepo).recent(limit)
            ]

    rows = arun(with_runtime(settings(), go))
    if json_out:
        dump(rows)
        return
    for r in rows:
        text = " ".join(r["text"].split())[:60]
        typer.echo(f"#{r['id']:<4} {r['status']:<10} {r['recipients']:>5}  {text}")


@app.command("cancel")
def cancel(announcement_id: int) -> None:
    """Cancel a scheduled announcement before it goes out."""
    from handlers.announcements.flow import cancel_scheduled

    async def fn(rt: Any, uow: Any, ann: Any) -> str:
        return "cancelled" if cancel_scheduled(ann) else str(ann.status)

    outcome = _load(announcement_id, fn)
    if outcome != "cancelled":
        fail(f"announcement #{announcement_id} is already {outcome}; only scheduled ones cancel", 1)
    typer.echo(f"announcement #{announcement_id} cancelled")
