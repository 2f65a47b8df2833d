"""Slack's edges: every signed request gets a 2xx, other workspaces and Slackbot are not
answered, broken bodies are refused cleanly, mentions and joins are handled, commands read as
Slack users type them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from handlers.core.clock import FrozenClock
from storage.models import InboxItem
from tests.adapters.test_slack import DM1, Bot, eventually, running
from tests.support.emulators.slack_api import APP_ID, TEAM_ID, SlackApiEmulator

PROGRAMME_CHANNEL = "CPROGRAMME"


@pytest.fixture
async def bot(settings: Settings, clock: FrozenClock) -> AsyncIterator[Bot]:
    async with SlackApiEmulator() as api:
        api.add_user("U1", "Marie Dubois", tz="Europe/Brussels", locale="en-US")
        api.add_user("U7", "Jan Kowalski", tz="Europe/Warsaw", locale="pl-PL")
        async with running(settings, clock, api, slack_channel_id=PROGRAMME_CHANNEL) as started:
            yield started


async def stored(bot: Bot) -> int:
    async with bot.runtime.sessionmaker() as session:
        return int(
            (await session.execute(select(func.count()).select_from(InboxItem))).scalar_one()
        )


def envelope(bot: Bot, event: dict[str, Any], team: str = TEAM_ID) -> str:
    body = bot.slack.envelope(event)
    body["team_id"] = team
    for authorization in body["authorizations"]:
        authorization["team_id"] = team
    return json.dumps(body)


OTHER_EVENTS: list[dict[str, Any]] = [
    {"type": "reaction_added", "user": "U1", "reaction": "thumbsup", "item_user": "U2",
     "item": {"type": "message", "channel": "C1", "ts": "1.1"}, "event_ts": "1.2"},
    {"type": "channel_created", "channel": {"id": "C9", "name": "energy", "created": 1}},
    {"type": "member_left_channel", "user": "U1", "channel": "C1", "channel_type": "C"},
    {"type": "message", "subtype": "message_changed", "channel": "D1", "channel_type": "im",
     "message": {"type": "message", "user": "U1", "text": "edited", "ts": "1.1"}, "ts": "1.3"},
]  # fmt: skip


async def test_every_event_type_is_acknowledged_even_without_a_listener(bot: Bot) -> None:
    for event in OTHER_EVENTS:
        reply = await bot.slack.post(envelope(bot, event), "application/json")
        assert reply.status == 200, (event["type"], reply.status, reply.body)
    foreign_button = {
        "type": "block_actions",
        "team": {"id": TEAM_ID},
        "user": {"id": "U1", "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "container": {"type": "message", "channel_id": DM1, "message_ts": "1.1"},
        "channel": {"id": DM1},
        "trigger_id": "1.2.3",
        "actions": [{"action_id": "someone-elses-button", "block_id": "b", "value": "x",
                     "type": "button", "action_ts": "1.4"}],
    }  # fmt: skip
    closed = {
        "type": "view_closed",
        "team": {"id": TEAM_ID},
        "user": {"id": "U1"},
        "api_app_id": APP_ID,
        "view": {"id": "V1", "callback_id": "other-modal", "type": "modal"},
        "is_cleared": False,
    }
    shortcut = {
        "type": "shortcut",
        "team": {"id": TEAM_ID},
        "user": {"id": "U1"},
        "callback_id": "someone-elses-shortcut",
        "trigger_id": "1.2.4",
    }
    suggestion = {
        "type": "block_suggestion",
        "team": {"id": TEAM_ID},
        "user": {"id": "U1"},
        "action_id": "external-select",
        "block_id": "b",
        "value": "ep",
        "container": {"type": "view", "view_id": "V1"},
    }
    for payload in (foreign_button, closed, shortcut, suggestion):
        reply = await bot.slack.interaction(payload)
        assert reply.status == 200, (payload["type"], reply.status, reply.body)
    reply = await bot.slack.command("U1", "help", command="/someone-else")
    assert reply.status == 200
    await bot.settle()
    assert bot.api.messages_to(DM1) == []


async def test_slackbot_is_not_answered(bot: Bot) -> None:
    event = bot.slack.message_event("USLACKBOT", "Reminder: what is ELENA?", channel=DM1)
    assert (await bot.slack.event(event)).status == 200
    await bot.settle()
    assert bot.api.messages_to(DM1) == [] and await stored(bot) == 0


async def test_a_signed_but_unreadable_body_is_a_400_and_a_forged_one_401(bot: Bot) -> None:
    for body, kind in (
        ("{not json", "application/json"),
        ("[1, 2, 3]", "application/json"),
        (urlencode({"payload": "{broken"}), "application/x-www-form-urlencoded"),
    ):
        assert (await bot.slack.post(body, kind)).status == 400
        assert (await bot.slack.post(body, kind, forge=True)).status == 401
    assert await stored(bot) == 0


async def test_another_workspace_is_acknowledged_and_ignored(bot: Bot) -> None:
    event = bot.slack.message_event("U1", "what is ELENA?")
    reply = await bot.slack.post(envelope(bot, event, team="T0OTHERTEAM"), "application/json")
    assert reply.status == 200
    await bot.settle()
    assert bot.api.messages_to(DM1) == [] and await stored(bot) == 0
    assert bot.adapter.stats["foreign_team"] == 1


async def test_a_question_after_the_slash_command_is_a_question(bot: Bot) -> None:
    assert (await bot.slack.command("U1", "what is ELENA?")).status == 200
    await bot.settle()
    text = bot.api.last(DM1).text
    assert "ELENA" in text and "do not know the command" not in text


async def test_help_shows_the_commands_as_slack_users_type_them(bot: Bot) -> None:
    assert (await bot.slack.command("U1", "help")).status == 200
    await bot.settle()
    text = bot.api.last(DM1).text
    assert "/peerbot start" in text and "/peerbot profile" in text
    assert "\n/start" not in text


async def test_a_mention_is_answered_in_the_thread_and_a_personal_one_in_the_dm(bot: Bot) -> None:
    mention = {
        "type": "app_mention",
        "user": "U1",
        "text": f"<@{bot.api.bot_user_id}> what is ELENA?",
        "ts": "1700000000.000100",
        "channel": PROGRAMME_CHANNEL,
        "event_ts": "1700000000.000100",
    }
    # Slack sends the same message as a channel message too: it is answered once
    as_message = bot.slack.message_event(
        "U1", mention["text"], channel=PROGRAMME_CHANNEL, channel_type="channel"
    )
    assert (await bot.slack.event(mention)).status == 200
    assert (await bot.slack.event(as_message)).status == 200
    await bot.settle()
    answers = bot.api.messages_to(PROGRAMME_CHANNEL)
    assert len(answers) == 1 and answers[0].thread_ts == mention["ts"]
    assert "ELENA" in answers[0].text
    personal = dict(mention, text=f"<@{bot.api.bot_user_id}> /profile", ts="1700000000.000200")
    assert (await bot.slack.event(personal)).status == 200
    await bot.settle()
    assert len(bot.api.messages_to(PROGRAMME_CHANNEL)) == 1  # nothing personal in the channel
    assert bot.api.messages_to(DM1)


async def test_joining_the_programme_channel_brings_an_invitation_in_a_dm(bot: Bot) -> None:
    joined = {
        "type": "member_joined_channel",
        "user": "U7",
        "channel": PROGRAMME_CHANNEL,
        "channel_type": "C",
        "team": TEAM_ID,
        "event_ts": "1700000001.000100",
    }
    assert (await bot.slack.event(joined)).status == 200
    await bot.settle()
    dm = SlackApiEmulator.dm_channel("U7")
    await eventually(lambda: bot.api.messages_to(dm), 5, "the invitation")
    assert "Do you agree?" in "\n".join(m.text for m in bot.api.messages_to(dm))
    elsewhere = dict(joined, user="U1", channel="CRANDOM")
    assert (await bot.slack.event(elsewhere)).status == 200
    await bot.settle()
    assert bot.api.messages_to(DM1) == []


async def test_an_uninstalled_app_stops_sending(bot: Bot) -> None:
    assert bot.adapter.healthy()
    event = {"type": "app_uninstalled"}
    assert (await bot.slack.event(event)).status == 200
    await bot.settle()
    assert not bot.adapter.healthy()
    assert bot.adapter.messenger.revoked and bot.adapter.outbox_messenger.revoked
    assert (await bot.slack.message("U1", "/help")).status == 200
    await bot.settle()
    assert bot.api.messages_to(DM1) == []


async def test_a_discussion_opens_as_a_thread_in_the_programme_channel(bot: Bot) -> None:
    from tests.support.peers import officer

    await officer(
        bot.runtime, "Marie Dubois", authority="Lyon", country="FR", platform="slack",
        user_id="U1", dm=DM1,
    )  # fmt: skip
    assert (await bot.slack.command("U1", "discuss green bonds for schools")).status == 200
    await bot.settle()
    await bot.runtime.tick()
    await bot.settle()
    [opener] = bot.api.messages_to(PROGRAMME_CHANNEL)
    assert "green bonds for schools" in opener.text
