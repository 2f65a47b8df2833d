"""One HTTP server for webhooks (Telegram, Slack), /healthz and /metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from aiohttp import web
from sqlalchemy import text

if TYPE_CHECKING:
    from bot.app import Runtime

RUNTIME_KEY = web.AppKey("runtime", object)


class PlatformAdapter(Protocol):
    """A running platform adapter (Telegram, Slack)."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def healthy(self) -> bool: ...


async def healthz(request: web.Request) -> web.Response:
    """Database reachable and adapters running: 200, else 503, with details."""
    runtime: Runtime = request.app[RUNTIME_KEY]  # type: ignore[assignment]
    report: dict[str, object] = {}
    try:
        async with runtime.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        report["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        report["database"] = f"error: {type(exc).__name__}"
    adapters = {a.name: ("ok" if a.healthy() else "down") for a in runtime.adapters}
    report["adapters"] = adapters
    ok = report["database"] == "ok" and all(v == "ok" for v in adapters.values())
    report["status"] = "ok" if ok else "degraded"
    return web.json_response(report, status=200 if ok else 503)


def make_web_app(runtime: Runtime) -> web.Application:
    """The aiohttp application adapters add their webhook routes to."""
    app = web.Application(client_max_size=1024 * 1024)
    app[RUNTIME_KEY] = runtime
    app.router.add_get("/healthz", healthz)
    return app


async def serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start serving; returns the runner to clean up."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
