"""Mention and markup injection: what officers write reaches the other platforms inert.

Names, authorities, discussion titles, relayed replies and announcements carrying Slack
mentions (`<!channel>`, `<!here>`, `<@U123>`), links, `@everyone`, HTML and Markdown go through
the real messengers to the emulators. Slack must receive `&`, `<`, `>` as entities (no mention
or link can form); Telegram messages are sent without `parse_mode`, so markup is shown as typed
and cannot break formatting. Zero-width and bidi characters are dropped from names.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import replace

import pytest
from sqlalchemy import select

from bot.app import Runtime
from handlers.core.engine import clean_name
from storage.models import Identity, Officer, Role
from storage.uow import UnitOfWork
from tests.support.emulators.slack_api import SlackApiEmulator
from tests.support.emulators.telegram_api import TelegramEmulator
from tests.support.fakes import FakeMessenger, Talk
from tests.support.outbox_load import seed_officers, slack_messenger, telegram_messenger
from tests.support.outreach import person, programme
from tests.unit.features.test_onboarding import onboard

pytestmark = pytest.mark.adversarial

PAYLOAD = "<!channel> <!here> <!everyone> @everyone @channel <@U0ADMIN> <#C0GENERAL>"
MARKUP = "<b>bold</b> <a href='https://evil.example'>x</a> *star* _under_ [l](https://evil.example)"
LINK = "<https://evil.example|click here>"
# what must never reach Slack raw: it would ping, link or mention
RAW_SLACK = ("<!channel>", "<!here>", "<!everyone>", "<@U0ADMIN>", "<#C0GENERAL>", "<https://")


async def test_mentions_links_and_markup_reach_slack_escaped_and_telegram_as_plain_text(
    runtime: Runtime, tally: Counter[str]
) -> None:
    home = await programme(runtime)
    await person(
        runtime,
        f"Giulia {PAYLOAD}",
        platform="slack",
        user_id="UGIULIA",
        authority=f"Milano {MARKUP}",
    )
    await person(
        runtime,
        f"Pieter {MARKUP}",
        platform="telegram",
        user_id="1001",
        authority=f"Gent {PAYLOAD}",
    )
    await seed_officers(runtime.sessionmaker, 3, "slack", programme_id=home.id)
    await seed_officers(runtime.sessionmaker, 3, "telegram", programme_id=home.id)
    await person(runtime, "Anna", platform="fake", user_id="anna", role=Role.COORDINATOR)
    async with TelegramEmulator(global_rate=None) as tg, SlackApiEmulator() as sl:
        tg.add_forum(int(home.telegram_chat_id or 0))
        telegram, close_tg = await telegram_messenger(tg.base_url)
        slack, close_sl = await slack_messenger(sl.base_url)
        telegram.capabilities = replace(telegram.capabilities, topics=True)
        telegram.discussion_chat_id = str(home.telegram_chat_id)
        fake = FakeMessenger()
        runtime.messengers.update(telegram=telegram, slack=slack, fake=fake)
        try:
            giulia = Talk(runtime.core, slack, user_id="UGIULIA", name="G", platform="slack")  # type: ignore[arg-type]
            title = f"/discuss {PAYLOAD} {LINK} {MARKUP}"
            assert await giulia.handle(text=title) == "handled"
            await runtime.tick()
            [root] = [m for m in sl.messages_to(home.slack_channel_id or "") if not m.thread_ts]
            [topic] = tg.chats[int(home.telegram_chat_id or 0)].topics
            pieter = Talk(
                runtime.core,
                telegram,  # type: ignore[arg-type]
                user_id="1001",
                name="Pieter",
                chat_id=str(home.telegram_chat_id),
                chat_kind="group",
                platform="telegram",
            )
            said = f"{PAYLOAD} {LINK} {MARKUP} & done"
            await pieter.handle(text=said, thread_id=str(topic), message_id="900")
            await runtime.tick()
            there = Talk(
                runtime.core,
                slack,  # type: ignore[arg-type]
                user_id="UGIULIA",
                name="G",
                chat_id=home.slack_channel_id,
                chat_kind="channel",
                platform="slack",
            )
            await there.handle(text=f"{PAYLOAD} {MARKUP}", thread_id=root.ts, message_id="1.2")
            await runtime.tick()
            anna = Talk(runtime.core, fake, user_id="anna", name="Anna")
            await anna.say("/broadcast")
            await anna.say(f"Webinar {PAYLOAD} {LINK} {MARKUP}")
            await anna.press("Choose recipients")
            await anna.press("Everyone")
            await anna.press("Send now")
            started = time.monotonic()
            while "is delivered" not in fake.transcript("anna") and time.monotonic() - started < 30:
                await runtime.tick()
        finally:
            await close_tg()
            await close_sl()
    posts = sl.calls_to("chat.postMessage") + sl.calls_to("chat.update")
    relayed = [m for m in sl.messages_to(home.slack_channel_id or "") if m.thread_ts]
    announced = [c for c in posts if "Webinar" in json.dumps(c.args)]
    sends = tg.calls_to("sendMessage")
    tally["injection payloads checked"] += len(posts) + len(sends)
    assert relayed and announced and len(sends) >= 5
    for call in posts:
        dumped = json.dumps(call.args, ensure_ascii=False)
        assert not [raw for raw in RAW_SLACK if raw in dumped], dumped[:400]
        assert "<b>" not in dumped and "<a href" not in dumped
    # Pieter's reply arrives in the Slack thread with every control character as an entity
    assert any("&lt;!channel&gt; &lt;!here&gt;" in m.text for m in relayed)
    assert any("&lt;https://evil.example|click here&gt; " in m.text for m in relayed)
    assert any("&amp; done" in m.text for m in relayed)
    # Telegram: plain text, no entities or parse mode; what they typed is shown as typed
    assert all("parse_mode" not in c.params and "entities" not in c.params for c in sends)
    texts = [str(c.params.get("text")) for c in sends]
    assert any(f"{PAYLOAD} {MARKUP}" in t for t in texts)  # Giulia's reply, verbatim
    assert any(f"Webinar {PAYLOAD}" in t for t in texts), texts  # the announcement


async def test_zero_width_and_bidi_characters_cannot_disguise_a_name(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    disguised = "Ma\u200brie\u2060 \u202eDubois\u202c\u2066\u00ad"
    talk = Talk(runtime.core, messenger, user_id="u9", name="\u202enimdA\u202c \u200bBot")
    await onboard(talk, name=disguised, authority="Ly\u200don\u200f")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        [marie] = list(await uow.officers.list())
        identity = (await uow.session.execute(select(Identity))).scalar_one()
    assert marie.name == "Marie Dubois"
    assert marie.authority is not None and marie.authority.name == "Lyon"
    assert identity.display_name == "nimdA Bot"  # the platform name is cleaned as well
    # the "use my platform name" button gives the cleaned name too
    other = Talk(runtime.core, messenger, user_id="u10", name="Pi\u200bet\u202e")
    await other.say("/start")
    await other.press("I agree")
    assert "Which authority" in await other.press("Piet")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        names = {o.name for o in await uow.officers.list()}
        stored = (await uow.session.execute(select(Identity.display_name))).scalars().all()
    assert names == {"Marie Dubois"}  # Piet is still on his way (authority asked)
    assert all("\u200b" not in (n or "") and "\u202e" not in (n or "") for n in stored)


def test_clean_name_keeps_letters_of_every_script_and_drops_format_characters() -> None:
    assert clean_name("  Jürgen\u00a0Müller ") == "Jürgen Müller"
    assert clean_name("محمد\u200f \u2067علي\u2069") == "محمد علي"
    assert clean_name("Ζωή 👩🏽\u200d💼\x00\x1b[31m") == "Ζωή 👩🏽💼[31m"
    assert clean_name("\u200b\u200c\u200d\ufeff") == ""


async def test_officer_rows_are_unchanged_by_a_name_made_only_of_invisible_characters(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    talk = Talk(runtime.core, messenger, user_id="u11", name="X")
    await talk.say("/start")
    await talk.press("I agree")
    reply = await talk.say("\u200b\u200b\u202e\u2066")
    assert "name" in reply.lower()  # asked again
    async with UnitOfWork(runtime.sessionmaker) as uow:
        assert not (await uow.session.execute(select(Officer))).scalars().all()
