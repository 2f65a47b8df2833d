"""An officer applies to the open learning cycle in a Slack modal (`/peerbot cycle`), over
HTTP against the emulated Web API: prefilled from their profile, inline errors for nothing
chosen or forged options, the application stored through the core, reopened with it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from bot.app import Runtime
from bot.config import Settings
from handlers.core.clock import FrozenClock
from handlers.groups import service
from storage.uow import UnitOfWork
from tests.adapters.test_slack import DM1, Bot, api, initial, running  # noqa: F401
from tests.support.emulators.slack_api import SlackApiEmulator
from tests.support.peers import officer, programme


@pytest.fixture
async def bot(settings: Settings, clock: FrozenClock, api: SlackApiEmulator) -> AsyncIterator[Bot]:  # noqa: F811
    async with running(settings, clock, api) as started:
        yield started


async def open_cycle(runtime: Runtime) -> int:
    await programme(runtime)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        made = await service.create_cycle(
            uow,
            runtime.content.current.taxonomy,
            name="Cycle 2: public buildings",
            starts_on=date(2026, 12, 1),
            ends_on=date(2027, 6, 30),
            modules=["public_buildings"],
            programme_slug="prospect",
        )
        await uow.commit()
    return int(made["id"])


async def opened(bot: Bot) -> dict[str, Any]:
    delivery = await bot.slack.command("U1", "cycle")
    assert delivery.status == 200 and delivery.elapsed < 3
    await bot.settle()
    views = [c for c in bot.api.calls_to("views.open") if c.response.get("ok")]
    assert views, bot.api.transcript(DM1)
    return dict(views[-1].response["view"])


async def test_an_officer_applies_in_the_modal_and_reopens_it_with_the_answers(bot: Bot) -> None:
    cycle_id = await open_cycle(bot.runtime)
    marie = await officer(
        bot.runtime,
        "Marie Dubois",
        authority="Lyon",
        country="FR",
        platform="slack",
        user_id="U1",
        dm=DM1,
        wants=("epc",),
    )
    view = await opened(bot)
    assert view["callback_id"] == "peerbot-cycle-apply"
    assert "Cycle 2: public buildings" in view["blocks"][0]["text"]["text"]
    assert initial(view, "wants") == ["epc"]  # from the profile

    nothing = await bot.slack.submit("U1", view, {"wants": [], "offers": []})
    assert nothing.json()["response_action"] == "errors"
    assert set(nothing.json()["errors"]) == {"wants"}
    forged = await bot.slack.submit("U1", view, {"wants": ["epc"], "offers": ["magic"]})
    assert set(forged.json()["errors"]) == {"offers"}
    await bot.settle()
    async with UnitOfWork(bot.runtime.sessionmaker) as uow:
        assert await uow.cycles.application(cycle_id, marie.id) is None

    done = await bot.slack.submit(
        "U1", view, {"wants": ["green_bond", "epc"], "offers": ["revolving_fund"]}
    )
    assert done.status == 200 and done.body == "" and done.elapsed < 3
    await bot.settle()
    async with UnitOfWork(bot.runtime.sessionmaker) as uow:
        stored = await uow.cycles.application(cycle_id, marie.id)
        assert stored is not None
        assert (stored.wants, stored.offers, stored.source) == (
            ["green_bond", "epc"],
            ["revolving_fund"],
            "slack",
        )
    assert "your application to “Cycle 2: public buildings” has been received" in (
        bot.api.transcript(DM1)
    )

    again = await opened(bot)
    assert initial(again, "wants") == ["green_bond", "epc"]  # in order of preference
    assert initial(again, "offers") == ["revolving_fund"]


async def test_without_an_open_cycle_the_chat_says_so(bot: Bot) -> None:
    await officer(
        bot.runtime,
        "Marie Dubois",
        authority="Lyon",
        country="FR",
        platform="slack",
        user_id="U1",
        dm=DM1,
    )
    delivery = await bot.slack.command("U1", "cycle")
    assert delivery.status == 200
    await bot.settle()
    assert not bot.api.calls_to("views.open")
    assert "No learning cycle in your programme is taking applications" in (bot.api.transcript(DM1))
