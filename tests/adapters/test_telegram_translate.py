"""Telegram updates -> neutral events, from payloads shaped like the Bot API's."""

from __future__ import annotations

import json
from typing import Any

import pytest
from telegram import Update

from bot.telegram.translate import chat_kind, plain_incoming, to_incoming
from tests.support.emulators.telegram_api import TelegramEmulator
from tests.support.paths import REPO_ROOT


@pytest.fixture
def api() -> TelegramEmulator:
    """Only used to shape payloads (no server)."""
    return TelegramEmulator()


def parse(data: dict[str, Any]) -> Update:
    return Update.de_json(data, None)


def test_a_private_message_is_a_dm_with_string_ids(api: TelegramEmulator) -> None:
    data = api.message_update(
        42, "hello", first_name="Marie", last_name="Dubois", username="mdubois", language_code="fr"
    )
    event = to_incoming(parse(data))
    assert event is not None
    assert (event.platform, event.user_id, event.chat_id, event.chat_kind) == (
        "telegram",
        "42",
        "42",
        "dm",
    )
    assert event.text == "hello" and event.choice is None
    assert event.locale == "fr" and event.display_name == "Marie Dubois"
    assert event.update_id == str(data["update_id"])
    assert event.message_id == str(data["message"]["message_id"])
    assert event.hints == {"username": "mdubois"}
    assert event.thread_id is None


def test_a_deep_link_start_payload_passes_through(api: TelegramEmulator) -> None:
    event = to_incoming(parse(api.message_update(42, "/start inv-Gent_2026")))
    assert event is not None
    assert event.command == "start" and event.args == "inv-Gent_2026"


def test_group_messages_and_forum_topics(api: TelegramEmulator) -> None:
    api.add_forum(-1001, "Peer discussions")
    topic = to_incoming(parse(api.message_update(7, "hi", chat_id=-1001, message_thread_id=55)))
    assert topic is not None
    assert (topic.chat_kind, topic.chat_id, topic.thread_id) == ("group", "-1001", "55")
    # a reply thread in a group without topics is not a topic
    reply = to_incoming(
        parse(api.message_update(7, "hi", chat_id=-2002, chat_type="group", message_thread_id=3))
    )
    assert reply is not None and reply.chat_kind == "group" and reply.thread_id is None


def test_chat_kinds() -> None:
    assert [chat_kind(k) for k in ("private", "group", "supergroup", "channel")] == [
        "dm",
        "group",
        "group",
        "channel",
    ]


def test_a_pressed_button_is_a_choice_in_the_chat_of_its_message(api: TelegramEmulator) -> None:
    api.add_forum(-1001)
    chat = api.chats[-1001]
    chat.topics[9] = "topic"
    data = api.callback_update(42, "onb:yes~abcdefghij", chat_id=-1001, message_id=5)
    data["callback_query"]["message"].update(message_thread_id=9, is_topic_message=True)
    event = to_incoming(parse(data))
    assert event is not None
    assert event.choice == "onb:yes~abcdefghij" and event.text == ""
    assert (event.user_id, event.chat_id, event.message_id) == ("42", "-1001", "5")
    assert event.thread_id == "9" and event.update_id == str(data["update_id"])


def test_buttons_the_bot_never_issues_are_ignored(api: TelegramEmulator) -> None:
    inline = api.callback_update(42, "x", message_id=1)
    del inline["callback_query"]["message"]
    inline["callback_query"]["inline_message_id"] = "AAAA"
    game = api.callback_update(42, "x", message_id=1)
    del game["callback_query"]["data"]
    game["callback_query"]["game_short_name"] = "quiz"
    assert to_incoming(parse(inline)) is None
    assert to_incoming(parse(game)) is None


