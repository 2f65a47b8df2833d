"""An officer who works in French, German, Spanish or Italian reads no English.

For each language: a full onboarding, an introduction with its reasons, a check-in and an
announcement with a question, all through the real handlers, and a coordinator asking for
the announcement's state. Every word the bot wrote (texts and button labels) is checked
against the English catalogue: an English word that the language's own catalogue does not
also use is a leak, unless it is a name, an acronym or a command (the allow-list).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from sqlalchemy import update

from bot.app import Runtime
from handlers.core.clock import FrozenClock
from handlers.core.i18n import load_catalogues
from handlers.pairing.reasons import Reason, reasons_json
from storage.models import Announcement, Officer, Pair, PairStatus
from storage.uow import UnitOfWork
from tests.support.fakes import FakeMessenger, Talk
from tests.support.paths import REPO_ROOT
from tests.support.peers import (
    coordinator,
    make_pair,
    officer,
    pair_row,
    practice,
    programme,
    talk,
)

CONTENT = REPO_ROOT / "content"
CATALOGUES = load_catalogues(CONTENT / "messages")
WORD = re.compile(r"(?<![/\w])[^\W\d_]{3,}", re.UNICODE)
ALLOWED = {
    # names of people, places, platforms and the programme; time zone identifiers
    "camille", "martin", "grenoble", "lena", "weber", "freiburg", "lucía", "romero",
    "valencia", "giulia", "rossi", "bologna", "pieter", "janssens", "ghent", "anna",
    "coordinator", "europe", "paris", "berlin", "madrid", "rome", "brussels", "slack",
    "telegram", "prospect", "peerbot", "tester",
    # acronyms and programme terms every language uses as they are
    "faq", "epc", "esco", "elena", "led", "eib", "ppp", "secap",
}  # fmt: skip


EMAIL = re.compile(r"\S+@\S+")


def words(text: str) -> set[str]:
    """Lower-case words of three letters or more; e-mail addresses and /commands left out."""
    return {w.lower() for w in WORD.findall(EMAIL.sub(" ", text))}


def english_only(locale: str) -> set[str]:
    """Words of the English catalogue and labels that the language's own texts never use."""
    with (CONTENT / "taxonomy.yaml").open(encoding="utf-8") as fh:
        taxonomy = yaml.safe_load(fh)
    labels = {
        lang: " ".join(
            str(names.get(lang, "")) for group in taxonomy.values() for names in group.values()
        )
        for lang in ("en", locale)
    }
    english = words(" ".join(CATALOGUES["en"].values()) + " " + labels["en"])
    own = words(" ".join(CATALOGUES[locale].values()) + " " + labels[locale])
    return english - own - ALLOWED


@dataclass
class Person:
    name: str
    authority: str
    country: str
    job: str
    timezone: str
    sector: str
    wants: str
    offers: str
    practice: str
    summary: str
    learned: str
    announcement: str
    question: str
    options: tuple[str, str]


PEOPLE = {
    "fr": Person(
        "Camille Martin", "Grenoble", "France", "Chargée de mission énergie", "Europe/Paris",
        "Éclairage public", "Fonds renouvelable", "Subventions",
        "Rénovation de l'éclairage public financée par les économies",
        "Des lampadaires remboursés par les économies d'énergie.",
        "Comment rédiger la clause de référence d'un marché de performance.",
        "Le séminaire de printemps aura lieu à Bruxelles.", "Participerez-vous au séminaire ?",
        ("Oui", "Non"),
    ),
    "de": Person(
        "Lena Weber", "Freiburg", "Deutschland", "Energiebeauftragte", "Europe/Berlin",
        "Öffentliche Beleuchtung", "Revolvierender Fonds", "Zuschüsse",
        "Straßenbeleuchtung, finanziert aus den Einsparungen",
        "Leuchten, die aus den Energieeinsparungen bezahlt werden.",
        "Wie man die Referenzklausel einer Ausschreibung formuliert.",
        "Das Frühjahrsseminar findet in Brüssel statt.", "Nehmen Sie am Seminar teil?",
        ("Ja", "Nein"),
    ),
    "es": Person(
        "Lucía Romero", "Valencia", "España", "Técnica de energía", "Europe/Madrid",
        "Alumbrado público", "Fondo rotatorio", "Subvenciones",
        "Alumbrado público financiado con los ahorros",
        "Farolas pagadas con los ahorros de energía.",
        "Cómo redactar la cláusula de referencia de una licitación.",
        "El seminario de primavera se celebrará en Bruselas.", "¿Asistirá al seminario?",
        ("Sí", "No"),
    ),
    "it": Person(
        "Giulia Rossi", "Bologna", "Italia", "Responsabile energia", "Europe/Rome",
        "Illuminazione pubblica", "Fondo rotativo", "Sovvenzioni",
        "Illuminazione pubblica finanziata con i risparmi",
        "Lampioni pagati con i risparmi energetici.",
        "Come scrivere la clausola di riferimento di una gara.",
        "Il seminario di primavera si terrà a Bruxelles.", "Parteciperà al seminario?",
        ("Sì", "No"),
    ),
}  # fmt: skip


