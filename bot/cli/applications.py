"""`peerbot applications list|accept|decline`: authorities outside the programme asking to
join (the public `/apply` form); accepting one creates its invite code."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from bot.cli.main import arun, dump, fail, settings, with_runtime

if TYPE_CHECKING:
    from bot.app import Runtime

NAME = "applications"
app = typer.Typer(help="Requests to join from the public /apply page.", no_args_is_help=True)


@app.command("list")
def list_applications(
    status: str = typer.Option(None, "--status", help="pending | accepted | declined"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """The requests received, oldest first."""
    from handlers.outcomes import service

    async def go(rt: Runtime) -> list[dict[str, Any]]:
        async with rt.core.uow() as uow:
            return await service.list_applications(uow, status)

    rows = arun(with_runtime(settings(), go))
    if json_out:
        dump({"applications": rows})
        return
    for r in rows:
        typer.echo(
            f"#{r['id']:<4} {r['status']:<9} {r['authority']} ({r['country']}) "
            f"{r['contact_name']} <{r['email']}>: {r['wants'][:80]}"
        )


@app.command("accept")
def accept(
    application_id: int = typer.Argument(..., help="the application's number"),
    days: int = typer.Option(30, min=1, help="days the invite stays valid"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Accept a request: its authority joins the roster and gets a one-time invite."""
    from handlers.outcomes import service

    s = settings()

    async def go(rt: Runtime) -> service.Accepted | str:
        async with rt.core.uow() as uow:
            try:
                done = await service.accept_application(
                    uow, application_id, "cli", rt.clock.now(), days
                )
            except service.Invalid as exc:
                return rt.content.current.t("en", f"outcomes.errors.{exc.key}", **exc.values)
            await uow.commit()
            return done

    done = arun(with_runtime(s, go))
    if isinstance(done, str):
        fail(done, 2)
    bot_name = s.telegram_bot_username or "<your_bot>"
    links = {
        "code": done.code,
        "telegram": f"https://t.me/{bot_name}?start={done.code}",
        "slack": f"/peerbot join {done.code}",
    }
    row = {
        "application": done.application_id,
        "authority": done.authority,
        "country": done.country,
        "email": done.email,
        "invite": links,
    }
    if json_out:
        dump(row)
    else:
        typer.echo(
            f"accepted #{done.application_id} {done.authority} ({done.country}); send "
            f"{done.email} the invite {done.code}  {links['telegram']}"
        )


@app.command("decline")
def decline(
    application_id: int = typer.Argument(..., help="the application's number"),
    reason: str = typer.Option(..., "--reason", help="why (kept with the request)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Decline a request with a reason; write to the requester yourself."""
    from handlers.outcomes import service

    async def go(rt: Runtime) -> dict[str, Any] | str:
        async with rt.core.uow() as uow:
            try:
                row = await service.decline_application(uow, application_id, reason, rt.clock.now())
            except service.Invalid as exc:
                return rt.content.current.t("en", f"outcomes.errors.{exc.key}", **exc.values)
            found = service.application_json(row)
            await uow.commit()
            return found

    found = arun(with_runtime(settings(), go))
    if isinstance(found, str):
        fail(found, 2)
    if json_out:
        dump(found)
    else:
        typer.echo(f"declined #{found['id']} {found['authority']} ({found['country']})")
