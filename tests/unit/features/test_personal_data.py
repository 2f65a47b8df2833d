"""Personal data: /export holds everything kept about the officer, /forget leaves nothing they
typed, and what strangers leave before consenting is small, bounded and soon gone."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.app import Runtime
from handlers.core.clock import FrozenClock
from handlers.officers import pre_consent
from storage.models import (
    Announcement,
    Authority,
    Conversation,
    Discussion,
    DiscussionMessage,
    GoodPractice,
    Identity,
    MatchRequest,
    Membership,
    Officer,
    PollAnswer,
    Programme,
    Role,
)
from storage.uow import UnitOfWork
from tests.support.fakes import FakeMessenger, Talk
from tests.unit.features.test_onboarding import onboard


async def marie(runtime: Runtime) -> Officer:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        [found] = [o for o in await uow.officers.list() if o.name == "Marie Dubois"]
        return found


async def test_export_holds_messages_memberships_requests_answers_and_practices(
    runtime: Runtime, talk: Talk
) -> None:
    await onboard(talk)
    me = await marie(runtime)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        nordic = await uow.programmes.add(Programme(slug="nordic", name="Nordic cohort"))
        uow.session.add(Membership(officer_id=me.id, programme_id=nordic.id, role=Role.OFFICER))
        uow.session.add(MatchRequest(officer_id=me.id, topic="epc", status="open"))
        ann = Announcement(
            text="Which instruments?",
            poll={"question": "Which instruments?", "kind": "multi", "options": ["EPC", "Bonds"]},
        )
        talk_about = Discussion(topic="Green bonds for schools")
        uow.session.add_all([ann, talk_about])
        await uow.session.flush()
        uow.session.add(PollAnswer(announcement_id=ann.id, officer_id=me.id, choices=[1]))
        uow.session.add(
            DiscussionMessage(
                discussion_id=talk_about.id, officer_id=me.id, platform="fake",
                text="Lyon placed 20 M EUR of green bonds in 2022.",
            )
        )  # fmt: skip
        uow.session.add(
            GoodPractice(
                officer_id=me.id, authority_id=me.authority_id, sector="public_lighting",
                instruments=["epc"], title="LED EPC", summary="10,000 lights, 60 % saved",
                figures={"contact": "marie@lyon.example"}, year=2021, status="pending",
            )
        )  # fmt: skip
        await uow.commit()
    reply = await talk.say("/export")
    data = json.loads(reply.split("\n", 1)[1])
    assert {m["programme"] for m in data["memberships"]} >= {"nordic"}
    assert [(r["topic"], r["status"]) for r in data["match_requests"]] == [("epc", "open")]
    assert data["poll_answers"][0]["question"] == "Which instruments?"
    assert data["poll_answers"][0]["choices"] == ["Bonds"]
    assert [m["text"] for m in data["discussion_messages"]] == [
        "Lyon placed 20 M EUR of green bonds in 2022."
    ]
    assert data["discussion_messages"][0]["discussion"] == "Green bonds for schools"
    led = next(p for p in data["good_practices"] if p["title"] == "LED EPC")
    assert led["summary"] == "10,000 lights, 60 % saved"
    assert led["figures"]["contact"] == "marie@lyon.example" and led["year"] == 2021


async def test_forget_removes_the_pending_practice_and_the_published_ones_contact(
    runtime: Runtime, talk: Talk, messenger: FakeMessenger
) -> None:
    await onboard(talk, authority="Villeurbanne-sur-Test")
    me = await marie(runtime)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        for title, status in (("Pending one", "pending"), ("Published one", "approved")):
            uow.session.add(
                GoodPractice(
                    officer_id=me.id, authority_id=me.authority_id, sector="public_lighting",
                    instruments=["epc"], title=title, figures={"contact": "+33 6 12 34 56 78"},
                    status=status,
                )
            )  # fmt: skip
        await uow.commit()
    await talk.say("/forget")
    assert "has been deleted" in await talk.press("Yes, delete my data")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        practices = (await uow.session.execute(select(GoodPractice))).scalars().all()
        names = (await uow.session.execute(select(Authority.name))).scalars().all()
    assert [p.title for p in practices] == ["Published one"]  # the pending one is gone
    assert practices[0].figures == {} and practices[0].officer_id is None  # no contact left
    assert "Villeurbanne-sur-Test" in names  # a published practice is the authority's record


async def test_forget_removes_the_authority_nobody_else_refers_to(
    runtime: Runtime, talk: Talk
) -> None:
    await onboard(talk, authority="Villeurbanne-sur-Test")
    await talk.say("/forget")
    assert "has been deleted" in await talk.press("Yes, delete my data")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        names = (await uow.session.execute(select(Authority.name))).scalars().all()
        practices = (await uow.session.execute(select(GoodPractice))).scalars().all()
    assert "Villeurbanne-sur-Test" not in names and practices == []


async def test_forget_keeps_an_authority_others_belong_to(
    runtime: Runtime, talk: Talk, messenger: FakeMessenger
) -> None:
    await onboard(talk)
    me = await marie(runtime)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        uow.session.add(Officer(name="Paul Martin", authority_id=me.authority_id))
        await uow.commit()
    await talk.say("/forget")
    await talk.press("Yes, delete my data")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        names = (await uow.session.execute(select(Authority.name))).scalars().all()
    assert "Lyon" in names


async def pending_identities(runtime: Runtime) -> list[str]:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        rows = (await uow.session.execute(select(Identity))).scalars().all()
        return sorted(i.user_id for i in rows if i.officer_id is None)


@pytest.fixture(autouse=True)
def _fresh_job(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pre_consent, "_last_run", {})


async def test_strangers_who_never_consent_are_forgotten_after_a_week(
    runtime: Runtime, messenger: FakeMessenger, clock: FrozenClock
) -> None:
    stranger = Talk(runtime.core, messenger, user_id="s1", name="Stranger")
    assert "Do you agree?" in await stranger.say("/start")
    joining = Talk(runtime.core, messenger, user_id="s2", name="Joining")
    await joining.say("/start")
    await joining.press("I agree")  # consented, still answering the questions
    member = Talk(runtime.core, messenger, user_id="m1", name="Marie Dubois")
    await onboard(member)
    assert await pending_identities(runtime) == ["s1", "s2"]
    clock.advance(days=pre_consent.PRE_CONSENT_DAYS - 1)
    assert await pre_consent.prune_pre_consent(runtime.core, runtime.messengers) == 0
    clock.advance(days=2)
    pre_consent._last_run.clear()
    assert await pre_consent.prune_pre_consent(runtime.core, runtime.messengers) == 1
    assert await pending_identities(runtime) == ["s2"]
    async with UnitOfWork(runtime.sessionmaker) as uow:
        flows = (await uow.session.execute(select(Conversation))).scalars().all()
    assert len(flows) == 1  # the stranger's consent step went with them
    assert "Do you agree?" in await stranger.say("/start")  # coming back starts again


async def test_at_most_so_many_strangers_are_kept(
    runtime: Runtime, messenger: FakeMessenger, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pre_consent, "MAX_PRE_CONSENT", 3)
    for n in range(5):
        await Talk(runtime.core, messenger, user_id=f"s{n}", name="Stranger").say("/start")
        clock.advance(minutes=1)
    assert await pre_consent.prune_pre_consent(runtime.core, runtime.messengers) == 2
    assert await pending_identities(runtime) == ["s2", "s3", "s4"]  # the latest stay
    async with UnitOfWork(runtime.sessionmaker) as uow:
        assert await uow.pre_consent.count() == 3
