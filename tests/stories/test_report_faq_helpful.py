"""Coordinators see, per FAQ entry, how officers rated its answer ("Was this helpful?")."""

from __future__ import annotations

from bot.app import Runtime
from bot.web.render import render_report, translator_for
from handlers.report.figures import build_report
from storage.models import Programme
from storage.uow import UnitOfWork
from tests.support.fakes import FakeMessenger, Talk


async def test_helpful_yes_and_no_are_counted_per_entry_on_the_dashboard(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    marie = Talk(runtime.core, messenger, user_id="u1", name="Marie")
    jonas = Talk(runtime.core, messenger, user_id="u2", name="Jonas")
    assert "European Local Energy Assistance" in await marie.say("what is ELENA?")
    await marie.press("Yes")
    await jonas.say("what is ELENA?")
    await jonas.press("No")
    await jonas.say("what is a green bond?")
    await jonas.press("Yes")
    await marie.say("what is crowdfunding?")  # answered, never rated: not counted
    async with UnitOfWork(runtime.sessionmaker) as uow:
        programme = await uow.programmes.default_or_create()
        await uow.commit()
    async with UnitOfWork(runtime.sessionmaker) as uow:
        report = await build_report(uow, {programme.id}, runtime.clock.now())
    counts = {h["entry_id"]: (h["yes"], h["no"]) for h in report.to_json()["faq_helpful"]}
    assert counts == {"elena-what-is": (1, 1), "green-bond-what-is": (1, 0)}
    assert list(counts)[0] == "elena-what-is"  # the most rated first

    page = render_report(report, translator_for(runtime.content.current.t, "fr"), lang="fr")
    assert "La réponse de la FAQ a-t-elle été utile ?" in page
    assert '<tr data-entry="elena-what-is"><td>elena-what-is</td>' in page
    assert '<td class="n" data-k="yes">1</td><td class="n" data-k="no">1</td>' in page


async def test_another_programme_does_not_see_these_ratings(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    marie = Talk(runtime.core, messenger, user_id="u1", name="Marie")
    await marie.say("what is ELENA?")
    await marie.press("Yes")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        await uow.programmes.default_or_create()
        other = await uow.programmes.add(Programme(slug="beta", name="Beta", languages=["en"]))
        await uow.commit()
    async with UnitOfWork(runtime.sessionmaker) as uow:
        report = await build_report(uow, {other.id}, runtime.clock.now())
    assert report.faq_helpful == []
    page = render_report(report, translator_for(runtime.content.current.t, "en"))
    assert "No officer has rated an answer yet." in page
