"""TelegramMessenger against the emulated Bot API: layout, splitting, edits and error mapping."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.telegram.adapter import TelegramApp, build_application, file_base_url
from bot.telegram.messenger import TelegramMessenger, keyboard, split_text, utf16_len
from handlers.core.ports import ChatMigrated, RateLimited, TransientError, Undeliverable
from handlers.core.replies import Choice, Reply
from tests.support.emulators.telegram_api import TelegramEmulator

USER = 4242
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@pytest.fixture
async def api() -> AsyncIterator[TelegramEmulator]:
    """Telegram's limits as they are: 30/s overall, 1/s per chat with a burst of 3."""
    async with TelegramEmulator() as emulator:
        yield emulator


@pytest.fixture
async def app(api: TelegramEmulator) -> AsyncIterator[TelegramApp]:
    """The same Application (rate-limited ExtBot) the adapter builds."""
    application = build_application(api.token, api.base_url, polling=False)
    await application.initialize()
    yield application
    await application.shutdown()


@pytest.fixture
def messenger(app: TelegramApp) -> TelegramMessenger:
    return TelegramMessenger(app.bot)


def choices(*labels: str, selected: tuple[str, ...] = ()) -> tuple[Choice, ...]:
    return tuple(
        Choice(f"c:{i}~abcdefghij", label, label in selected) for i, label in enumerate(labels)
    )


# -- pure functions ---------------------------------------------------------------------------


def test_split_prefers_paragraphs_then_lines_then_spaces() -> None:
    assert split_text("short") == ["short"]
    paragraphs = "a" * 3000 + "\n\n" + "b" * 3000
    assert split_text(paragraphs) == ["a" * 3000, "b" * 3000]
    lines = "\n".join(f"line {i:04d} " + "x" * 90 for i in range(100))
    chunks = split_text(lines)
    assert len(chunks) == 3 and "\n".join(chunks) == lines
    words = " ".join(["word"] * 2000)
    assert " ".join(split_text(words)) == words
    hard = "x" * 9000
    assert split_text(hard) == ["x" * 4096, "x" * 4096, "x" * 808]
    assert split_text("   \n\n  ") == []


def test_split_counts_like_telegram() -> None:
    emoji = "💶" * 3000  # 6000 UTF-16 units
    chunks = split_text(emoji)
    assert [utf16_len(c) for c in chunks] == [4096, 1904]
    assert "".join(chunks) == emoji


def test_keyboard_layout() -> None:
    short = keyboard(Reply("?", choices=choices("Yes", "No", "Maybe")))
    assert short is not None
    assert [[b.text for b in row] for row in short.inline_keyboard] == [["Yes", "No"], ["Maybe"]]
    mixed = keyboard(
        Reply("?", choices=choices("Done", "Energy performance contracting (EPC)", "Back", "Skip"))
    )
    assert mixed is not None
    assert [[b.text for b in row] for row in mixed.inline_keyboard] == [
        ["Done"],
        ["Energy performance contracting (EPC)"],
        ["Back", "Skip"],
    ]
    ticked = keyboard(
        Reply("?", choices=choices("French", "German", selected=("French",)), multi=True)
    )
    assert ticked is not None
    assert [b.text for b in ticked.inline_keyboard[0]] == ["✓ French", "German"]
    not_multi = keyboard(Reply("?", choices=choices("French", selected=("French",))))
    assert not_multi is not None and not_multi.inline_keyboard[0][0].text == "French"
    assert keyboard(Reply("no buttons")) is None


