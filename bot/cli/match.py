"""`peerbot match propose|approve|reject|show`: run and review a matching round."""

from __future__ import annotations

from typing import Any

import typer

from bot.cli.main import arun, dump, fail, settings, with_runtime

NAME = "match"
app = typer.Typer(help="Peer matching rounds.", no_args_is_help=True)


def _worded(data: dict[str, Any], content: Any) -> dict[str, Any]:
    """The round with each pair's reasons worded in English, as the CLI prints them."""
    from handlers.pairing.reasons import render_reasons

    for pair in data["pairs"]:
        pair["reasons"] = render_reasons(content.t, content.taxonomy, "en", pair["reasons"])
    return data


async def _programme_id(uow: Any, slug: str | None) -> int | None:
    """The programme named by --programme, else the first one (None: there is none)."""
    programme = await uow.programmes.by_slug(slug) if slug else await uow.programmes.default()
    if slug and programme is None:
        raise LookupError(f"no programme {slug!r}; see `peerbot programmes list`")
    return programme.id if programme else None


def _print_round(data: dict[str, Any]) -> None:
    typer.echo(f"round {data['round']}: {len(data['pairs'])} pair(s)")
    for p in data["pairs"]:
        learner, mentor = p["learner"], p["mentor"]
        typer.echo(
            f"  #{p['id']:<4} {p['status']:<9} {p['topic']:<16} {p['score']:>6.2f}  "
            f"{learner['name']} ({learner['authority']}) <- "
            f"{mentor['name']} ({mentor['authority']})"
        )
        for reason in p["reasons"]:
            typer.echo(f"         - {reason}")
    for u in data["unmatched"]:
        typer.echo(f"  unmatched {u['email']} ({u['topic'] or 'any'}): {u['reason']}")


@app.command("propose")
def propose_round(
    programme: str = typer.Option(None, "--programme", help="programme slug (default: first)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Solve a round and store it as proposals (unreviewed ones of an earlier round go)."""
    from handlers.pairing.flow import propose, round_json

    async def go(rt: Any) -> dict[str, Any]:
        async with rt.core.uow() as uow:
            proposed = await propose(uow, await _programme_id(uow, programme), rt.clock.now())
            await uow.commit()
            data = _worded(await round_json(uow, proposed.round), rt.content.current)
            data.pop("created_at")
            for pair in data["pairs"]:
                pair.pop("status")
            return data

    try:
        data = arun(with_runtime(settings(), go))
    except LookupError as exc:
        fail(str(exc), 2)
    if json_out:
        dump(data)
    else:
        _print_round({**data, "pairs": [{**p, "status": "proposed"} for p in data["pairs"]]})


@app.command("show")
def show_round(
    round_id: int = typer.Argument(None, help="round id (default: the latest)"),
    programme: str = typer.Option(None, "--programme", help="programme slug (default: first)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Show a round: its pairs with their status, and who was left without a peer."""
    from handlers.pairing.flow import round_json, round_to_show

    async def go(rt: Any) -> dict[str, Any] | None:
        async with rt.core.uow() as uow:
            programme_id = None if round_id is not None else await _programme_id(uow, programme)
            found = await round_to_show(uow, round_id, programme_id)
            return _worded(await round_json(uow, found), rt.content.current) if found else None

    try:
        data = arun(with_runtime(settings(), go))
    except LookupError as exc:
        fail(str(exc), 2)
    if data is None:
        fail("no such round; run `peerbot match propose` first", 1)
    if json_out:
        dump(data)
    else:
        _print_round(data)


def _decide(
    ids: list[int], all_: bool, programme: str | None, approving: bool, json_out: bool
) -> None:
    from handlers.pairing.flow import approve, latest_proposed_ids, reject

    if not ids and not all_:
        fail("give pair ids, or --all for every proposal of the latest round", 2)

    async def go(rt: Any) -> dict[str, list[int]]:
        async with rt.core.uow() as uow:
            chosen = list(ids)
            if all_:
                chosen += await latest_proposed_ids(uow, await _programme_id(uow, programme))
            decide = approve if approving else reject
            decided = await decide(uow, chosen, rt.clock.now())
            await uow.commit()
            return {
                "approved" if approving else "rejected": [p.id for p in decided.done],
                "refused": decided.refused,
            }

    try:
        result = arun(with_runtime(settings(), go))
    except LookupError as exc:
        fail(str(exc), 2)
    if json_out:
        dump(result)
    else:
        word = "approved" if approving else "rejected"
        done = result[word]
        typer.echo(f"{word}: {', '.join(f'#{i}' for i in done) or 'none'}")
        if approving and done:
            typer.echo("the running bot introduces approved pairs at its next tick")
    if result["refused"]:
        listed = ", ".join(f"#{i}" for i in result["refused"])
        typer.echo(f"peerbot: not proposed (unknown or already reviewed): {listed}", err=True)
        raise typer.Exit(1)


@app.command("approve")
def approve_pairs(
    ids: list[int] = typer.Argument(None, help="pair ids"),
    all_: bool = typer.Option(False, "--all", help="every proposal of the latest round"),
    programme: str = typer.Option(None, "--programme", help="programme slug (default: first)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Approve proposed pairs; the running bot then introduces them."""
    _decide(ids or [], all_, programme, True, json_out)


@app.command("reject")
def reject_pairs(
    ids: list[int] = typer.Argument(None, help="pair ids"),
    all_: bool = typer.Option(False, "--all", help="every proposal of the latest round"),
    programme: str = typer.Option(None, "--programme", help="programme slug (default: first)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Reject proposed pairs: they are never proposed again."""
    _decide(ids or [], all_, programme, False, json_out)
