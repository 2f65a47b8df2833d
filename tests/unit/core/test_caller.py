"""What the core reads about a caller in one query still drives the rules around handlers: the
questions rate limit, a coordinator's role through a membership, and (an open flow: the onboarding stories)."""

from __future__ import annotations

from bot.app import Runtime
from handlers.core.clock import FrozenClock
from storage.models import Identity, Membership, Officer, OfficerStatus, Role, utcnow
from storage.uow import UnitOfWork
from tests.support.fakes import Talk


async def test_an_officer_asking_more_than_twenty_questions_in_ten_minutes_is_asked_to_wait(
    talk: Talk, clock: FrozenClock
) -> None:
    for _ in range(20):
        assert "European Local Energy Assistance" in await talk.say("what is ELENA?")
        clock.advance(seconds=10)
    assert "Please wait a few minutes" in await talk.say("what is ELENA?")
    clock.advance(minutes=10)
    assert "European Local Energy Assistance" in await talk.say("what is ELENA?")


async def test_a_coordinator_by_membership_of_another_programme_is_a_coordinator(
    runtime: Runtime, talk: Talk
) -> None:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        home = await uow.programmes.default_or_create()
        officer = await uow.officers.add(
            Officer(
                name="Marie Dubois",
                role=Role.OFFICER,
                status=OfficerStatus.ACTIVE,
                consent_at=utcnow(),
                languages=["en"],
                programme_id=home.id,
            )
        )
        uow.session.add(
            Identity(platform="fake", user_id="u1", dm_chat_id="u1", officer_id=officer.id)
        )
        await uow.commit()
    assert "coordinators" in (await talk.say("/unanswered")).lower()  # not one yet
    async with UnitOfWork(runtime.sessionmaker) as uow:
        uow.session.add(
            Membership(officer_id=officer.id, programme_id=home.id, role=Role.COORDINATOR)
        )
        await uow.commit()
    reply = await talk.say("/unanswered")
    assert "coordinators" not in reply.lower() and reply
