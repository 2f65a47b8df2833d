"""Dates inside messages carry each language's own preposition, article and word order."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from handlers.core.date_phrases import day_text, moment_text
from handlers.core.i18n import Translator, load_catalogues
from tests.support.paths import REPO_ROOT

T = Translator(load_catalogues(REPO_ROOT / "content" / "messages"))
MOMENT = datetime(2026, 12, 15, 16, 0, tzinfo=UTC)  # 17:00 in Rome, Paris, Berlin and Madrid


@pytest.mark.parametrize(
    ("locale", "key", "expected"),
    [
        ("es", "poll.closes", "Respuestas hasta el martes 15 de diciembre de 2026, 17:00 h."),
        ("it", "poll.closes", "Risposte fino a martedì 15 dicembre 2026, ore 17:00."),
        ("de", "poll.closes", "Antworten bis Dienstag, 15. Dezember 2026, 17:00 Uhr."),
        ("fr", "poll.closes", "Réponses jusqu'au mardi 15 décembre 2026 à 17:00."),
        ("en", "poll.closes", "Answers until Tuesday 15 December 2026 at 17:00."),
        ("es", "poll.closed", "Esta pregunta se cerró el martes 15 de diciembre de 2026, 17:00 h"),
        ("de", "poll.closed", "Diese Frage endete am Dienstag, 15. Dezember 2026, 17:00 Uhr"),
    ],
)
def test_a_date_reads_as_the_language_writes_it(locale: str, key: str, expected: str) -> None:
    when = moment_text(T, locale, MOMENT, "Europe/Rome")
    assert T(locale, key, when=when).startswith(expected)


@pytest.mark.parametrize("locale", ["fr", "de", "es", "it"])
def test_scheduled_announcements_name_the_day_with_the_right_article(locale: str) -> None:
    text = T(
        locale, "broadcast.scheduled", id=3, count=40, when=moment_text(T, locale, MOMENT, "UTC")
    )
    phrase = {
        "fr": "pour le mardi",
        "de": "für Dienstag,",
        "es": "para el martes",
        "it": "per martedì",
    }
    assert phrase[locale] in text


def test_no_moment_is_a_dash_and_a_naive_moment_is_utc() -> None:
    assert moment_text(T, "fr", None, "Europe/Paris") == "—"
    naive = datetime(2026, 12, 15, 16, 0)  # noqa: DTZ001 - SQLite hands back naive UTC
    assert moment_text(T, "en", naive, "Bad/Zone") == "Tuesday 15 December 2026 at 16:00"


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("it", "in pausa fino a martedì 8 dicembre 2026;"),
        ("es", "en pausa hasta el martes 8 de diciembre de 2026;"),
        ("fr", "en pause jusqu'au mardi 8 décembre 2026 ;"),
        ("de", "bis zum Dienstag, 8. Dezember 2026 pausiert"),
    ],
)
def test_a_day_carries_its_weekday_so_no_article_goes_wrong(locale: str, expected: str) -> None:
    assert expected in T(locale, "pause.done_until", date=day_text(T, locale, date(2026, 12, 8)))
