"""Fuzzing the Telegram adapter: hypothesis-generated updates POSTed to the webhook route.

The path is the production one: the aiohttp webhook handler (secret, JSON, `Update.de_json`)
-> PTB's update queue -> `Application.process_update` -> the adapter's TypeHandler ->
translate -> `Core.handle` -> replies through the real Bot to the emulated Bot API.
Hypothesis generates the updates up front (it cannot drive a coroutine); they are then
delivered with some concurrency. Counted: examples, acknowledgements, core outcomes and
exceptions (PTB error-handler calls, core "error" outcomes, ERROR log records).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import ClientSession, TCPConnector
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import Settings
from handlers.core.clock import FrozenClock
from tests.adapters.test_telegram import SECRET, TgUser, launch
from tests.adapters.test_telegram import SECRET_HEADER as HEADER
from tests.support.emulators.telegram_api import TelegramEmulator
from tests.system.adversarial.conftest import table_counts

pytestmark = [pytest.mark.adversarial, pytest.mark.slow]

EXAMPLES = int(os.environ.get("PEERBOT_FUZZ_EXAMPLES", "2000"))  # deep run: 10000+
REJECTABLE_SHARE = 0.3  # of EXAMPLES: inputs that must write nothing
CONCURRENCY = 48

SPECIALS = (
    "\u202e\u202d\u202a\u202b\u202c\u2066\u2067\u2068\u2069\u200e\u200f"  # bidi
    "\u200b\u200c\u200d\u2060\ufeff\u00ad"  # zero-width
    "\x00\x01\x07\x1b\x7f\x85\r\n\t"  # control
    "مرحبا שלום 🏙️💶👩🏽‍💼🇪🇺 é\u0301 ﷽ 𝔘 \U0010ffff <>&*_`[]()~|#+-=.!@"
)
COMMANDS = ("/start", "/help", "/profile", "/ask", "/pairs", "/export", "/language", "/link")

# texts: any unicode, tricky characters, commands with junk, and ~100 KB ones
# 100 KB texts are 1 in 16 draws: costly to generate, post and parse
huge_texts = st.builds(
    lambda chunk, size: (chunk * (size // len(chunk) + 1))[:size],
    st.text(min_size=1, max_size=16),
    st.integers(90_000, 100_000),  # ~100 KB (Telegram stops at 4096, Slack at 40,000)
)
small_texts = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.sampled_from(SPECIALS), max_size=80),
    st.builds(lambda c, a: f"{c} {a}", st.sampled_from(COMMANDS), st.text(max_size=60)),
)
texts = st.integers(0, 15).flatmap(lambda n: huge_texts if n == 0 else small_texts)
ids = st.integers(min_value=1, max_value=2**40)
names = st.text(max_size=40)


def _user(uid: int, first: str, bot: bool = False, lang: str | None = "en") -> dict[str, Any]:
    user: dict[str, Any] = {"id": uid, "is_bot": bot, "first_name": first}
    if lang:
        user["language_code"] = lang
    return user


def _chat(cid: int, kind: str) -> dict[str, Any]:
    chat: dict[str, Any] = {"id": cid if kind == "private" else -cid, "type": kind}
    if kind != "private":
        chat["title"] = "Officers"
    return chat


# the strategies a draw picks from, built once (a strategy built inside a draw is built and
# validated again for every example)
chat_kinds = st.sampled_from(["private", "private", "group", "supergroup", "channel"])
languages = st.sampled_from(["en", "fr", "xx", None])
text_fields = st.sampled_from(["text", "text", "caption"])
update_fields = st.sampled_from(["message", "message", "message", "edited_message"])
callback_data = st.one_of(
    st.text(min_size=1, max_size=64),
    st.builds(
        lambda p, s: f"{p}~{s}",
        st.sampled_from(["onb:yes", "chk:met:1", "adm:ok", "x:1", "frg:yes"]),
        st.text(alphabet="ABCDEFGHIJabcdefghij0123456789-_", min_size=10, max_size=10),
    ),
)
unknown_kinds = st.sampled_from(["future_thing", "poll", "my_chat_member", "inline_query", "x"])
unknown_bodies = st.dictionaries(st.text(max_size=8), st.text(max_size=20), max_size=4)
unparseable = st.one_of(st.text(max_size=10), st.integers(), st.just({}))


@st.composite
def message_updates(draw: st.DrawFn) -> dict[str, Any]:
    """A `message` (or edited/channel post) with random text, chat type and optional gaps."""
    uid = draw(ids)
    kind = draw(chat_kinds)
    message: dict[str, Any] = {
        "message_id": draw(st.integers(1, 2**31)),
        "date": 1_764_000_000,
        "chat": _chat(uid, kind),
        "from": _user(uid, draw(names), lang=draw(languages)),
        draw(text_fields): draw(texts),
    }
    if draw(st.booleans()):
        message["message_thread_id"] = draw(st.integers(1, 10_000))
        message["is_topic_message"] = draw(st.booleans())
    field = draw(update_fields)
    return {field: message}


@st.composite
def callback_updates(draw: st.DrawFn) -> dict[str, Any]:
    """A pressed button whose data the bot never issued."""
    uid = draw(ids)
    data = draw(callback_data)
    query: dict[str, Any] = {
        "id": str(draw(st.integers(1, 2**60))),
        "from": _user(uid, draw(names)),
        "chat_instance": "1",
        "data": data,
    }
    if draw(st.integers(0, 9)):
        query["message"] = {
            "message_id": draw(st.integers(1, 100)),
            "date": 0,
            "chat": _chat(uid, "private"),
        }
    return {"callback_query": query}


callback_update = callback_updates()


@st.composite
def rejectable_updates(draw: st.DrawFn) -> dict[str, Any]:
    """Updates the bot must not act on: unknown types, gaps, bot senders, forged buttons."""
    uid = draw(ids)
    kind = draw(st.integers(0, 5))
    if kind == 0:  # an update type the bot never asked for
        return {draw(unknown_kinds): draw(unknown_bodies)}
    if kind == 1:  # a message without a sender or without text (service message)
        message: dict[str, Any] = {"message_id": 1, "date": 0, "chat": _chat(uid, "private")}
        if draw(st.booleans()):
            message["from"] = _user(uid, draw(names))
        else:
            message["text"] = draw(texts)
        return {"message": message}
    if kind == 2:  # a message from a bot
        message = {
            "message_id": 1,
            "date": 0,
            "chat": _chat(uid, "private"),
            "from": _user(uid, draw(names), bot=True),
            "text": draw(texts),
        }
        return {"message": message}
    if kind == 3:  # malformed JSON shapes PTB cannot parse
        return {"message": draw(unparseable)}
    return draw(callback_update)  # kinds 4, 5: callback data never issued


def generate(strategy: st.SearchStrategy[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """`n` examples from `strategy`, drawn by hypothesis."""
    found: list[dict[str, Any]] = []

    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(example: dict[str, Any]) -> None:
        found.append(example)

    collect()
    return found


class ErrorLog(logging.Handler):
    """Counts ERROR records (a handler failing, PTB's error handler, anything)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def deliver(url: str, updates: list[dict[str, Any]], first_id: int) -> Counter[int]:
    """POST every update to the webhook with the secret; returns the HTTP statuses."""
    statuses: Counter[int] = Counter()
    queue = iter(enumerate(updates, start=first_id))
    async with ClientSession(connector=TCPConnector(limit=CONCURRENCY)) as http:

        async def worker() -> None:
            for update_id, update in queue:
                body = {**update, "update_id": update_id}
                async with http.post(url, json=body, headers={HEADER: SECRET}) as resp:
                    statuses[resp.status] += 1

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return statuses


async def progressing(count: Callable[[], int], target: int, stall: float = 30.0) -> None:
    """Wait until `count()` reaches `target`; fail only when it stops moving for `stall`
    seconds (a loaded CI machine is slow, a stuck bot does not move at all)."""
    last, moved = count(), time.monotonic()
    while last < target:
        await asyncio.sleep(0.05)
        now = count()
        if now != last:
            last, moved = now, time.monotonic()
        elif time.monotonic() - moved > stall:
            raise AssertionError(f"stuck at {last} of {target} for {stall:g}s")


async def test_ten_thousand_fuzzed_updates_raise_nothing_and_rejected_ones_write_nothing(
    settings: Settings, clock: FrozenClock, tally: Counter[str]
) -> None:
    rejectable = generate(rejectable_updates(), int(EXAMPLES * REJECTABLE_SHARE))
    mixed = generate(
        st.one_of(message_updates(), callback_updates(), rejectable_updates()),
        EXAMPLES - len(rejectable),
    )
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    # Telegram's limits are tested elsewhere (tests/adapters, the outbox tests): off here
    async with TelegramEmulator(per_chat_rate=None, global_rate=None, group_per_minute=None) as api:
        bot = await launch(settings, clock, api, webhook=True)
        # PTB's AIORateLimiter paces the bot at 30 messages/s overall; the fuzzer wants
        # throughput, and pacing is tested elsewhere (tests/adapters, the outbox tests).
        limiter: Any = bot.adapter.application.bot.rate_limiter
        limiter._base_limiter = None
        outcomes: Counter[str] = Counter()
        handle = bot.runtime.core.process
        ptb_errors: list[object] = []

        async def counted(*args: Any, **kwargs: Any) -> Any:
            outcome = await handle(*args, **kwargs)
            outcomes[outcome] += 1
            return outcome

        handle_many = bot.runtime.core.process_many

        async def counted_many(*args: Any, **kwargs: Any) -> Any:
            many = await handle_many(*args, **kwargs)  # a backlog's rows, in one transaction
            outcomes.update(many)
            return many

        async def on_error(update: object, context: Any) -> None:
            ptb_errors.append(context.error)

        processed: Counter[str] = Counter()
        seen: set[int] = set()
        remember: Callable[[int, str], None] = bot.adapter._remember

        def remembered(update_id: int, outcome: str) -> None:
            processed["updates"] += 1
            seen.add(update_id)
            remember(update_id, outcome)

        def unparsed() -> int:
            return sum("could not be parsed" in r.getMessage() for r in errors.records)

        async def settled(n: int) -> None:
            def count() -> int:
                return processed["updates"] + unparsed() + len(ptb_errors)

            try:
                await progressing(count, n)
            except AssertionError:
                raise AssertionError(
                    f"{processed['updates']} handled + {unparsed()} dropped + "
                    f"{len(ptb_errors)} failed of {n}: {ptb_errors[:2]} "
                    f"{[(i, str(u)[:300]) for i, u in enumerate(mixed, 1_000_000) if i not in seen and i not in {r.args[0] for r in errors.records if r.args}][:5]}"
                ) from None

        bot.runtime.core.process = counted  # type: ignore[method-assign]
        bot.runtime.core.process_many = counted_many  # type: ignore[method-assign]
        bot.adapter._remember = remembered  # type: ignore[method-assign]
        bot.adapter.application.add_error_handler(on_error)
        try:
            assert bot.webhook_url is not None
            before = await table_counts(bot.runtime.sessionmaker)
            statuses = await deliver(bot.webhook_url, rejectable, 1)
            await settled(len(rejectable) - statuses[413])
            after_rejected = await table_counts(bot.runtime.sessionmaker)
            expired = outcomes["expired"]
            statuses += await deliver(bot.webhook_url, mixed, 1_000_000)
            # aiohttp refuses bodies over 1 MB (413): 100 KB of astral characters, JSON-escaped
            await settled(len(rejectable) + len(mixed) - statuses[413])
            user = TgUser(api, bot, user_id=4242)
            assert "Here is what I can do" in await user.say("/help")
        finally:
            bot.runtime.core.process = handle  # type: ignore[method-assign]
            bot.runtime.core.process_many = handle_many  # type: ignore[method-assign]
            await bot.stop()
            logging.getLogger().removeHandler(errors)
    dropped = [r for r in errors.records if "could not be parsed" in r.getMessage()]
    exceptions = [r for r in errors.records if r not in dropped]
    total = len(rejectable) + len(mixed)
    report = {
        "examples": total,
        "rejectable": len(rejectable),
        "http": dict(statuses),
        "unparseable (acknowledged, dropped)": len(dropped),
        "core outcomes": dict(outcomes),
        "exceptions": len(exceptions) + len(ptb_errors) + outcomes["error"],
    }
    sys.stdout.write(f"\ntelegram fuzz: {report}\n")
    tally["fuzzed inputs"] += total
    tally["fuzzed inputs telegram"] += total
    tally["exceptions"] += report["exceptions"]  # type: ignore[operator]
    assert total >= EXAMPLES
    assert set(statuses) <= {200, 413} and statuses[413] < total / 100, statuses
    assert not ptb_errors and outcomes["error"] == 0, ptb_errors[:3]
    assert not exceptions, [r.getMessage()[:200] for r in exceptions[:3]]
    assert outcomes["expired"] > 0 and outcomes["handled"] > 0
    # the rejected batch wrote nothing but the ledger (update ids, contact records)
    assert expired > 0
    assert after_rejected == before
