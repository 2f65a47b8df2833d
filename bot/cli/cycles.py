"""`peerbot cycles create|list|apply`: learning cycles and applications to them."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from bot.cli.main import arun, dump, fail, settings, with_runtime

if TYPE_CHECKING:
    from bot.app import Runtime

NAME = "cycles"
app = typer.Typer(help="Learning cycles and applications.", no_args_is_help=True)


def _date(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{what} must be a date like 2027-01-15, not {text!r}", 2)


@app.command("create")
def create(
    name: str = typer.Argument(..., help="cycle name"),
    starts: str = typer.Option(..., "--starts", help="first day, YYYY-MM-DD"),
    ends: str = typer.Option(..., "--ends", help="last day, YYYY-MM-DD"),
    module: list[str] = typer.Option(None, "--module", help="sector (repeatable; default all)"),
    programme: str = typer.Option(None, "--programme", help="programme slug (default: first)"),
    min_mentors: int = typer.Option(1, "--min-mentors"),
    max_mentors: int = typer.Option(2, "--max-mentors"),
    min_learners: int = typer.Option(3, "--min-learners"),
    max_learners: int = typer.Option(6, "--max-learners"),
    per_country: int = typer.Option(
        1, "--learners-per-country", help="learner authorities of one country per group (0: any)"
    ),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Create a learning cycle with its modules and group sizes."""
    from handlers.groups.service import Refused, create_cycle

    starts_on, ends_on = _date(starts, "--starts"), _date(ends, "--ends")
    sizes = {
        "min_mentors": min_mentors,
        "max_mentors": max_mentors,
        "min_learners": min_learners,
        "max_learners": max_learners,
    }

    async def go(rt: Runtime) -> dict[str, Any]:
        async with rt.core.uow() as uow:
            made = await create_cycle(
                uow,
                rt.content.current.taxonomy,
                name=name,
                starts_on=starts_on,
                ends_on=ends_on,
                modules=list(module or []),
                programme_slug=programme,
                sizes=sizes,
                learners_per_country=per_country,
            )
            await uow.commit()
            return made

    try:
        data = arun(with_runtime(settings(), go))
    except Refused as exc:
        fail(str(exc), 2)
    if json_out:
        dump(data)
    else:
        typer.echo(f"cycle {data['id']}: {data['name']} ({data['starts_on']} - {data['ends_on']})")


@app.command("list")
def list_(
    programme: str = typer.Option(None, "--programme", help="programme slug (default: all)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Cycles with their dates, modules and number of applications."""
    from handlers.groups.service import Refused, list_cycles

    async def go(rt: Runtime) -> list[dict[str, Any]]:
        async with rt.core.uow() as uow:
            return await list_cycles(uow, programme)

    try:
        rows = arun(with_runtime(settings(), go))
    except Refused as exc:
        fail(str(exc), 2)
    if json_out:
        dump(rows)
        return
    for c in rows:
        typer.echo(
            f"#{c['id']:<4} {c['name']:<30} {c['starts_on']} - {c['ends_on']}  "
            f"{c['status']:<7} {c['applications']} application(s)  {', '.join(c['modules'])}"
        )


@app.command("apply")
def apply_csv(
    path: Path = typer.Argument(..., help="CSV: email,wants,offers[,capacity]"),
    cycle: int = typer.Option(None, "--cycle", help="cycle id (default: the latest)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Apply officers to a cycle from a CSV (`;`-separated scheme codes or labels)."""
    from handlers.groups.service import Refused, find_cycle, import_applications

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read {path}: {exc}", 2)

    async def go(rt: Runtime) -> dict[str, Any]:
        async with rt.core.uow() as uow:
            found = await find_cycle(uow, cycle)
            report = await import_applications(uow, rt.content.current.taxonomy, found, text)
            await uow.commit()
            return report.to_json()

    try:
        data = arun(with_runtime(settings(), go))
    except Refused as exc:
        fail(str(exc), 2)
    if json_out:
        dump(data)
    else:
        typer.echo(f"{data['created']} created, {data['updated']} updated")
        for error in data["errors"]:
            typer.echo(f"  {error}")
    if data["errors"]:
        raise typer.Exit(1)


@app.command("report")
def report(
    cycle: int = typer.Option(None, "--cycle", help="cycle id (default: the latest)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """A cycle's groups by scheme and module, attendance and health (as in `peerbot report`)."""
    from handlers.groups.figures import cycle_figures
    from handlers.groups.service import Refused, find_cycle

    async def go(rt: Runtime) -> dict[str, Any]:
        async with rt.core.uow() as uow:
            return await cycle_figures(uow, await find_cycle(uow, cycle), rt.clock.now())

    try:
        data = arun(with_runtime(settings(), go))
    except Refused as exc:
        fail(str(exc), 2)
    if json_out:
        dump(data)
        return
    rate = data["checkin_answer_rate"]
    typer.echo(
        f"cycle {data['id']} ({data['name']}): {data['applications']} application(s); groups "
        + (", ".join(f"{k} {v}" for k, v in data["groups_by_status"].items()) or "none")
    )
    typer.echo(f"  by scheme: {data['groups_by_scheme']}  by module: {data['groups_by_module']}")
    typer.echo(
        f"  check-ins answered: {data['checkins_answered']}/{data['checkins_asked']}"
        f" ({'-' if rate is None else f'{rate:.0%}'}); sessions: {data['sessions']}; "
        f"health: {data['health']}; vacant seats: {data['vacant_seats']}"
    )
