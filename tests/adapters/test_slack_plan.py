"""The learning plan in a Slack modal, over HTTP with the real slack-bolt app and the emulated
Web API: `/peerbot plan` opens the modal for an officer with an authority (and lets the chat
answer anyone else), mistakes come back under their fields (`response_action: errors`), and a
valid plan is saved through the same service as the chat's `/plan`, then prefills the modal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.config import Settings
from handlers.core.clock import FrozenClock
from handlers.outcomes import service
from storage.uow import UnitOfWork
from tests.adapters.test_slack import (
    ANSWERS,
    DM1,
    Bot,
    initial,
    open_modal,
    running,
    stored_officers,
)
from tests.support.emulators.slack_api import SlackApiEmulator

PLAN = {
    "scheme": "epc",
    "sector": "public_lighting",
    "size_eur": "2.5 million",
    "next_step": "Draft the EPC tender with our legal team",
    "target_date": "31/03/2030",
}


@pytest.fixture
async def bot(settings: Settings, clock: FrozenClock) -> AsyncIterator[Bot]:
    async with SlackApiEmulator() as api:
        api.add_user("U1", "Marie Dubois", tz="Europe/Brussels", locale="en-US")
        async with running(settings, clock, api) as started:
            yield started


async def plan_modal(bot: Bot, user: str = "U1") -> dict[str, Any] | None:
    """`/peerbot plan`; the plan modal it opened, if any."""
    delivery = await bot.slack.command(user, "plan")
    assert delivery.status == 200 and delivery.elapsed < 3
    await bot.settle()
    opened = [
        c.response["view"]
        for c in bot.api.calls_to("views.open")
        if c.response.get("ok") and c.response["view"].get("callback_id") == "peerbot-plan"
    ]
    return dict(opened[-1]) if opened else None


async def test_an_officer_sets_the_plan_in_a_modal_with_errors_under_the_fields(bot: Bot) -> None:
    # Not in the programme yet: no modal, the chat says what is missing.
    assert await plan_modal(bot) is None
    assert "join the programme first" in bot.api.transcript(DM1)

    view = await open_modal(bot)
    assert (await bot.slack.submit("U1", view, ANSWERS)).status == 200
    await bot.settle()
    [marie] = await stored_officers(bot.runtime)

    view = await plan_modal(bot)
    assert view is not None and initial(view, "scheme") is None

    typed_wrong = {**PLAN, "size_eur": "lots", "next_step": "go", "target_date": "2001-01-01"}
    refused = await bot.slack.submit("U1", view, typed_wrong)
    assert refused.status == 200 and refused.json()["response_action"] == "errors"
    errors = refused.json()["errors"]
    assert set(errors) == {"size_eur", "next_step", "target_date"}
    assert 'could not read an amount in "lots"' in errors["size_eur"]
    forged = await bot.slack.submit("U1", view, {**PLAN, "sector": "rockets"})
    assert set(forged.json()["errors"]) == {"sector"}
    await bot.settle()
    async with UnitOfWork(bot.runtime.sessionmaker) as uow:
        assert await service.plan_of(uow, marie.authority_id) is None

    done = await bot.slack.submit("U1", view, PLAN)
    assert done.status == 200 and done.body == "" and done.elapsed < 3
    await bot.settle()
    async with UnitOfWork(bot.runtime.sessionmaker) as uow:
        plan = await service.plan_of(uow, marie.authority_id)
        assert plan is not None
        assert (plan.scheme, plan.sector, plan.size_eur) == ("epc", "public_lighting", 2_500_000)
        assert plan.target_date is not None and plan.target_date.isoformat() == "2030-03-31"
        assert plan.officer_id == marie.id
    assert "Plan saved" in bot.api.transcript(DM1)

    again = await plan_modal(bot)
    assert again is not None
    assert initial(again, "scheme") == "epc" and initial(again, "sector") == "public_lighting"
    assert initial(again, "next_step") == PLAN["next_step"]
    assert initial(again, "target_date") == "2030-03-31"
