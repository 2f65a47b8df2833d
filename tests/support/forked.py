"""Bot processes for the crash and multi-process tests, forked from one that imported the bot.

A `python -m bot run` spends about 1.8 s of CPU importing SQLAlchemy, the models, aiohttp, PTB
and the features before it does anything; the crash tests start dozens of them (every SIGKILL is
followed by a restart). Here they are forked from the stdlib's fork server of this test process
(`multiprocessing`'s "forkserver" context), which has imported those modules once. The child is
still a process of its own: its pid, environment, working directory and output file; SIGKILL
and SIGTERM act on it as on any process; it runs `python -m <module> ARGS` (or a script) with
`runpy`, as the interpreter would. What it does not exercise is the interpreter's own start-up
and the imports, which the deployment and CLI tests still start for real.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import runpy
import signal
import sys
from collections.abc import Mapping, Sequence
from multiprocessing.process import BaseProcess
from pathlib import Path

PRELOAD = ["bot.cli.main", "bot.app", "tests.support.forked"]
"""What the fork server imports once (what `python -m bot run` would import each time)."""

_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(PRELOAD)


def _run(argv: Sequence[str], env: Mapping[str, str], cwd: str, log: str) -> None:
    """In the child: become `python ARGV` with this environment, directory and output."""
    out = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    os.close(devnull)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if argv[0] == "-m":
        sys.argv = [argv[1], *argv[2:]]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = list(argv)
        runpy.run_path(argv[0], run_name="__main__")


class Forked:
    """A child forked from the fork server, with the parts of `asyncio.subprocess.Process` the
    tests use: `pid`, `returncode`, `send_signal`, `terminate`, `kill` and `await wait()`."""

    def __init__(self, process: BaseProcess) -> None:
        self._process = process
        self.pid = int(process.pid or 0)

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def send_signal(self, sig: int) -> None:
        if self._process.exitcode is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    async def wait(self) -> int:
        """The exit code (negative: the signal that ended it), once the child has ended."""
        loop = asyncio.get_running_loop()
        ended = loop.create_future()
        sentinel = self._process.sentinel
        loop.add_reader(sentinel, lambda: ended.done() or ended.set_result(None))
        try:
            if self._process.exitcode is None:
                await ended
        finally:
            loop.remove_reader(sentinel)
        self._process.join()
        code = self._process.exitcode
        assert code is not None
        return code


def start(argv: Sequence[str], env: Mapping[str, str], cwd: Path, log: Path) -> Forked:
    """Start `python ARGV` (`["-m", "bot", "run"]`, or a script and its arguments) forked from
    the fork server, its output appended to `log`."""
    process = _context.Process(target=_run, args=(list(argv), dict(env), str(cwd), str(log)))
    process.start()
    return Forked(process)
