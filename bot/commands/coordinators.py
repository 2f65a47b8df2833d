"""`peerbot coordinators token`: a login token for the coordinators' dashboard."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import typer

from bot.cli import _with_runtime, arun, dump, fail, settings

NAME = "coordinators"
app = typer.Typer(help="Coordinators' access to the dashboard.", no_args_is_help=True)


@app.command("token")
def token(
    email: str = typer.Option(..., "--email", help="the coordinator's e-mail"),
    ttl_days: int = typer.Option(30, "--ttl-days", min=1, max=365, help="days it stays valid"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Print a new dashboard token (shown once; only its hash is stored)."""
    from storage.repositories.dashboard import DashboardTokenRepo

    async def go(rt: Any) -> dict[str, Any] | str:
        from storage.uow import UnitOfWork

        async with UnitOfWork(rt.sessionmaker) as uow:
            officer = await uow.officers.by_email(email)
            if officer is None:
                return f"no officer with e-mail {email!r}"
            ids = await uow.officers.coordinated_programme_ids(officer)
            slugs = sorted(p.slug for p in await uow.programmes.list() if p.id in ids)
            if not slugs:
                return f"{email} is not a coordinator of any programme; no token issued"
            now = rt.clock.now()
            expires = now + timedelta(days=ttl_days)
            issued = await uow.get(DashboardTokenRepo).issue(officer.id, expires, now)
            await uow.commit()
            return {
                "token": issued,
                "officer_id": officer.id,
                "programmes": slugs,
                "expires_at": expires.isoformat(),
            }

    result = arun(_with_runtime(settings(), go))
    if isinstance(result, str):
        fail(result, 1)
        return
    if json_out:
        dump(result)
        return
    typer.echo(result["token"])
    typer.echo(
        f"dashboard token for {email} ({', '.join(result['programmes'])}), "
        f"valid until {result['expires_at'][:16]} UTC; it is shown only once",
        err=True,
    )
