"""Officers ask financing questions; what the FAQ cannot answer reaches a coordinator and back."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import Runtime
from handlers.core.clock import FrozenClock
from storage.models import FaqQuery, Identity, Officer, OfficerStatus, Role, utcnow
from storage.uow import UnitOfWork
from tests.support.fakes import FakeMessenger, Talk


async def add_coordinator(runtime: Runtime, user_id: str = "coord", locale: str = "en") -> None:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        programme = await uow.programmes.default_or_create()
        officer = await uow.officers.add(
            Officer(
                name="Anna Coordinator",
                role=Role.COORDINATOR,
                status=OfficerStatus.ACTIVE,
                consent_at=utcnow(),
                languages=[locale],
                locale=locale,
                programme_id=programme.id,
            )
        )
        uow.session.add(
            Identity(platform="fake", user_id=user_id, dm_chat_id=user_id, officer_id=officer.id)
        )
        await uow.commit()


async def test_a_clear_question_gets_an_answer_with_feedback_choices(talk: Talk) -> None:
    reply = await talk.say("what is ELENA?")
    assert "European Local Energy Assistance" in reply and "Read more" in reply
    labels = [c.label for c in talk.last().choices]
    assert labels[:2] == ["Yes", "No"]
    assert "Thank you" in await talk.press("Yes")


async def test_ask_command_and_free_text_are_the_same(talk: Talk) -> None:
    assert "Eurostat" in await talk.say("/ask does an EPC count as public debt?")


async def test_off_topic_is_refused_honestly(talk: Talk) -> None:
    reply = await talk.say("what's the weather like in Brussels tomorrow?")
    assert "do not know" in reply
    assert [c.label for c in talk.last().choices] == ["Yes, ask them", "No, thanks"]


async def test_unknown_question_reaches_coordinator_and_the_answer_comes_back(
    runtime: Runtime, talk: Talk, messenger: FakeMessenger
) -> None:
    await add_coordinator(runtime)
    await talk.say("how many days of annual leave do municipal staff get in Lyon?")
    assert "Passed to the coordinators" in await talk.press("Yes, ask them")
    await runtime.tick()
    note = messenger.transcript("coord")
    assert "New question for coordinators" in note and "annual leave" in note

    coordinator = Talk(runtime.core, messenger, user_id="coord", name="Anna")
    listing = await coordinator.say("/unanswered")
    assert "annual leave" in listing
    await coordinator.press("Answer it")
    assert "stored" in await coordinator.say("Ask your HR department: leave rules are national.")
    await runtime.tick()
    assert "leave rules are national" in messenger.transcript(talk.chat)
    async with UnitOfWork(runtime.sessionmaker) as uow:
        query = (await uow.session.execute(select(FaqQuery).where(FaqQuery.escalated))).scalar_one()
    assert query.answer_text and query.answered_at is not None
    assert "No unanswered questions" in await coordinator.say("/unanswered")


async def test_a_coordinator_reads_a_passed_question_in_their_own_language(
    runtime: Runtime, talk: Talk, messenger: FakeMessenger
) -> None:
    await add_coordinator(runtime, locale="fr")
    await talk.say("how many days of annual leave do municipal staff get in Lyon?")
    await talk.press("Yes, ask them")  # the asker reads English
    await runtime.tick()
    [note] = [s.reply for s in messenger.to("coord")]
    assert "annual leave" in note.text and "New question" not in note.text
    assert [c.label for c in note.choices] == ["Y répondre"]


async def test_a_did_you_mean_offers_choices(talk: Talk) -> None:
    reply = await talk.say("bonds")
    assert reply  # either an answer or a did-you-mean, never silence
    if "Did you mean" in reply:
        assert len(talk.last().choices) >= 2


async def test_other_users_cannot_press_my_feedback(
    runtime: Runtime, talk: Talk, messenger: FakeMessenger
) -> None:
    await talk.say("what is ELENA?")
    mine = talk.choice("No")
    other = Talk(runtime.core, messenger, user_id="u2", name="Mallory")
    assert await other.handle(choice=mine.id) == "expired"


async def test_one_officer_cannot_flood_the_coordinators_with_questions(
    runtime: Runtime, talk: Talk, messenger: FakeMessenger, clock: FrozenClock
) -> None:
    """20 questions per 10 minutes per account; the 21st is refused and leaves no trace."""
    await add_coordinator(runtime)
    for n in range(20):
        assert "faster than" not in await talk.say(f"how do I finance project number {n}?")
    refused = await talk.say("and how about the town hall roof?")
    assert "faster than I can pass questions on" in refused
    assert "faster than" in await talk.say("/ask what is ELENA?")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        texts = (await uow.session.execute(select(FaqQuery.text))).scalars().all()
    assert len(texts) == 20 and not any("roof" in t for t in texts)
    coordinator = Talk(runtime.core, messenger, user_id="coord", name="Anna")
    for n in range(3):  # coordinators are not limited
        assert "faster than" not in await coordinator.say(f"/ask what is ELENA {n}?")
    clock.advance(minutes=11)
    assert "European Local Energy Assistance" in await talk.say("what is ELENA?")


async def test_the_answer_comes_in_the_officers_language_whatever_the_question_language(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    french = Talk(runtime.core, messenger, user_id="fr1", name="Claire", locale="fr")
    reply = await french.say("what is ELENA?")
    assert "ELENA (European Local Energy Assistance) est un dispositif" in reply
    assert "En savoir plus :" in reply and "https://" in reply
    german = Talk(runtime.core, messenger, user_id="de1", name="Jonas", locale="de")
    reply = await german.say("qu'est-ce qu'un contrat de performance énergétique ?")
    assert "Energiespar-Contracting" in reply and "Mehr dazu:" in reply


async def test_helpful_counts_and_candidate_rows_come_from_real_feedback(
    runtime: Runtime, talk: Talk, messenger: FakeMessenger
) -> None:
    """'No' answers and coordinator answers become dev rows to label; votes are counted."""
    from handlers.faq.flow import candidate_rows, feedback_counts

    await add_coordinator(runtime)
    await talk.say("what is ELENA?")
    await talk.press("Yes")
    other = Talk(runtime.core, messenger, user_id="u2", name="Bo")
    await other.say("what is ELENA?")
    await other.press("No")
    await other.press("No, thanks")
    await talk.say("how many days of annual leave do municipal staff get in Lyon?")
    await talk.press("Yes, ask them")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        leave = (
            await uow.session.execute(select(FaqQuery.id).where(FaqQuery.escalated))
        ).scalar_one()
    coordinator = Talk(runtime.core, messenger, user_id="coord", name="Anna")
    await coordinator.say(f"/unanswered {leave} Leave rules are national: ask your HR department.")
    async with UnitOfWork(runtime.sessionmaker) as uow:
        counts = await feedback_counts(uow)
        rows = await candidate_rows(uow)
    assert counts == {"elena-what-is": {"yes": 1, "no": 1}}
    assert [(r["source"], r["matched"]) for r in rows] == [
        ("answered_no", "elena-what-is"),
        ("coordinator_answered", None),
    ]
    assert all(r["id"] is None and r["needs_label"] for r in rows)
    assert "HR department" in rows[1]["coordinator_answer"]


async def test_confusable_siblings_get_the_question_that_tells_them_apart(
    runtime: Runtime, messenger: FakeMessenger
) -> None:
    """ESCO (the company) and EPC (the contract) are asked apart, in the officer's language."""
    french = Talk(runtime.core, messenger, user_id="fr2", name="Luc", locale="fr")
    reply = await french.say("epc = esco pays and gets paid back from savings? is that right")
    assert "Parlez-vous de l'entreprise (ESCO), du contrat (CPE)" in reply
    labels = [c.label for c in french.last().choices]
    assert labels[:2] == [
        "Qu'est-ce qu'une ESCO (société de services énergétiques)…",  # whole words
        "Qu'est-ce qu'un contrat de performance énergétique (CPE) ?",
    ]
    assert "Un contrat de performance énergétique (CPE)" in await french.press(labels[1])
