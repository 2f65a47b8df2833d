"""`peerbot practices list|review|import|export`: the good practices mentors bring."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from bot.cli.main import arun, dump, fail, settings, with_runtime

NAME = "practices"
app = typer.Typer(help="Good practices: review, list, import and export.", no_args_is_help=True)


def _show(rows: list[dict[str, Any]]) -> None:
    for r in rows:
        year = r["year"] or "-"
        typer.echo(
            f"#{r['id']:<4} {r['status']:<9} {r['authority'] or '-'} ({year}): {r['title']} "
            f"[{', '.join(r['instruments'])}]"
        )


@app.command("list")
def list_practices(
    status: str = typer.Option(None, "--status", help="pending | approved | rejected"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """List good practices (all, or those with one status)."""
    from handlers.practices.files import practice_json
    from storage.repositories.practices import STATUSES, PracticeRepo
    from storage.uow import UnitOfWork

    if status and status not in STATUSES:
        fail(f"--status must be one of {', '.join(STATUSES)}", 2)

    async def go(rt: Any) -> list[dict[str, Any]]:
        async with UnitOfWork(rt.sessionmaker) as uow:
            practices = await uow.get(PracticeRepo).list(status=status)
            return [await practice_json(uow, p) for p in practices]

    rows = arun(with_runtime(settings(), go))
    if json_out:
        dump(rows)
    else:
        _show(rows)


@app.command("review")
def review_practices(
    approve: list[int] = typer.Option([], "--approve", help="publish a practice (repeatable)"),
    reject: list[int] = typer.Option([], "--reject", help="turn a practice down (repeatable)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Without options: the practices waiting for review. With them: approve or reject."""
    from handlers.practices.files import practice_json
    from handlers.practices.flow import review
    from storage.repositories.practices import PENDING, PracticeRepo
    from storage.uow import UnitOfWork

    async def go(rt: Any) -> dict[str, Any]:
        async with UnitOfWork(rt.sessionmaker) as uow:
            done: dict[str, list[int]] = {"approved": [], "rejected": [], "missing": []}
            for ids, approving in ((approve, True), (reject, False)):
                for practice_id in ids:
                    reviewed = await review(
                        uow, rt.content.current, rt.core.secret, practice_id, approving, None,
                        rt.clock.now(),
                    )  # fmt: skip
                    if reviewed.practice is None:
                        done["missing"].append(practice_id)
                    else:
                        done["approved" if approving else "rejected"].append(practice_id)
            await uow.commit()
            pending = await uow.get(PracticeRepo).list(status=PENDING)
            return {**done, "pending": [await practice_json(uow, p) for p in pending]}

    result = arun(with_runtime(settings(), go))
    if json_out:
        dump(result if (approve or reject) else result["pending"])
    else:
        if approve or reject:
            approved, rejected = result["approved"] or "none", result["rejected"] or "none"
            typer.echo(f"approved: {approved}; rejected: {rejected}")
            if result["approved"] or result["rejected"]:
                typer.echo("the authors are told by the running bot")
        typer.echo(f"{len(result['pending'])} waiting for review")
        _show(result["pending"])
    if result["missing"]:
        fail(f"no practice {', '.join(f'#{i}' for i in result['missing'])}", 1)


@app.command("import")
def import_practices(file: Path, json_out: bool = typer.Option(False, "--json")) -> None:
    """Load practices from YAML: every item is checked first; any error writes nothing."""
    from handlers.practices.files import import_yaml
    from storage.uow import UnitOfWork

    if not file.exists():
        fail(f"no such file: {file}", 2)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        fail(f"{file}: not UTF-8 text", 2)

    async def go(rt: Any) -> Any:
        async with UnitOfWork(rt.sessionmaker) as uow:
            report = await import_yaml(uow, text, rt.content.current.taxonomy)
            if not report.errors:
                await uow.commit()
            return report

    report = arun(with_runtime(settings(), go))
    if json_out:
        dump({"created": report.created, "updated": report.updated, "errors": report.errors})
    else:
        for line in report.errors:
            typer.echo(f"{file}: {line}", err=True)
        if report.errors:
            typer.echo(f"{len(report.errors)} problem(s); nothing was imported")
        else:
            typer.echo(f"imported: {report.created} created, {report.updated} updated")
    if report.errors:
        raise typer.Exit(1)


@app.command("export")
def export_practices(
    file: Path,
    status: str = typer.Option(None, "--status", help="only practices with this status"),
) -> None:
    """Write practices to a YAML file in the import format."""
    from handlers.practices.files import export_yaml
    from storage.uow import UnitOfWork

    async def go(rt: Any) -> str:
        async with UnitOfWork(rt.sessionmaker) as uow:
            return await export_yaml(uow, status)

    file.write_text(arun(with_runtime(settings(), go)), encoding="utf-8")
    typer.echo(f"wrote {file}")
