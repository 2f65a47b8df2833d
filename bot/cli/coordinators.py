"""`peerbot coordinators token|revoke|serve`: the coordinators' dashboard access."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import typer

from bot.cli.main import arun, dump, fail, settings, with_runtime

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

    result = arun(with_runtime(settings(), go))
    if isinstance(result, str):
        fail(result, 1)
    if json_out:
        dump(result)
        return
    typer.echo(result["token"])
    typer.echo(
        f"dashboard token for {email} ({', '.join(result['programmes'])}), "
        f"valid until {result['expires_at'][:16]} UTC; it is shown only once",
        err=True,
    )


@app.command("revoke")
def revoke(
    token: str = typer.Option(
        None, "--token", help="the token to revoke ('-' reads it from standard input)"
    ),
    email: str = typer.Option(None, "--email", help="revoke every token of this coordinator"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Revoke a dashboard token, or all tokens of an e-mail; signed-in browsers are signed
    out at their next request (their sessions are deleted with the token)."""
    import sys

    from storage.repositories.dashboard_sessions import DashboardRevocation

    if (token is None) == (email is None):
        fail("give exactly one of --token or --email", 2)
    if token == "-":
        token = sys.stdin.readline().strip()
    if token is not None and not token:
        fail("the token is empty", 2)

    async def go(rt: Any) -> dict[str, Any] | str:
        from storage.uow import UnitOfWork

        async with UnitOfWork(rt.sessionmaker) as uow:
            repo = uow.get(DashboardRevocation)
            if token is not None:
                revoked = await repo.revoke_token(token)
                if not revoked:
                    return "no such token (already revoked, expired and removed, or mistyped)"
            else:
                officer = await uow.officers.by_email(email)
                if officer is None:
                    return f"no officer with e-mail {email!r}"
                revoked = await repo.revoke_officer(officer.id)
            await uow.commit()
            return {"revoked": revoked, "email": email}

    result = arun(with_runtime(settings(), go))
    if isinstance(result, str):
        fail(result, 1)
    if json_out:
        dump(result)
        return
    who = f" of {email}" if email else ""
    typer.echo(f"revoked {result['revoked']} dashboard token(s){who}")


@app.command("serve")
def serve_dashboard(
    host: str = typer.Option(None, "--host", help="address (default PEERBOT_HTTP_HOST)"),
    port: int = typer.Option(None, "--port", help="port (default PEERBOT_HTTP_PORT)"),
) -> None:
    """Serve only the dashboard, /metrics and /healthz (no chat adapter), e.g. beside the
    console demo or on a separate host; `peerbot run` with a platform serves them too."""
    s = settings()
    from bot.logs import configure, secrets_of

    configure(s.log_level, s.log_format, secrets_of(s))

    async def go() -> None:
        import asyncio
        import signal

        from bot.app import build
        from bot.http import make_web_app, serve
        from storage.migrate import upgrade

        await upgrade(s.database_url)
        runtime = await build(s)
        where = (host or s.http_host, port or s.http_port)
        try:
            runner = await serve(make_web_app(runtime), *where)
        except OSError as exc:  # the port is taken or the address is not ours
            await runtime.close()
            fail(f"cannot listen on {where[0]}:{where[1]} ({exc.strerror or exc})", 1)
        typer.echo(f"dashboard on http://{where[0]}:{where[1]}/dashboard", err=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
            await runtime.close()

    arun(go())
