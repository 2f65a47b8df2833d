"""How long `peerbot run` takes to be ready: start to the first /healthz 200, webhook mode.

Run: `python benchmarks/ready_bench.py [--starts 6] [--semantic]`.
Starts the bot as a real process against the Telegram emulator on 127.0.0.1, on one SQLite file
and one data directory: the first start migrates a new database and parses the content; the
next ones find both ready (the parsed content is cached in the data directory). Prints one line
per start; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.emulators.telegram_api import TelegramEmulator  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def until_healthy(port: int) -> None:
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as reply:
                    if reply.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.02)


async def main(starts: int, semantic: bool) -> None:
    db = Path(tempfile.mkdtemp()) / "ready.db"
    data = tempfile.mkdtemp()
    print(f"bot ready after start; load average {os.getloadavg()[0]:.1f}, meaning layer {semantic}")
    async with TelegramEmulator() as api:
        for n in range(starts):
            port = free_port()
            env = {
                **os.environ,
                "DATABASE_URL": f"sqlite+aiosqlite:///{db}",
                "TELEGRAM_BOT_TOKEN": api.token,
                "TELEGRAM_API_BASE_URL": api.base_url,
                "TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/webhook",
                "TELEGRAM_WEBHOOK_SECRET": "ready-bench-secret",
                "PEERBOT_HTTP_HOST": "127.0.0.1",
                "PEERBOT_HTTP_PORT": str(port),
                "PEERBOT_DATA_DIR": data,
                "PEERBOT_FAQ_SEMANTIC": "true" if semantic else "false",
                "LOG_LEVEL": "WARNING",
            }
            started = time.perf_counter()
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                await asyncio.wait_for(until_healthy(port), 60)
                took = time.perf_counter() - started
            finally:
                proc.terminate()
                await asyncio.wait_for(proc.wait(), 20)
            first = " (new database: migrations, content parsed)" if n == 0 else ""
            print(f"  start {n + 1}: ready in {took:.2f} s{first}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--starts", type=int, default=6)
    parser.add_argument("--semantic", action="store_true", help="with the FAQ's meaning layer")
    args = parser.parse_args()
    asyncio.run(main(args.starts, args.semantic))
