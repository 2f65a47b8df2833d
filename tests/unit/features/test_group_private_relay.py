"""A group member whose platform has no group space (Telegram without a forum) reads the group
in their private chat, as a pair's partner does, and writes back to it from there."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.app import Runtime
from handlers.core.ports import Capabilities
from tests.support.fakes import FakeMessenger, Talk
from tests.support.outreach import ForumMessenger, person, programme, seated_group


async def test_members_without_a_space_get_the_group_in_private_and_can_reply(
    runtime: Runtime,
) -> None:
    # Slack can open a channel; this programme's Telegram has no forum: no space there
    slack = ForumMessenger(platform="slack", capabilities=Capabilities(create_channel=True))
    telegram = FakeMessenger(platform="telegram")
    runtime.messengers.update(slack=slack, telegram=telegram)
    await programme(runtime)
    giulia = await person(runtime, "Giulia Rossi", user_id="UGIULIA", authority="Milano")
    marco = await person(runtime, "Marco Bianchi", user_id="UMARCO", authority="Torino")
    pieter = await person(
        runtime, "Pieter Janssens", platform="telegram", user_id="1001", authority="Gent"
    )
    eleni = await person(
        runtime, "Eleni Pappa", platform="telegram", user_id="1002", authority="Patras"
    )
    group_id = await seated_group(
        runtime,
        [giulia, marco, pieter, eleni],
        approved_at=datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
    )
    await runtime.tick()
    await runtime.tick()

    [(title, channel)] = [(t, thread) for thread, t in slack.topics.items()]
    assert title.startswith("group-")
    intro = telegram.to("1001")[-1].reply
    assert "I will pass the group's messages to you here" in intro.text
    assert [c.label for c in intro.choices] == ["Reply to the group"]

    # written in the Slack channel: both Telegram members read it in private, with a button
    in_channel = Talk(
        runtime.core, slack, user_id="UGIULIA", name="Giulia", chat_id="-1001234567890",
        chat_kind="channel", platform="slack",
    )  # fmt: skip
    await in_channel.handle(text="Kick-off on Thursday?", thread_id=channel, message_id="1.1")
    await runtime.tick()
    for user in ("1001", "1002"):
        got = telegram.to(user)[-1].reply
        assert got.text == "Giulia Rossi (Milano): Kick-off on Thursday?"
        assert [c.label for c in got.choices] == ["Reply to the group"]
    assert not [s for s in slack.sent if "Kick-off on Thursday" in s.reply.text]  # no echo

    # Pieter replies from his private chat: the channel and Eleni get it, not Pieter himself
    pieter_dm = Talk(runtime.core, telegram, user_id="1001", name="Pieter", platform="telegram")
    said = await pieter_dm.press("Reply to the group")
    assert "now goes to your Energy performance contracting (EPC) group" in said
    assert await pieter_dm.say("Thursday suits Gent") == "Passed on to the group."
    await runtime.tick()
    [in_space] = [s for s in slack.sent if "Thursday suits Gent" in s.reply.text]
    assert in_space.reply.text == "Pieter Janssens (Gent): Thursday suits Gent"
    assert in_space.reply.thread_id == channel
    assert telegram.to("1002")[-1].reply.text == "Pieter Janssens (Gent): Thursday suits Gent"
    assert not [s for s in telegram.to("1001") if "Thursday suits Gent" in s.reply.text]

    # someone outside the group cannot write to it with a forged button
    outsider = await person(
        runtime, "Olaf Berg", platform="telegram", user_id="1003", authority="Bergen"
    )
    assert outsider.id
    stranger = Talk(runtime.core, telegram, user_id="1003", name="Olaf", platform="telegram")
    await stranger.handle(choice=f"gmsg:{group_id}")
    assert "Thursday" not in telegram.transcript("1003")
    assert [s for s in telegram.to("1003") if s.reply.text]  # told the button is not theirs
