"""`peerbot coordinators token|revoke|serve`: the coordinators' dashboard access."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import typer

from bot.cli.main import arun, dump, fail, settings, with_runtime

if TYPE_CHECKING:
    from bot.app import Runtime

NAME = "coordinators"
app = typer.Typer(help="Coordinators' access to the dashboard.", no_args_is_help=True)


@app.command("token")
def token(
    email: str = typer.Option(..., "--email", help="the coordinator's e-mail"),
    ttl_days: int = typer.Option(30, "--ttl-days", min=1, max=365, help="days it stays valid"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Print a new dashboard token (shown once; only its hash is stored)."""
    from handlers.audit.sign_in import NoToken, issue_token

    async def go(rt: Runtime) -> dict[str, Any] | str:
        async with rt.core.uow() as uow:
            try:
                issued = await issue_token(uow, email, timedelta(days=ttl_days), rt.clock.now())
            except NoToken as exc:
                return str(exc)
        return {
            "token": issued.token,
            "officer_id": issued.officer_id,
            "programmes": issued.programmes,
            "expires_at": issued.expires_at.isoformat(),
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

    from handlers.audit.sign_in import NoToken, revoke_tokens

    if (token is None) == (email is None):
        fail("give exactly one of --token or --email", 2)
    if token == "-":
        token = sys.stdin.readline().strip()
    if token is not None and not token:
        fail("the token is empty", 2)

    async def go(rt: Runtime) -> dict[str, Any] | str:
        async with rt.core.uow() as uow:
            try:
                revoked = await revoke_tokens(uow, token, email)
            except NoToken as exc:
                return str(exc)
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

        from bot.app import build, prepare_database
        from bot.http import make_web_app, serve

        await prepare_database(s.database_url)
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
