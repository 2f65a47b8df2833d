"""Real payloads from public sources (tests/data/payloads/README.md names each origin) through
both adapters over HTTP: every one is acknowledged, none raises, and each is answered (or
not) as the platform edges require: other bots' commands, groups, Slackbot, other workspaces,
forwards, service messages and update types the bot does not handle."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import ClientSession
from sqlalchemy import func, select

from bot.config import Settings
from bot.telegram.adapter import SECRET_HEADER
from handlers.core.clock import FrozenClock
from storage.models import InboxItem
from tests.adapters.test_slack import Bot, running
from tests.adapters.test_telegram import SECRET, Peerbot, TgUser, launch
from tests.support.emulators.slack_api import SlackApiEmulator
from tests.support.emulators.telegram_api import TelegramEmulator, eventually
from tests.support.paths import REPO_ROOT

PAYLOADS = REPO_ROOT / "tests" / "data" / "payloads"
TEAM = "T0000PEERB"
OFFICER = 100000001
INTERACTIVE = {"block_actions", "view_closed", "shortcut", "message_action", "block_suggestion"}


def load(platform: str, name: str) -> dict[str, Any]:
    data = json.loads((PAYLOADS / platform / f"{name}.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


class Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def errors() -> AsyncIterator[Errors]:
    handler = Errors()
    logging.getLogger().addHandler(handler)
    yield handler  # type: ignore[misc]
    logging.getLogger().removeHandler(handler)


# -- Slack -------------------------------------------------------------------------------------


@pytest.fixture
async def slack(settings: Settings, clock: FrozenClock) -> AsyncIterator[Bot]:
    async with SlackApiEmulator(auto_users=True) as api:
        for user in ("W111", "W222", "U111", "U222", "U999", "UB111"):  # the payloads' people
            api.add_user(user, f"Officer {user}", tz="Europe/Brussels", locale="en-US")
        async with running(
            settings, clock, api, slack_team_ids=TEAM, slack_channel_id="C111"
        ) as bot:
            yield bot


async def post(bot: Bot, data: dict[str, Any]) -> int:
    if "command" in data and "type" not in data:
        body, kind = urlencode(data), "application/x-www-form-urlencoded"
    elif data.get("type") in INTERACTIVE:
        body, kind = urlencode({"payload": json.dumps(data)}), "application/x-www-form-urlencoded"
    else:
        body, kind = json.dumps(data), "application/json"
    return (await bot.slack.post(body, kind)).status


async def stored(runtime: Any) -> int:
    async with runtime.sessionmaker() as session:
        return int(
            (await session.execute(select(func.count()).select_from(InboxItem))).scalar_one()
        )


SLACK_QUIET = [
    "reaction_added",
    "view_closed",
    "shortcut_global",
    "message_action",
    "block_suggestion",
    "block_actions_foreign_button",
    "message_changed",
    "bot_message",
    "message_from_other_app_bot_id",
    "slackbot_dm",
    "foreign_team_message",
]


async def test_slack_payloads_that_ask_nothing_are_acknowledged_and_leave_nothing(
    slack: Bot, errors: Errors
) -> None:
    for name in SLACK_QUIET:
        assert await post(slack, load("slack", name)) == 200, name
    await slack.settle()
    assert await stored(slack.runtime) == 0
    assert slack.api.calls_to("chat.postMessage") == []
    assert errors.records == []


async def test_slack_url_verification_gets_its_challenge(slack: Bot) -> None:
    data = load("slack", "url_verification")
    reply = await slack.slack.post(json.dumps(data), "application/json")
    assert reply.status == 200 and data["challenge"] in reply.body


async def test_slack_payloads_that_ask_are_answered_where_they_should_be(
    slack: Bot, errors: Errors
) -> None:
    dm = load("slack", "dm_message")
    assert await post(slack, dm) == 200
    question = load("slack", "slash_command_question")
    assert await post(slack, question) == 200
    helped = load("slack", "slash_command_help")
    helped["trigger_id"] += "-2"  # both files come from one recorded command: Slack's differ
    assert await post(slack, helped) == 200
    mention = load("slack", "app_mention")
    assert await post(slack, mention) == 200
    joined = load("slack", "member_joined_channel")
    assert await post(slack, joined) == 200
    await slack.settle()
    dm_of = SlackApiEmulator.dm_channel
    answers = slack.api.transcript(dm_of(question["user_id"]))
    assert "ESCO" in answers and "/peerbot start" in answers
    assert slack.api.messages_to(dm["event"]["channel"])  # answered in the DM it came from
    in_thread = slack.api.messages_to(mention["event"]["channel"])
    assert in_thread and all(m.thread_ts == mention["event"]["ts"] for m in in_thread)
    await eventually(lambda: slack.api.messages_to(dm_of(joined["event"]["user"])), 5)
    assert errors.records == []


async def test_slack_uninstall_and_revoked_tokens_stop_sending(slack: Bot) -> None:
    for name in ("tokens_revoked", "app_uninstalled"):
        assert await post(slack, load("slack", name)) == 200
    await slack.settle()
    assert not slack.adapter.healthy() and slack.adapter.outbox_messenger.revoked


# -- Telegram ----------------------------------------------------------------------------------


@pytest.fixture
async def telegram(settings: Settings, clock: FrozenClock) -> AsyncIterator[tuple[Peerbot, Any]]:
    async with TelegramEmulator(
        global_rate=None, per_chat_rate=None, group_per_minute=None, bot_username="PeerbotTestBot"
    ) as api:
        bot = await launch(settings, clock, api, webhook=True)
        try:
            yield bot, api
        finally:
            await bot.stop()


async def deliver(bot: Peerbot, api: Any, name: str) -> str:
    """POST the update to the webhook as Telegram would (whatever allowed_updates says)."""
    data = load("telegram", name)
    assert bot.webhook_url is not None
    async with ClientSession() as http:
        headers = {SECRET_HEADER: SECRET}
        async with http.post(bot.webhook_url, json=data, headers=headers) as resp:
            assert resp.status == 200, (name, resp.status)
    return await TgUser(api, bot).settle(data)


def sent_to(api: Any, chat: int) -> list[str]:
    return [d.text for d in api.deliveries if d.chat_id == chat and d.kind == "send"]


IGNORED = [
    "private_start_other_bot",
    "private_forget_other_bot",
    "group_export_other_bot",
    "via_bot_private",
    "forwarded_channel_post",
    "forwarded_from_user",
    "channel_post",
    "edited_message",
    "chat_boost",
    "message_reaction",
    "my_chat_member_added_to_group",
    "my_chat_member_blocked_in_private",
    "purchased_paid_media",
    "subscription_unknown_to_ptb",
    "forum_topic_created",
    "new_chat_members",
    "migrate_to_chat_id",
    "migrate_from_chat_id",
]


async def test_telegram_updates_for_others_or_of_no_use_are_not_answered(
    telegram: tuple[Peerbot, Any], errors: Errors
) -> None:
    bot, api = telegram
    for name in IGNORED:
        outcome = await deliver(bot, api, name)
        assert outcome == "ignored", (name, outcome)
    assert [d for d in api.deliveries if d.kind == "send"] == []
    assert await stored(bot.runtime) == 0
    assert errors.records == []


async def test_telegram_personal_commands_in_groups_continue_privately(
    telegram: tuple[Peerbot, Any], errors: Errors
) -> None:
    bot, api = telegram
    assert await deliver(bot, api, "private_start") == "handled"
    assert any("Do you agree?" in t for t in sent_to(api, OFFICER))
    for name, chat in (
        ("group_profile", -400000001),
        ("group_start", -400000001),
        ("supergroup_export", -1000000000003),
    ):
        assert await deliver(bot, api, name) == "handled"
        [line] = sent_to(api, chat)[-1:]
        assert "t.me/PeerbotTestBot?start=" in line and "Test Officer" not in line
    assert await deliver(bot, api, "callback_query") in ("expired", "ignored")
    for name in ("supergroup_forum_topic_message", "group_mention_of_bot",
                 "supergroup_command_reply_to_story"):  # fmt: skip
        assert await deliver(bot, api, name) in ("handled", "ignored"), name
    assert errors.records == []
