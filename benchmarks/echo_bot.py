"""The reference for benchmarks/throughput_bench.py: a bare python-telegram-bot echo bot.

Long polling, the AIORateLimiter of peerbot's Telegram adapter (waiting out a 429 as peerbot's
interactive replies do), concurrent updates, no database. Run:
`TELEGRAM_BOT_TOKEN=… TELEGRAM_API_BASE_URL=… python benchmarks/echo_bot.py`.
"""

from __future__ import annotations

import os

from telegram import Update
from telegram.ext import AIORateLimiter, ApplicationBuilder, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer every text with itself."""
    if update.effective_message is not None and update.effective_message.text:
        await update.effective_message.reply_text(update.effective_message.text)


def main() -> None:
    base = os.environ["TELEGRAM_API_BASE_URL"]
    app = (
        ApplicationBuilder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(base)
        .rate_limiter(AIORateLimiter(max_retries=10))  # a 429 is waited out: no reply lost
        .concurrent_updates(True)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_polling(allowed_updates=["message"], drop_pending_updates=False)


if __name__ == "__main__":
    main()
