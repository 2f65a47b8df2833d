"""Fuzzing the Slack adapter over HTTP: hypothesis-generated payloads, validly signed.

The path is the production one: POST /slack/events on the shared aiohttp server -> slack-bolt
(signature and timestamp check, parsing, ack) -> the adapter's listeners -> translate ->
`Core.handle` -> replies through slack_sdk to the emulated Web API. Hypothesis generates the
payloads up front (it cannot drive a coroutine); they are posted with some concurrency.
Counted: examples, HTTP statuses, core outcomes and exceptions (listener errors Bolt logged,
core "error" outcomes, any ERROR log record).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import strategies as st

from bot.config import Settings
from bot.slack.views import FORM_CALLBACK, HOME_ASK, HOME_EDIT, HOME_JOIN
from handlers.core.clock import FrozenClock
from tests.adapters.test_slack import Bot, running
from tests.support.emulators.slack_api import APP_ID, TEAM_ID, SlackApiEmulator, SlackEvents
from tests.system.adversarial.conftest import table_counts
from tests.system.adversarial.test_fuzz_telegram import SPECIALS, ErrorLog, generate, huge_texts

pytestmark = [pytest.mark.adversarial, pytest.mark.slow]

EXAMPLES = int(os.environ.get("PEERBOT_FUZZ_EXAMPLES", "2000"))  # deep run: 10000+
REJECTABLE_SHARE = 0.3
CONCURRENCY = 32

small_texts = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.sampled_from(SPECIALS), max_size=80),
    st.builds(
        lambda c, a: f"{c} {a}",
        st.sampled_from(["/help", "/start", "/ask", "/profile", "<!channel>", "<@U0BOT>"]),
        st.text(max_size=60),
    ),
)
texts = st.integers(0, 15).flatmap(lambda n: huge_texts if n == 0 else small_texts)
users = st.builds(lambda n: f"U{n:08X}", st.integers(0, 2**32 - 1))
maybe = st.booleans()
# the strategies a draw picks from, built once (a strategy built inside a draw is built and
# validated again for every example)
channel_kinds = st.sampled_from(["im", "im", "channel", "group", "mpim", None])
event_types = st.sampled_from(["message"] * 6 + ["app_home_opened", "reaction_added", "x"])
subtypes = st.sampled_from(["message_changed", "bot_message", "file_share"])
thread_stamps = st.sampled_from(["1.000100", "not-a-ts"])
command_names = st.sampled_from(["/peerbot"] * 5 + ["/other"])
action_values = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda p, s: f"{p}~{s}",
        st.sampled_from(["onb:yes", "chk:met:1", "frg:yes", "adm:approve:1"]),
        st.text(alphabet="ABCDEFGHIJabcdefghij0123456789-_", min_size=10, max_size=10),
    ),
)
field_shapes = st.sampled_from(
    [
        lambda value: {"type": "plain_text_input", "value": value},
        lambda value: {"type": "static_select", "selected_option": {"value": value}},
        lambda value: {"type": "multi_static_select", "selected_options": [{"value": value}]},
        lambda value: {"type": "static_select", "selected_option": None},
    ]
)
metadata = st.sampled_from(
    [json.dumps({"dm": "C0GENERAL", "locale": "en"}), "not json", "[1, 2]", "", "null"]
)
form_callbacks = st.sampled_from([FORM_CALLBACK, FORM_CALLBACK, "other"])
other_event_types = st.sampled_from(["message", "reaction_added", "member_joined_channel"])
other_subtypes = st.sampled_from(["bot_message", "message_changed", "channel_join"])


@st.composite
def events(draw: st.DrawFn) -> tuple[str, str]:
    """An Events API envelope: messages of every kind, other event types, gaps."""
    user = draw(users)
    kind = draw(channel_kinds)
    channel = {"im": f"D{user}", None: draw(st.text(max_size=12))}.get(kind, f"C{user[1:]}")
    event: dict[str, Any] = {
        "type": draw(event_types),
        "user": user,
        "channel": channel,
        "text": draw(texts),
        "ts": f"{draw(st.integers(1, 2**31))}.000100",
        "channel_type": kind,
    }
    if draw(st.integers(0, 4)) == 0:
        event["subtype"] = draw(subtypes)
    if draw(st.integers(0, 4)) == 0:
        event["thread_ts"] = draw(thread_stamps)
    for key in ("user", "text", "channel", "ts"):
        if draw(st.integers(0, 9)) == 0:
            del event[key]
    body = {
        "token": "legacy",
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "type": "event_callback",
        "event_id": f"Ev{draw(st.integers(0, 2**60)):016X}",
        "event_time": 1_764_000_000,
        "event": event,
    }
    return json.dumps(body), "application/json"


@st.composite
def commands(draw: st.DrawFn) -> tuple[str, str]:
    """`/peerbot <random>` (and unknown commands), sometimes without a user or a trigger."""
    user = draw(users)
    form = {
        "team_id": TEAM_ID,
        "channel_id": f"D{user}",
        "user_id": user,
        "command": draw(command_names),
        "text": draw(texts),
        "api_app_id": APP_ID,
        "trigger_id": f"{draw(st.integers(0, 2**40))}.x",
    }
    for key in ("user_id", "trigger_id", "channel_id", "text"):
        if draw(st.integers(0, 9)) == 0:
            del form[key]
    return urlencode(form), "application/x-www-form-urlencoded"


def _interaction(payload: dict[str, Any]) -> tuple[str, str]:
    return urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"


ACTION_IDS = ("choice-0", "choice-3", HOME_JOIN, HOME_EDIT, HOME_ASK, "unknown")


@st.composite
def actions(draw: st.DrawFn, action_ids: tuple[str, ...] = ACTION_IDS) -> tuple[str, str]:
    """block_actions with values the bot never issued, on our action ids and others."""
    user = draw(users)
    channel = f"D{user}"
    action_id = draw(st.sampled_from(action_ids))
    value = draw(action_values)
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "team": {"id": TEAM_ID},
        "container": {"type": "message", "message_ts": "1.000001", "channel_id": channel},
        "channel": {"id": channel},
        "message": {"ts": "1.000001"},
        "trigger_id": f"{draw(st.integers(0, 2**40))}.y",
        "actions": [{"action_id": action_id, "block_id": "choices", "value": value}],
    }
    for key in ("user", "container", "channel", "message", "trigger_id"):
        if draw(st.integers(0, 7)) == 0:
            del payload[key]
    if draw(st.integers(0, 7)) == 0:
        del payload["actions"][0]["value"]
    return _interaction(payload)


foreign_actions = actions(("choice-0", "choice-7", "unknown"))

BLOCKS = ("name", "authority", "country", "role", "languages", "timezone", "sectors", "wants")


@st.composite
def submissions(draw: st.DrawFn) -> tuple[str, str]:
    """The onboarding modal submitted with foreign option values and odd metadata."""
    user = draw(users)
    values: dict[str, Any] = {}
    for block in BLOCKS:
        if draw(st.integers(0, 5)) == 0:
            continue
        value = draw(st.text(max_size=40))
        entry: dict[str, Any] = draw(field_shapes)(value)
        values[block] = {block: entry}
    meta = draw(metadata)
    payload: dict[str, Any] = {
        "type": "view_submission",
        "user": {"id": user, "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "team": {"id": TEAM_ID},
        "trigger_id": "1.z",
        "view": {
            "id": f"V{draw(st.integers(0, 2**30))}",
            "type": "modal",
            "callback_id": draw(form_callbacks),
            "private_metadata": meta,
            "state": {"values": values},
            "hash": "h",
        },
    }
    if draw(st.integers(0, 9)) == 0:
        del payload["user"]
    return _interaction(payload)


@st.composite
def rejectable(draw: st.DrawFn) -> tuple[str, str]:
    """Payloads that must write nothing: not a person's message, foreign values, gaps."""
    user = draw(users)
    choice = draw(st.integers(0, 3))
    if choice == 0:  # bot messages, edits, other event types
        event = {
            "type": draw(other_event_types),
            "user": user,
            "channel": f"D{user}",
            "text": draw(texts),
            "subtype": draw(other_subtypes),
            "ts": "1.000002",
        }
        body = {
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "type": "event_callback",
            "event_id": f"Ev{draw(st.integers(0, 2**60)):016X}",
            "event": event,
        }
        return json.dumps(body), "application/json"
    if choice == 1:  # a submission whose options the bot never offered: inline errors only
        payload: dict[str, Any] = {
            "type": "view_submission",
            "user": {"id": user},
            "team": {"id": TEAM_ID},
            "api_app_id": APP_ID,
            "view": {
                "id": "V1",
                "type": "modal",
                "callback_id": FORM_CALLBACK,
                "private_metadata": json.dumps({"dm": f"D{user}", "locale": "en"}),
                "state": {
                    "values": {
                        "consent": {
                            "consent": {
                                "type": "checkboxes",
                                "selected_options": [{"value": "yes"}],
                            }
                        },
                        "name": {"name": {"type": "plain_text_input", "value": "Eve"}},
                        "country": {
                            "country": {
                                "type": "static_select",
                                "selected_option": {"value": draw(st.text(max_size=8))},
                            }
                        },
                        "languages": {
                            "languages": {
                                "type": "multi_static_select",
                                "selected_options": [{"value": "tlh"}],
                            }
                        },
                    }
                },
            },
        }
        return _interaction(payload)
    # choices 2, 3: choice values never issued (answered "expired"), unknown action ids
    return draw(foreign_actions)