def written(messenger: FakeMessenger, *chats: str) -> str:
    """Everything the bot wrote to these chats: texts and button labels."""
    parts = []
    for chat in chats:
        for sent in messenger.to(chat):
            parts.append(sent.reply.text)
            parts.extend(c.label for c in sent.reply.choices)
    return "\n".join(parts)


async def set_locale(runtime: Runtime, *people: Officer, locale: str) -> None:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        ids = [p.id for p in people]
        await uow.session.execute(update(Officer).where(Officer.id.in_(ids)).values(locale=locale))
        await uow.commit()


async def join(runtime: Runtime, messenger: FakeMessenger, locale: str, who: Person) -> str:
    t = runtime.content.current.t
    me = Talk(runtime.core, messenger, user_id=f"new-{locale}", name=who.name, locale=locale)
    await me.say("/start")
    await me.press(t(locale, "onboarding.consent_yes"))
    for answer in (who.name, who.authority, who.country, who.job):
        await me.say(answer)
    await me.press(t(locale, "onboarding.done"))  # the platform's language is ticked
    await me.say(who.timezone)
    for answer in (who.sector, who.wants, who.offers):
        await me.say(answer)
    await me.press(t(locale, "onboarding.skip"))
    assert t(locale, "onboarding.finished", name=who.name).split(",")[0] in me.last().text
    await me.say("/profile")
    return me.chat


@pytest.mark.parametrize("locale", ["fr", "de", "es", "it"])
async def test_an_officer_reads_only_their_language(
    runtime: Runtime, clock: FrozenClock, messenger: FakeMessenger, locale: str
) -> None:
    t = runtime.content.current.t
    who = PEOPLE[locale]
    clock.set(datetime(2026, 12, 7, 9, 0, tzinfo=UTC))  # a Monday
    chats = [await join(runtime, messenger, locale, who)]

    home = await programme(runtime)
    anna = await coordinator(runtime)
    learner = await officer(
        runtime, who.name, authority=who.authority, country=who.country[:2].upper(),
        user_id="learner", languages=(locale, "en"), wants=("epc",), timezone=who.timezone,
    )  # fmt: skip
    mentor = await officer(
        runtime, "Pieter Janssens", authority="Ghent", country="BE", user_id="mentor",
        languages=(locale, "nl"), offers=("epc",), population=260000,
    )  # fmt: skip
    await set_locale(runtime, anna, learner, mentor, locale=locale)
    await practice(
        runtime, mentor, who.practice, sector="public_lighting", instruments=("epc",),
        year=2019, summary=who.summary,
    )  # fmt: skip
    reasons = [
        Reason("practice", {"authority": "Ghent", "title": who.practice, "year": 2019}),
        Reason("sectors", {"sectors": ["public_lighting"]}),
        Reason("cross_border", {"learner": who.country[:2].upper(), "mentor": "BE"}),
        Reason("similar_size", {"learner": 230000, "mentor": 260000}),
        Reason("languages", {"languages": [locale]}),
    ]
    pair = await make_pair(runtime, learner, mentor, reasons=tuple(reasons_json(reasons)))  # type: ignore[arg-type]
    await runtime.tick()
    me = talk(runtime, messenger, "learner", who.name)
    peer = talk(runtime, messenger, "mentor", "Pieter Janssens")
    intro = messenger.transcript("learner")
    lighting = runtime.content.current.taxonomy.label("sectors", "public_lighting", locale)
    assert t(locale, "reason.sectors", sectors=lighting) in intro
    await me.press(t(locale, "intro.accept"))
    await peer.press(t(locale, "intro.accept"))
    await runtime.tick()

    async with UnitOfWork(runtime.sessionmaker) as uow:
        due = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
        await uow.session.execute(
            update(Pair).where(Pair.id == pair.id).values(next_checkin_at=due)
        )
        await uow.commit()
    clock.set(datetime(2026, 12, 8, 10, 0, tzinfo=UTC))
    await runtime.tick()
    assert t(locale, "checkin.met") in [c.label for c in me.last().choices]
    await me.press(t(locale, "checkin.met"))
    await me.say(who.learned)
    await peer.press(t(locale, "checkin.planned"))

    async with UnitOfWork(runtime.sessionmaker) as uow:
        ann = Announcement(
            programme_id=home.id, author_id=anna.id, text=who.announcement, lang=locale,
            poll={"kind": "single", "question": who.question, "options": list(who.options)},
            send_at=clock.now(), closes_at=clock.now() + timedelta(days=8),
            status="scheduled", audience={},
        )  # fmt: skip
        uow.session.add(ann)
        await uow.commit()
    for _ in range(4):
        await runtime.tick()
    assert who.question in messenger.transcript("learner")
    await me.press(who.options[0])
    boss = talk(runtime, messenger, "anna", "Anna Coordinator", locale=locale)
    await boss.say(f"/broadcast status {ann.id}")
    await boss.say("/broadcast list")
    assert t(locale, "announcement_state.done") in messenger.transcript("anna")
    assert (await pair_row(runtime, pair.id)).status == PairStatus.ACTIVE

    chats += ["learner", "mentor", "anna"]
    text = written(messenger, *chats)
    leaks = sorted(words(text) & english_only(locale))
    assert not leaks, f"{locale}: English words {leaks} in:\n{text}"
