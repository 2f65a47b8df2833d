"""One HTTP server for webhooks (Telegram, Slack), /healthz and /metrics."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.web import add_dashboard_routes
from bot.web.apply import add_apply_routes
from handlers.core.metrics import (
    ADAPTER_UP,
    INBOX_DEPTH,
    INBOX_OLDEST,
    INBOX_POISON_ROWS,
    OUTBOX_PENDING,
)

if TYPE_CHECKING:
    from bot.app import Runtime

RUNTIME_KEY = web.AppKey("runtime", object)
log = logging.getLogger(__name__)


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
        async with runtime.core.uow() as uow:
            await uow.ping()
        report["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        report["database"] = f"error: {type(exc).__name__}"
    adapters = {a.name: ("ok" if a.healthy() else "down") for a in runtime.adapters}
    report["adapters"] = adapters
    backlog_ok = True
    if report["database"] == "ok":
        try:
            async with runtime.core.uow() as uow:
                inbox = await uow.inbox.stats()
            limit = runtime.settings.inbox_backlog_seconds
            backlog_ok = inbox["oldest_age"] <= limit
            report["inbox"] = {
                "depth": int(inbox["depth"]),
                "oldest_age_seconds": round(inbox["oldest_age"], 1),
                "poison": int(inbox["poison"]),
                "status": "ok" if backlog_ok else f"backlog older than {limit:g} s",
            }
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            report["inbox"] = f"error: {type(exc).__name__}"
    ok = report["database"] == "ok" and all(v == "ok" for v in adapters.values()) and backlog_ok
    report["status"] = "ok" if ok else "degraded"
    return web.json_response(report, status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    """The counters of `handlers.core.metrics` (and the process's) in Prometheus text format."""
    runtime: Runtime = request.app[RUNTIME_KEY]  # type: ignore[assignment]
    for adapter in runtime.adapters:
        ADAPTER_UP.labels(adapter.name).set(1 if adapter.healthy() else 0)
    try:
        async with runtime.core.uow() as uow:
            OUTBOX_PENDING.set(await uow.outbox.pending_count())
            inbox = await uow.inbox.stats()
        INBOX_DEPTH.set(inbox["depth"])
        INBOX_OLDEST.set(inbox["oldest_age"])
        INBOX_POISON_ROWS.set(inbox["poison"])
    except Exception as exc:  # noqa: BLE001 - /healthz reports the database; counters still count
        log.debug("outbox gauge not refreshed: %s", type(exc).__name__)
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def make_web_app(runtime: Runtime) -> web.Application:
    """The aiohttp application adapters add their webhook routes to."""
    app = web.Application(client_max_size=1024 * 1024)
    app[RUNTIME_KEY] = runtime
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    add_dashboard_routes(app, runtime)
    add_apply_routes(app, runtime)
    return app


async def serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Start serving; returns the runner to clean up."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
