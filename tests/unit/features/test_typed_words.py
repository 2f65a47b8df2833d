"""An officer may type a button's word instead of pressing it, in their own language."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.app import Runtime
from handlers.core.i18n import Translator, load_catalogues
from handlers.core.typed_words import BUTTONS, means, typed_words
from storage.models import GoodPractice, Officer, OfficerStatus
from storage.uow import UnitOfWork
from tests.support.fakes import FakeMessenger, Talk
from tests.support.paths import REPO_ROOT

T = Translator(load_catalogues(REPO_ROOT / "content" / "messages"))
LOCALES = ["en", "fr", "de", "es", "it"]


@pytest.mark.parametrize("locale", LOCALES)
def test_every_button_word_a_prompt_names_is_understood_typed(locale: str) -> None:
    for name, keys in BUTTONS.items():
        for key in keys:
            label = T(locale, key)
            assert means(T, name, label), f"{locale} {key}: typing {label!r} is not understood"
            assert means(T, name, label.lower()), label
            assert means(T, name, f"«{label}».")


@pytest.mark.parametrize(
    ("word", "name"),
    [
        ("Omitir", "skip"),
        ("saltar", "skip"),
        ("Salta", "skip"),
        ("Überspringen", "skip"),
        ("uberspringen", "skip"),
        ("Passer", "skip"),
        ("Confirmar", "done"),
        ("listo", "done"),
        ("Fertig", "done"),
        ("Terminé", "done"),
        ("Fatto", "done"),
    ],
)
def test_typed_words_of_every_language(word: str, name: str) -> None:
    assert means(T, name, word)


def test_other_words_mean_nothing() -> None:
    assert not means(T, "skip", "Energy performance contracting")
    assert not means(T, "done", "saltar")
    assert not means(T, "skip", "")
    assert not means(T, "skip", None)
    assert "omitir" in typed_words(T, "skip") and "confirmar" in typed_words(T, "done")


async def officer(runtime: Runtime) -> Officer:
    async with UnitOfWork(runtime.sessionmaker) as uow:
        return (await uow.session.execute(select(Officer))).unique().scalar_one()


@pytest.mark.parametrize(
    ("locale", "done", "skip"),
    [
        ("es", "Listo", "Omitir"),
        ("es", "Confirmar", "saltar"),
        ("it", "Fatto", "Salta"),
        ("de", "Fertig", "Überspringen"),
        ("fr", "Terminé", "Passer"),
    ],
)
async def test_an_officer_joins_typing_the_button_words_of_their_language(
    runtime: Runtime, messenger: FakeMessenger, locale: str, done: str, skip: str
) -> None:
    t = runtime.content.current.t
    talk = Talk(runtime.core, messenger, user_id=f"typed-{locale}", locale=locale)
    await talk.say("/start")
    await talk.press(t(locale, "onboarding.consent_yes"))
    await talk.say("Lucía Romero")
    await talk.say("Valencia")
    await talk.say("España")
    await talk.say("Técnica de energía")
    await talk.say(done)  # languages: the platform's language is already ticked
    await talk.say("Europe/Madrid")
    await talk.say("Alumbrado público")
    await talk.say("Fondo rotatorio")
    await talk.say("Subvenciones")
    assert t(locale, "onboarding.practice") in talk.last().text
    await talk.say(skip)
    joined = await officer(runtime)
    assert joined.status == OfficerStatus.ACTIVE
    assert joined.languages == [locale]
    assert (joined.sectors, joined.wants, joined.offers) == (
        ["public_lighting"],
        ["revolving_fund"],
        ["grant"],
    )
    async with UnitOfWork(runtime.sessionmaker) as uow:
        assert (await uow.session.execute(select(GoodPractice))).first() is None