def test_file_base_url() -> None:
    assert file_base_url("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert file_base_url("http://127.0.0.1:81/bot") == "http://127.0.0.1:81/file/bot"


# -- against the emulator ---------------------------------------------------------------------


async def test_send_plain_text_with_buttons(
    api: TelegramEmulator, messenger: TelegramMessenger
) -> None:
    text = "<b>not bold</b> *nor this* [link](http://x) & <script>"
    first = await messenger.send(str(USER), Reply(text, choices=choices("Yes", "No")))
    second = await messenger.send(str(USER), Reply("again"))
    assert first is not None and second is not None and int(second) == int(first) + 1
    call = api.ok_calls("sendMessage")[0]
    assert call.params["text"] == text and "parse_mode" not in call.params
    message = api.bot_messages(USER)[0]
    assert message.buttons == [("Yes", "c:0~abcdefghij"), ("No", "c:1~abcdefghij")]


async def test_a_long_reply_is_split_with_the_keyboard_on_the_last_chunk(
    api: TelegramEmulator, app: TelegramApp
) -> None:
    api.per_chat_rate = None
    messenger = TelegramMessenger(app.bot)
    text = "\n\n".join(f"Paragraph {i}. " + "Financing text. " * 60 for i in range(12))
    last = await messenger.send(str(USER), Reply(text, choices=choices("Yes", "No")))
    messages = api.bot_messages(USER)
    assert len(messages) == 3 and last == str(messages[-1].message_id)
    assert all(utf16_len(m.text) <= 4096 for m in messages)
    assert [bool(m.buttons) for m in messages] == [False, False, True]
    assert "\n\n".join(m.text for m in messages) == text


async def test_topics_and_threads(api: TelegramEmulator, messenger: TelegramMessenger) -> None:
    api.add_forum(-100777)
    thread = await messenger.create_topic("-100777", "Green bonds for schools")
    sent = await messenger.send("-100777", Reply("Welcome to the topic", thread_id=thread))
    assert sent is not None
    assert api.ok_calls("sendMessage")[-1].params["message_thread_id"] == int(thread)
    with pytest.raises(Undeliverable, match="(?i)thread not found"):
        await messenger.send("-100777", Reply("lost", thread_id="999"))
    with pytest.raises(Undeliverable, match="(?i)not a forum"):
        await messenger.create_topic(str(USER), "no forum here")
    await messenger.delete("-100777", sent)
    assert [d.kind for d in api.deliveries][-1] == "delete"


async def test_edit_and_its_fallbacks(api: TelegramEmulator, messenger: TelegramMessenger) -> None:
    api.per_chat_rate = None
    mid = await messenger.send(str(USER), Reply("Pick", choices=choices("A", "B"), multi=True))
    assert mid is not None
    ticked = Reply("Pick", choices=choices("A", "B", selected=("A",)), multi=True)
    assert await messenger.edit(str(USER), mid, ticked) == mid
    assert api.bot_messages(USER)[-1].rows == [["✓ A", "B"]]
    # the same content again: Telegram says "not modified"; that is no failure
    assert await messenger.edit(str(USER), mid, ticked) == mid
    assert len(api.bot_messages(USER)) == 1
    # a message that cannot be edited (the user's own, or gone): a new message instead
    user_message = api.message_update(USER, "hello")["message"]["message_id"]
    for target in (str(user_message), "99999", "not-a-number"):
        new = await messenger.edit(str(USER), target, Reply("Fresh"))
        assert new is not None and new != target
    # too long to edit in place: sent as new messages
    before = len(api.bot_messages(USER))
    await messenger.edit(str(USER), mid, Reply("x " * 5000))
    assert len(api.bot_messages(USER)) == before + 3


async def test_permanent_failures_are_undeliverable(
    api: TelegramEmulator, messenger: TelegramMessenger
) -> None:
    api.block(111)
    with pytest.raises(Undeliverable, match="blocked by the user"):
        await messenger.send("111", Reply("hi"))
    api.forget_chat(222)
    with pytest.raises(Undeliverable, match="(?i)chat not found"):
        await messenger.send("222", Reply("hi"))
    with pytest.raises(Undeliverable, match="(?i)button_data_invalid"):
        await messenger.send("333", Reply("hi", choices=(Choice("x" * 65, "Too long"),)))
    with pytest.raises(Undeliverable, match="blocked by the user"):
        await messenger.edit("111", "1", Reply("hi"))


async def test_a_migrated_group_gives_the_new_chat_id(
    api: TelegramEmulator, messenger: TelegramMessenger
) -> None:
    api.migrate(-4001, -1004001)
    with pytest.raises(ChatMigrated) as caught:
        await messenger.send("-4001", Reply("hi"))
    assert caught.value.new_chat_id == "-1004001"
    assert await messenger.send(caught.value.new_chat_id, Reply("hi")) is not None


async def test_server_errors_and_timeouts_are_transient(
    api: TelegramEmulator, messenger: TelegramMessenger
) -> None:
    api.fail_next(1, status=500)
    with pytest.raises(TransientError):
        await messenger.send(str(USER), Reply("hi"))
    api.fail_next(1, status=502, description="Bad Gateway")
    with pytest.raises(TransientError):
        await messenger.send(str(USER), Reply("hi"))
    assert await messenger.send(str(USER), Reply("hi")) is not None
    # an answer slower than the client's read timeout
    impatient = Bot(api.token, base_url=api.base_url, request=HTTPXRequest(read_timeout=0.2))
    async with impatient:
        api.delay_next(1, 0.5, methods=["sendMessage"])
        with pytest.raises(TransientError):
            await TelegramMessenger(impatient).send("555", Reply("hi"))


async def test_flood_control_is_rate_limited_with_retry_after(
    api: TelegramEmulator, messenger: TelegramMessenger
) -> None:
    # the limiter's time stands still: on a loaded machine a second may pass between two sends
    # and refill the bucket, and the call that must be refused would go through
    api.limit_clock = lambda: 1000.0
    for _ in range(3):  # the burst a chat may have
        await messenger.send(str(USER), Reply("hi"))
    with pytest.raises(RateLimited) as caught:
        await messenger.send(str(USER), Reply("one too many"))
    assert caught.value.retry_after == 1.0
    limited = api.calls_to("sendMessage")[-1]
    assert limited.status == 429 and limited.description == "Too Many Requests: retry after 1"
    # other chats are not held back by one chat's limit, but by the global one
    api.global_rate = 5
    api.reset_limits()
    for chat in range(10, 15):
        await messenger.send(str(chat), Reply("hi"))
    with pytest.raises(RateLimited):
        await messenger.send("16", Reply("hi"))


async def test_a_group_gets_20_messages_a_minute(api: TelegramEmulator) -> None:
    api.global_rate, api.per_chat_rate = None, None
    # a bare Bot: the adapter's AIORateLimiter would hold the 21st back itself
    async with Bot(api.token, base_url=api.base_url) as bare:
        messenger = TelegramMessenger(bare)
        for _ in range(20):
            await messenger.send("-1009", Reply("hi"))
        with pytest.raises(RateLimited) as caught:
            await messenger.send("-1009", Reply("hi"))
    assert 1 <= caught.value.retry_after <= 60


async def test_an_interactive_reply_waits_out_a_short_429_once(
    api: TelegramEmulator, app: TelegramApp
) -> None:
    api.per_chat_burst = 1
    interactive = TelegramMessenger(app.bot, wait_on_429=2.0)
    await interactive.send(str(USER), Reply("first"))
    started = time.monotonic()
    assert await interactive.send(str(USER), Reply("second")) is not None
    assert 0.9 <= time.monotonic() - started < 2.0
    statuses = [c.status for c in api.calls_to("sendMessage")]
    assert statuses == [200, 429, 200]
    # a wait longer than allowed is not waited out
    api.flood(777, retry_after=30)
    with pytest.raises(RateLimited) as caught:
        await interactive.send("777", Reply("hi"))
    assert caught.value.retry_after == 30
