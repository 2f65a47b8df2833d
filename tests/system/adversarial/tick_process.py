"""A bot process that only ticks (scheduled jobs and the outbox) at a frozen time, sending
to a Telegram Bot API emulator: the fault tests start it and kill it with SIGKILL.

    python -m tests.system.adversarial.tick_process --database-url URL --telegram-api URL --now ISO
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from datetime import datetime

from bot.app import build
from bot.config import Settings
from bot.telegram.adapter import OUTBOX_RATE, PER_CHAT_INTERVAL
from handlers.core.clock import FrozenClock
from tests.support.outbox_load import telegram_messenger
from tests.support.paths import REPO_ROOT

CONTENT = REPO_ROOT / "content"


async def tick_forever(database_url: str, telegram_api: str, now: datetime) -> None:
    """Tick every 50 ms until killed."""
    settings = Settings(database_url=database_url, PEERBOT_CONTENT_DIR=CONTENT)  # type: ignore[call-arg]
    runtime = await build(settings, clock=FrozenClock(now))
    # paced like the production adapter's outbox messenger
    messenger, close = await telegram_messenger(
        telegram_api, rate=OUTBOX_RATE, per_chat=PER_CHAT_INTERVAL
    )
    runtime.messengers["telegram"] = messenger
    try:
        while True:
            await runtime.tick()
            await asyncio.sleep(0.05)
    finally:
        await close()
        await runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--telegram-api", required=True)
    parser.add_argument("--now", required=True, help="the frozen time, ISO 8601 with offset")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(
        tick_forever(args.database_url, args.telegram_api, datetime.fromisoformat(args.now))
    )


if __name__ == "__main__":
    main()
