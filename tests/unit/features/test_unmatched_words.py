"""A coordinator reviewing a round reads who is left without a peer, and why, in words."""

from __future__ import annotations

from sqlalchemy import update

from bot.app import Runtime
from storage.models import Officer
from storage.uow import UnitOfWork
from tests.support.fakes import FakeMessenger
from tests.support.peers import officer, talk
from tests.unit.features.test_matching import cohort


async def test_the_unmatched_list_names_the_topic_and_the_reason_in_the_coordinators_language(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    people = await cohort(runtime)
    await officer(
        runtime, "Jan Peeters", authority="Leuven", country="BE", languages=("nl", "en"),
        wants=("crowdfunding",),
    )  # fmt: skip
    async with UnitOfWork(runtime.sessionmaker) as uow:
        anna_id = people["anna"].id
        await uow.session.execute(update(Officer).where(Officer.id == anna_id).values(locale="es"))
        await uow.commit()
    t = runtime.content.current.t
    anna = talk(runtime, messenger, "anna")
    await anna.say("/match")
    await anna.press(t("es", "match.propose"))
    shown = await anna.press(t("es", "match.show_unmatched"))
    line = t(
        "es",
        "match.unmatched_line",
        name="Jan Peeters",
        topic=t("es", "match_why.any_topic"),  # no /match request: any of the profile's wants
        reason=t("es", "match_why.offers"),
    )
    assert line in shown
    assert "nobody" not in shown and "any" not in shown
