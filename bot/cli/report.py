"""`peerbot report --json | --html FILE | --xlsx FILE | --csv DIR`: the coordinators' figures,
as on `/dashboard`; the funders' indicators as a workbook or as one CSV file per indicator."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from bot.cli.main import arun, dump, fail, settings, with_runtime

if TYPE_CHECKING:
    from bot.app import Runtime

NAME = "report"
app = typer.Typer(help="Programme figures (the dashboard's).", invoke_without_command=True)


@app.callback()
def report(
    json_out: bool = typer.Option(False, "--json", help="print one JSON document"),
    html: Path = typer.Option(None, "--html", help="write a self-contained HTML page here"),
    xlsx: Path = typer.Option(
        None, "--xlsx", help="write the funders' indicators here (one sheet per indicator)"
    ),
    csv_dir: Path = typer.Option(
        None,
        "--csv",
        help="write the funders' indicators into this folder, one CSV file per indicator",
    ),
    programme: str = typer.Option(None, "--programme", help="programme slug (default: all)"),
    lang: str = typer.Option("en", "--lang", help="language of the HTML page"),
) -> None:
    """Participants, pair health, check-in answers, FAQ questions and announcements."""
    from handlers.report.service import programme_report

    if not json_out and html is None and xlsx is None and csv_dir is None:
        fail("say --json, --html FILE, --xlsx FILE or --csv DIR", 2)

    async def go(rt: Runtime) -> tuple[Any, Any] | None:
        async with rt.core.uow() as uow:
            figures = await programme_report(uow, None, programme, rt.clock.now())
        return None if figures is None else (figures, rt.content.current)

    found = arun(with_runtime(settings(), go))
    if found is None:
        fail(f"no programme {programme!r}; see `peerbot programmes list`", 2)
    figures, content = found
    if html is not None:
        from bot.web.render import render_report, translator_for

        locale = content.t.resolve(lang)
        page = render_report(
            figures,
            translator_for(content.t, locale),
            lambda code: content.taxonomy.label("sectors", code, locale),
            lang=locale,
        )
        try:
            html.write_text(page, encoding="utf-8")
        except OSError as exc:
            fail(f"cannot write {html}: {exc.strerror}", 1)
        if not json_out:
            typer.echo(f"wrote {html}")
    if xlsx is not None:
        from handlers.outcomes.export import report_breakdowns, write_workbook

        try:
            write_workbook(
                xlsx,
                figures.kpis,
                figures.kpis_by_authority,
                figures.generated_at,
                [p["slug"] for p in figures.programmes],
                report_breakdowns(figures),
            )
        except OSError as exc:
            fail(f"cannot write {xlsx}: {exc.strerror}", 1)
        if not json_out:
            typer.echo(f"wrote {xlsx}")
    if csv_dir is not None:
        from handlers.outcomes.export import report_breakdowns, write_csv_files

        try:
            written = write_csv_files(
                csv_dir, figures.kpis, figures.kpis_by_authority, report_breakdowns(figures)
            )
        except OSError as exc:
            fail(f"cannot write into {csv_dir}: {exc.strerror}", 1)
        if not json_out:
            typer.echo(f"wrote {len(written)} CSV files into {csv_dir}")
    if json_out:
        dump(figures.to_json())
