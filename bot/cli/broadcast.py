"""`peerbot broadcast …`: create an announcement (or a question) and follow its delivery.

The running bot (`peerbot run`) sends it: its `announcements` job expands the announcement into
outbox rows when it is due, and the outbox senders deliver them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

import typer

from bot.cli.main import arun, dump, fail, settings, with_runtime

NAME = "broadcast"
T = TypeVar("T")
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
        from handlers.announcements import service
        from handlers.audit.service import NotAllowed

        async with rt.core.uow() as uow:
            try:
                by = await service.sender(uow, rt.content, programme, author)
                wanted, totals = await service.preview(uow, by, audience)
            except NotAllowed as e:
                return {"error": str(e.args[0])}
            except service.AudienceProblem as e:
                return {"error": f"--audience: not understood: {', '.join(e.parts)}"}
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
            try:
                ann = await service.create(
                    uow,
                    by,
                    text=text,
                    audience=wanted,
                    now=now,
                    lang=lang,
                    translations=translations,
                    send_at=send_at,
                    poll=service.question(question, option, multi, by.content)
                    if question
                    else None,
                    closes_at=closes_at,
                )
            except ValueError as e:
                return {"error": _refused(str(e))}
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


def _refused(reason: str) -> str:
    """What the service's refusal means on the command line."""
    if reason == "too_long":
        from handlers.announcements.flow import MAX_TEXT

        return f"--text is longer than {MAX_TEXT} characters; shorten it (nothing was queued)"
    return f"refused ({reason}); nothing was queued"


def _found(value: T | None, announcement_id: int) -> T:
    if value is None:
        fail(f"no announcement #{announcement_id}", 1)
    return value


@app.command("status")
def status(announcement_id: int, json_out: bool = typer.Option(False, "--json")) -> None:
    """Delivery report: total, sent, pending, failed, undeliverable, started and finished."""
    from handlers.announcements.service import status_of

    async def go(rt: Any) -> dict[str, Any] | None:
        async with rt.core.uow() as uow:
            return await status_of(uow, announcement_id)

    report = _found(arun(with_runtime(settings(), go)), announcement_id)
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
    from handlers.announcements.service import results_of
    from handlers.audit.service import NotAllowed

    async def go(rt: Any) -> tuple[dict[str, Any], str] | str | None:
        async with rt.core.uow() as uow:
            try:
                return await results_of(uow, rt.content, announcement_id, datetime.now(UTC))
            except NotAllowed as e:
                return str(e.args[0])

    found = _found(arun(with_runtime(settings(), go)), announcement_id)
    if isinstance(found, str):
        fail(found, 1)
    if json_out:
        dump(found[0])
    else:
        typer.echo(found[1])


@app.command("list")
def list_announcements(
    json_out: bool = typer.Option(False, "--json"), limit: int = typer.Option(50, min=1)
) -> None:
    """The latest announcements."""
    from handlers.announcements.service import latest

    async def go(rt: Any) -> list[dict[str, Any]]:
        async with rt.core.uow() as uow:
            return await latest(uow, limit)

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
    from handlers.announcements.service import cancel_any

    async def go(rt: Any) -> str | None:
        async with rt.core.uow() as uow:
            return await cancel_any(uow, announcement_id)

    outcome = _found(arun(with_runtime(settings(), go)), announcement_id)
    if outcome != "cancelled":
        fail(f"announcement #{announcement_id} is already {outcome}; only scheduled ones cancel", 1)
    typer.echo(f"announcement #{announcement_id} cancelled")
