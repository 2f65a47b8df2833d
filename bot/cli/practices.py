"""`peerbot practices list|review|import|export`: the good practices mentors bring."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from bot.cli.main import arun, dump, fail, settings, with_runtime

if TYPE_CHECKING:
    from bot.app import Runtime

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
    from handlers.practices.service import STATUSES, every_practice

    if status and status not in STATUSES:
        fail(f"--status must be one of {', '.join(STATUSES)}", 2)

    async def go(rt: Runtime) -> list[dict[str, Any]]:
        async with rt.core.uow() as uow:
            return await every_practice(uow, status)

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
    from handlers.practices.service import review_practices

    async def go(rt: Runtime) -> dict[str, Any]:
        async with rt.core.uow() as uow:
            return await review_practices(
                uow, rt.content.current, rt.core.secret, approve, reject, rt.clock.now()
            )

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

    if not file.exists():
        fail(f"no such file: {file}", 2)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        fail(f"{file}: not UTF-8 text", 2)

    async def go(rt: Runtime) -> Any:
        async with rt.core.uow() as uow:
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

    async def go(rt: Runtime) -> str:
        async with rt.core.uow() as uow:
            return await export_yaml(uow, status)

    file.write_text(arun(with_runtime(settings(), go)), encoding="utf-8")
    typer.echo(f"wrote {file}")


@app.command("figures")
def practice_figures(
    practice_id: int = typer.Argument(..., help="the practice's number (practices list)"),
    amount: str = typer.Option(None, "--amount", help="investment in euros, e.g. 2400000 or 2.4M"),
    mix: str = typer.Option(None, "--mix", help='shares in %, e.g. "epc=70,eu_funds=30"'),
    savings: str = typer.Option(None, "--savings", help="energy saved, MWh per year"),
    renewable: str = typer.Option(None, "--renewable", help="renewable energy, MWh per year"),
    co2: str = typer.Option(None, "--co2", help="CO2 avoided, tonnes per year"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Record a practice's investment, instrument mix and yearly results (checked first)."""
    from handlers.outcomes.rules import parse_figure
    from handlers.practices.files import practice_json
    from handlers.practices.flow import parse_amount
    from handlers.practices.rules import FigureError, PracticeFigures, parse_mix
    from handlers.practices.service import set_figures

    if all(v is None for v in (amount, mix, savings, renewable, co2)):
        fail("give at least one of --amount, --mix, --savings, --renewable, --co2", 2)

    def figure(text: str | None, option: str) -> float | None:
        if text is None:
            return None
        value = parse_figure(text)
        if value is None:
            fail(f"{option} must be a number from 0 to 10,000,000, not {text!r}", 2)
        return value

    invested = parse_amount(amount) if amount is not None else None
    if amount is not None and not invested:
        fail(f"--amount must be an amount in euros such as 2400000 or 2.4M, not {amount!r}", 2)
    yearly = (figure(savings, "--savings"), figure(renewable, "--renewable"), figure(co2, "--co2"))

    async def go(rt: Runtime) -> dict[str, Any] | str:
        content = rt.content.current
        codes = content.taxonomy.codes("instruments")
        try:
            shares = parse_mix(mix, content.taxonomy) if mix is not None else None
            async with rt.core.uow() as uow:
                practice = await set_figures(
                    uow, None, practice_id, PracticeFigures(invested, shares, *yearly), codes,
                    coordinator=True,
                )  # fmt: skip
                await uow.commit()
                return await practice_json(uow, practice)
        except FigureError as exc:
            return content.t("en", f"practice_figures.errors.{exc.key}", **exc.values)

    row = arun(with_runtime(settings(), go))
    if isinstance(row, str):
        fail(row, 1 if row.startswith("There is no") else 2)
    if json_out:
        dump(row)
    else:
        mix_text = ", ".join(f"{k} {v}%" for k, v in (row["instrument_mix"] or {}).items())
        typer.echo(
            f"#{row['id']} {row['title']}: EUR {row['amount_eur'] or '-'}"
            f" ({mix_text or 'no mix'}); per year: {row['savings_mwh_per_year'] or '-'} MWh saved, "
            f"{row['renewable_mwh_per_year'] or '-'} MWh renewable, "
            f"{row['co2_t_per_year'] or '-'} t CO2 avoided"
        )
