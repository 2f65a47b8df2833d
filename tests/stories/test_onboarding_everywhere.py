"""One officer per platform, one database: the profile does not depend on where one joined.

A new officer onboards on Telegram (emulated Bot API, step by step with text and buttons),
another on Slack (emulated Web API, the join modal) and a third in the console (a real
`peerbot run --user` process, answers on stdin). `peerbot officers list --json`, run as a process
on that same database, must then show the same fields, the same answers and each officer's own
platform identity.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

import pytest

from bot.config import Settings
from handlers.core.clock import FrozenClock
from tests.adapters.test_slack import open_modal, running
from tests.adapters.test_telegram import CONSENT, TgUser, launch
from tests.conftest import ROOT
from tests.support.emulators.slack_api import SlackApiEmulator
from tests.support.emulators.telegram_api import TelegramEmulator

# The answers all three give, as codes (what the store and the JSON hold).
COUNTRY = "BE"
AUTHORITY = "Ghent"
ROLE = "Energy manager"
LANGUAGES = ["en", "fr"]
TIMEZONE = "Europe/Brussels"
SECTORS = ["public_lighting"]
WANTS = ["green_bond"]
OFFERS = ["revolving_fund"]

# The console's numbered choices, as printed by `peerbot run` for these answers (English).
CONSOLE_INPUT = [
    "/start",
    "1",  # I agree
    "Sofie Claes",  # the name, typed (the offered button is the console user name)
    AUTHORITY,
    "1",  # "Is it one of these?" 1. Ghent (Belgium): the authority Telegram created
    ROLE,
    "2",  # French (English is preselected from the locale)
    "11",  # Done
    "1",  # Europe/Brussels
    "4",  # Public lighting
    "6",  # Done
    "4",  # Green bonds (to learn)
    "14",  # Done
    "3",  # Revolving fund (to share)
    "14",  # Done
    "1",  # Skip the optional good practice
]


pytestmark = pytest.mark.slow  # real bot processes


async def peerbot(*args: str, database_url: str, stdin: str = "") -> tuple[int, str, str]:
    """Run `python -m bot ...` on the database, console only (no platform credentials)."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
        "TELEGRAM_BOT_TOKEN": "",  # overrides a developer's .env: no adapter but the console
        "SLACK_BOT_TOKEN": "",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        env=env,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 120)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def onboard_on_telegram(settings: Settings, clock: FrozenClock) -> None:
    async with TelegramEmulator(per_chat_rate=None) as api:
        bot = await launch(settings, clock, api)
        try:
            marie = TgUser(api, bot, user_id=4242, first_name="Marie", last_name="Dubois")
            assert CONSENT in await marie.say("/start")
            assert "What is your name?" in await marie.press("I agree")
            assert "Which authority" in await marie.press("Marie Dubois")
            assert f"In which country is {AUTHORITY}?" in await marie.say(AUTHORITY)
            assert "What is your role" in await marie.say("Belgium")
            assert "Which languages" in await marie.say(ROLE)
            await marie.press("French")
            assert "Your time zone" in await marie.press("Done")
            assert "Which sectors" in await marie.press(TIMEZONE)
            await marie.press("Public lighting")
            assert "would you like to learn" in await marie.press("Done")
            await marie.press("Green bonds")
            assert "could share" in await marie.press("Done")
            await marie.press("Revolving fund")
            assert "good practice" in await marie.press("Done")
            assert "you are in!" in await marie.press("Skip")
        finally:
            await bot.stop()


async def onboard_on_slack(settings: Settings, clock: FrozenClock) -> None:
    async with SlackApiEmulator() as api:
        api.add_user("U7", "Pieter Janssens", tz=TIMEZONE, locale="en-US")
        async with running(settings, clock, api) as bot:
            view = await open_modal(bot, "U7")
            answers = {
                "consent": ["yes"],
                "name": "Pieter Janssens",
                "authority": AUTHORITY,
                "country": COUNTRY,
                "role": ROLE,
                "languages": LANGUAGES,
                "timezone": TIMEZONE,
                "sectors": SECTORS,
                "wants": WANTS,
                "offers": OFFERS,
            }
            done = await bot.slack.submit("U7", view, answers)
            assert done.status == 200 and done.body == "", done.body
            await bot.settle()
            assert "you are in" in bot.api.transcript(SlackApiEmulator.dm_channel("U7"))
            assert bot.adapter.stats["error"] == 0


async def test_the_same_profile_from_telegram_slack_and_the_console(
    database_url: str, settings: Settings, clock: FrozenClock
) -> None:
    await onboard_on_telegram(settings, clock)
    await onboard_on_slack(settings, clock)
    # The console goes last: on a database without officers `peerbot run` loads the demo.
    code, out, err = await peerbot(
        "run",
        "--user",
        "sofie",
        database_url=database_url,
        stdin="\n".join(CONSOLE_INPUT) + "\n",
    )
    assert code == 0 and "Traceback" not in err, err
    assert "Thank you, Sofie Claes, you are in!" in out, out[-3000:]

    code, out, err = await peerbot("officers", "list", "--json", database_url=database_url)
    assert code == 0, err
    listed = json.loads(out)
    by_name = {o["name"]: o for o in listed}
    assert sorted(by_name) == ["Marie Dubois", "Pieter Janssens", "Sofie Claes"]  # no demo

    assert len({frozenset(o) for o in listed}) == 1, [sorted(o) for o in listed]
    expected_identity = {
        "Marie Dubois": {"platform": "telegram", "user_id": "4242"},
        "Pieter Janssens": {"platform": "slack", "user_id": "U7"},
        "Sofie Claes": {"platform": "console", "user_id": "sofie"},
    }
    for name, officer in by_name.items():
        profile = {
            key: officer[key]
            for key in (
                "role",
                "status",
                "authority",
                "country",
                "job_title",
                "languages",
                "locale",
                "timezone",
                "sectors",
                "wants",
                "offers",
                "consent",
            )
        }
        assert profile == {
            "role": "officer",
            "status": "active",
            "authority": AUTHORITY,
            "country": COUNTRY,
            "job_title": ROLE,
            "languages": LANGUAGES,
            "locale": "en",
            "timezone": TIMEZONE,
            "sectors": SECTORS,
            "wants": WANTS,
            "offers": OFFERS,
            "consent": True,
        }, name
        assert officer["identities"] == [expected_identity[name]], name
        assert officer["email"] is None  # none of the flows asks for it
    assert len({o["programme_id"] for o in listed}) == 1
    assert listed[0]["programme_id"] is not None
