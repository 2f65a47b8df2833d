"""`peerbot pairs list|show`: how the pairs are doing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from bot.cli.main import arun, dump, fail, settings, with_runtime

if TYPE_CHECKING:
    from bot.app import Runtime
    from handlers.core.content import Content

NAME = "pairs"
app = typer.Typer(help="Pairs and their check-ins.", no_args_is_help=True)


@app.command("list")
def list_pairs(
    status: list[str] = typer.Option(
        None,
        "--status",
        help="proposed|rejected|approved|introduced|active|stalled|declined|closed (repeatable)",
    ),
    programme: str = typer.Option(None, "--programme", help="programme slug (default: all)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Pairs with their state, last check-in outcome and next check-in.

    Proposals waiting for review are left out unless asked for with --status proposed.
    """
    from handlers.pairing.service import every_pair
    from handlers.pairing.view import STATES

    if status and set(status) - set(STATES):
        fail(f"unknown status in {status}; use {', '.join(STATES)}", 2)

    async def go(rt: Runtime) -> list[dict[str, Any]] | None:
        async with rt.core.uow() as uow:
            rows = await every_pair(uow, rt.clock.now(), programme, status or [])
        return None if rows is None else [_worded(r, rt.content.current) for r in rows]

    rows = arun(with_runtime(settings(), go))
    if rows is None:
        fail(f"no programme {programme!r}; see `peerbot programmes list`", 2)
    if json_out:
        dump(rows)
        return
    for r in rows:
        last = r["last_outcome"] or "-"
        flag = " FLAGGED" if r["flagged"] else ""
        typer.echo(
            f"#{r['id']:<4} {r['state']:<10} {r['topic']:<16} "
            f"{r['learner']['name']} <- {r['mentor']['name']}  last: {last}  "
            f"next: {r['next_checkin'] or '-'}{flag}"
        )


def _worded(row: dict[str, Any], content: Content) -> dict[str, Any]:
    """A pair with its reasons worded in English, as the CLI prints them."""
    from handlers.pairing.reasons import render_reasons

    return {**row, "reasons": render_reasons(content.t, content.taxonomy, "en", row["reasons"])}


@app.command("show")
def show_pair(pair_id: int, json_out: bool = typer.Option(False, "--json")) -> None:
    """One pair with every check-in and what each officer answered."""
    from handlers.pairing.service import pair_detail

    async def go(rt: Runtime) -> dict[str, Any] | None:
        async with rt.core.uow() as uow:
            found = await pair_detail(uow, rt.clock.now(), pair_id)
        return None if found is None else _worded(found, rt.content.current)

    data = arun(with_runtime(settings(), go))
    if data is None:
        fail(f"no pair #{pair_id}", 1)
    if json_out:
        dump(data)
        return
    typer.echo(
        f"#{data['id']} {data['topic']}: {data['learner']['name']} <- {data['mentor']['name']} "
        f"({data['status']}, {data['health']})"
    )
    for c in data["checkins"]:
        typer.echo(f"  check-in {c['period']} due {c['due_at']}: {c['answer'] or 'no answer'}")
        if c["learned"]:
            typer.echo("    " + c["learned"].replace("\n", "\n    "))