def test_updates_without_a_person_or_text_are_ignored(api: TelegramEmulator) -> None:
    message = api.message_update(42, "hi")
    edited = {"update_id": 1, "edited_message": message["message"]}
    channel = {"update_id": 2, "channel_post": message["message"]}
    member = {
        "update_id": 3,
        "my_chat_member": {
            "chat": message["message"]["chat"],
            "from": api.user(42),
            "date": 0,
            "old_chat_member": {"status": "member", "user": api.user(1)},
            "new_chat_member": {"status": "kicked", "user": api.user(1), "until_date": 0},
        },
    }
    from_bot = api.message_update(42, "hi")
    from_bot["message"]["from"]["is_bot"] = True
    service = api.message_update(42, "")
    del service["message"]["text"]
    service["message"]["pinned_message"] = {
        "message_id": 1,
        "chat": {"id": 42, "type": "private"},
        "date": 0,
    }
    for data in (edited, channel, member, {"update_id": 4}, from_bot, service):
        assert to_incoming(parse(data)) is None, data


def test_media_bring_their_caption_or_empty_text(api: TelegramEmulator) -> None:
    photo = [{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]
    with_caption = api.message_update(42, "")
    del with_caption["message"]["text"]
    with_caption["message"].update(photo=photo, caption="our LED project")
    bare = api.message_update(42, "")
    del bare["message"]["text"]
    bare["message"]["photo"] = photo
    first, second = to_incoming(parse(with_caption)), to_incoming(parse(bare))
    assert first is not None and first.text == "our LED project"
    assert second is not None and second.text == ""


def test_a_plain_private_text_is_read_from_its_json_as_ptb_reads_it(api: TelegramEmulator) -> None:
    plain = [
        api.message_update(42, "what is ELENA?"),
        api.message_update(43, "hello", first_name="Marie", last_name="Dubois", username="md"),
        api.message_update(44, "hallo", language_code=None, last_name="", username=""),
        api.message_update(45, "/start inv-Gent_2026", language_code="fr"),
        api.message_update(46, "/help@peer_bot"),
        api.message_update(47, ""),
    ]
    premium = api.message_update(48, "hi")
    premium["message"]["from"]["is_premium"] = True
    plain.append(premium)
    for data in plain:
        fast = plain_incoming(data, "peer_bot")
        assert fast is not None, data
        assert fast == to_incoming(parse(data), "peer_bot")
    # another bot's command: PTB's reading ignores it, so does the full way after the fast one
    other = api.message_update(42, "/help@other_bot")
    assert plain_incoming(other, "peer_bot") is None
    assert to_incoming(parse(other), "peer_bot") is None


def test_any_other_update_goes_the_full_way(api: TelegramEmulator) -> None:
    api.add_forum(-1001)
    group = api.message_update(7, "hi", chat_id=-2002, chat_type="group")
    topic = api.message_update(7, "hi", chat_id=-1001, message_thread_id=55)
    button = api.callback_update(42, "onb:yes~abcdefghij", message_id=5)
    from_bot = api.message_update(42, "hi")
    from_bot["message"]["from"]["is_bot"] = True
    forwarded = api.message_update(42, "hi")
    forwarded["message"]["forward_origin"] = {
        "type": "hidden_user",
        "date": 0,
        "sender_user_name": "X",
    }
    caption = api.message_update(42, "")
    del caption["message"]["text"]
    caption["message"]["caption"] = "our LED project"
    link = api.message_update(42, "see https://example.org")
    link["message"]["entities"] = [{"type": "text_link", "offset": 0, "length": 3, "url": "x"}]
    odd = [api.message_update(42, "hi") for _ in range(5)]
    odd[0]["message"]["from"]["id"] = "42"  # a string id
    odd[1]["message"]["date"] = 2**40  # a date PTB cannot read
    del odd[2]["message"]["from"]["first_name"]
    odd[3]["message"]["text"] = 5
    odd[4]["edited"] = True
    shapes = [group, topic, button, from_bot, forwarded, caption, link, *odd]
    for data in shapes:
        assert plain_incoming(data, "peer_bot") is None, data


def test_real_updates_read_the_fast_way_read_as_ptb_reads_them() -> None:
    """Every real payload (tests/data/payloads/telegram, public sources) the fast reading
    accepts gives PTB's event; the real private texts are among those it accepts."""
    fast = []
    for path in sorted((REPO_ROOT / "tests" / "data" / "payloads" / "telegram").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        event = plain_incoming(data, "peer_bot")
        if event is not None:
            assert event == to_incoming(parse(data), "peer_bot"), path.name
            fast.append(path.stem)
    assert "private_start" in fast