async def post_all(slack: SlackEvents, bodies: list[tuple[str, str]]) -> Counter[int]:
    statuses: Counter[int] = Counter()
    queue = iter(bodies)

    async def worker() -> None:
        for body, content_type in queue:
            delivery = await slack.post(body, content_type)
            statuses[delivery.status] += 1

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return statuses


@pytest.fixture
async def bot(settings: Settings, clock: FrozenClock) -> AsyncIterator[Bot]:
    # the messenger's own pacing (10/s by default) is tested in tests/adapters; not here
    async with (
        SlackApiEmulator(auto_users=True, check_triggers=False) as api,
        running(settings, clock, api, slack_rate_per_second=1000) as started,
    ):
        yield started


async def settled(bot: Bot, outcomes: Counter[str], stall: float = 30.0) -> None:
    """Wait until the adapter is idle; fail only when it stops making progress for `stall`
    seconds (a loaded CI machine is slow, a stuck adapter does not move at all)."""
    last, moved = -1, time.monotonic()
    while not await bot.adapter.idle(1.0):
        now = sum(outcomes.values()) + sum(bot.adapter.stats.values()) + bot.adapter._inflight
        if now != last:
            last, moved = now, time.monotonic()
        elif time.monotonic() - moved > stall:
            raise AssertionError(f"the adapter is stuck (no progress for {stall:g}s)")


