"""`peerbot` as tests call it: in this process through typer's runner, like the console script.

A real process pays Python's start-up and every import for each call (3–5 s here); the
runner gives the same exit code, stdout and stderr in a fraction of that. `peerbot run`
(signal handlers, the console reading its stdin) and anything given `real_process=True`
still run as a real `python -m bot` process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import typer
import typer.testing
from typer.main import get_command
from typer.testing import CliRunner, Result

from bot.app import Runtime, build
from bot.cli.main import app, register_command_modules
from bot.config import Settings
from tests.support.paths import REPO_ROOT

ROOT = REPO_ROOT
register_command_modules()
# typer's runner builds the click command tree from the app on every call (about 15 ms of CPU,
# a few hundred calls in the suite); this process's one app is built once, as the console
# script builds it once per process. (typer's runner offers no way to pass the built tree.)
_COMMAND = get_command(app)


def _command_of(typer_app: typer.Typer) -> Any:
    return _COMMAND if typer_app is app else get_command(typer_app)


typer.testing._get_command = _command_of


@dataclass(frozen=True)
class Completed:
    """What a `peerbot` call left: its exit code and what it wrote."""

    returncode: int
    stdout: str
    stderr: str


def _in_process(args: list[str], env: Mapping[str, str], stdin: str) -> Completed:
    # the command configures the root logger onto its captured stderr: give the test its own
    # handlers (pytest's capture among them) back afterwards
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        result = CliRunner().invoke(app, args, input=stdin or None, env=dict(env))
    finally:
        root.handlers[:], root.level = handlers, level
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Completed(result.exit_code, result.stdout, result.stderr)


def peerbot(
    *args: str, env: Mapping[str, str], stdin: str = "", real_process: bool = False
) -> Completed:
    """Run `peerbot ARGS` with these environment variables (on top of the test's own)."""
    if real_process or args[:1] == ("run",):
        done = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            cwd=ROOT,
            timeout=180,
        )
        return Completed(done.returncode, done.stdout, done.stderr)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _in_process(list(args), env, stdin)
    # called from an async test: the command runs its own event loop, so in another thread
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_in_process, list(args), env, stdin).result()


def invoke(settings: Settings, *args: str, stdin: str | None = None) -> Result:
    """`peerbot ARGS` in this process on the test's database, as typer's runner reports it."""
    env = {"DATABASE_URL": settings.database_url, "LOG_LEVEL": "WARNING"}
    return CliRunner().invoke(app, list(args), input=stdin, env=env)


def with_runtime(settings: Settings, fn: Callable[[Runtime], Awaitable[Any]]) -> Any:
    """Run `fn` with a runtime of its own (as the running bot would), from a sync test."""

    async def go() -> Any:
        rt = await build(settings)
        try:
            return await fn(rt)
        finally:
            await rt.close()

    return asyncio.run(go())