async def test_ten_thousand_fuzzed_slack_payloads_raise_nothing_and_rejected_ones_write_nothing(
    bot: Bot, tally: Counter[str]
) -> None:
    refused = generate(rejectable(), int(EXAMPLES * REJECTABLE_SHARE))
    mixed = generate(
        st.one_of(events(), commands(), actions(), submissions(), rejectable()),
        EXAMPLES - len(refused),
    )
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    outcomes: Counter[str] = Counter()
    handle = bot.runtime.core.process

    async def counted(*args: Any, **kwargs: Any) -> Any:
        outcome = await handle(*args, **kwargs)
        outcomes[outcome] += 1
        return outcome

    handle_many = bot.runtime.core.process_many

    async def counted_many(*args: Any, **kwargs: Any) -> Any:
        many = await handle_many(*args, **kwargs)  # a backlog's rows, in one transaction
        outcomes.update(many)
        return many

    bot.runtime.core.process = counted  # type: ignore[method-assign]
    bot.runtime.core.process_many = counted_many  # type: ignore[method-assign]
    try:
        before = await table_counts(bot.runtime.sessionmaker)
        statuses = await post_all(bot.slack, refused)
        await settled(bot, outcomes)
        after_refused = await table_counts(bot.runtime.sessionmaker)
        expired = outcomes["expired"]
        statuses += await post_all(bot.slack, mixed)
        await settled(bot, outcomes)
        await bot.slack.message("U1", "/help")
        await bot.settle()
        answer = bot.api.transcript(SlackApiEmulator.dm_channel("U1"))
    finally:
        bot.runtime.core.process = handle  # type: ignore[method-assign]
        bot.runtime.core.process_many = handle_many  # type: ignore[method-assign]
        logging.getLogger().removeHandler(errors)
    total = len(refused) + len(mixed)
    report = {
        "examples": total,
        "rejectable": len(refused),
        "http": dict(statuses),
        "core outcomes": dict(outcomes),
        "adapter stats": dict(bot.adapter.stats),
        "exceptions": len(errors.records) + outcomes["error"],
    }
    sys.stdout.write(f"\nslack fuzz: {report}\n")
    tally["fuzzed inputs"] += total
    tally["fuzzed inputs slack"] += total
    tally["exceptions"] += report["exceptions"]  # type: ignore[operator]
    assert total >= EXAMPLES
    assert not errors.records, [r.getMessage()[:300] for r in errors.records[:3]]
    assert outcomes["error"] == 0
    # Slack's own answers: 200, 404 for a command no listener takes, 400 for what Bolt
    # cannot parse; never a 5xx
    assert not [s for s in statuses if s >= 500], statuses
    assert "Here is what I can do" in answer
    assert expired > 0
    assert after_refused == before
