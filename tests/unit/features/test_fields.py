"""The field rules shared by the chat, the Slack modal and the roster CSV."""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import Runtime
from bot.slack.views import Choices, Texts, read_form
from handlers.officers import fields
from handlers.officers.roster import import_csv, parse_csv
from storage.uow import UnitOfWork
from tests.support.peers import programme

HEADER = "name,email,authority,country,languages,timezone\n"


def test_clean_text_removes_nul_bidi_and_zero_width_and_keeps_every_script() -> None:
    assert fields.clean_text("Ma\x00rie\u202e\u200b Dubois\u2069") == "Marie Dubois"
    assert fields.clean_text("  Ζωή\u00a0Παπαδοπούλου ") == "Ζωή Παπαδοπούλου"
    assert fields.clean_text("\u200b\u200c\u200d\ufeff") == ""


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Czech Republic", "CZ"),
        ("UK", "GB"),
        ("Holland", "NL"),
        ("Polska", "PL"),
        ("France", "FR"),
        ("the Netherlands", "NL"),
        ("Belgique", "BE"),
        ("Deutschland", "DE"),
        ("be", "BE"),
        ("Atlantis", None),
    ],
)
def test_country_names_codes_and_aliases(text: str, code: str | None) -> None:
    assert fields.country_code(text) == code


@pytest.mark.parametrize(
    ("text", "code"),
    [("ru", "ru"), ("French", "fr"), ("English", "en"), ("Polski", "pl"), ("Klingon", None)],
)
def test_any_iso_639_1_language_by_code_or_name(text: str, code: str | None) -> None:
    assert fields.language_code(text) == code


def test_the_time_zone_list_is_scanned_once_for_a_whole_roster(
    monkeypatch: pytest.MonkeyPatch, runtime: Runtime
) -> None:
    calls: list[int] = []
    real = fields.available_timezones

    def counting() -> set[str]:
        calls.append(1)
        return real()

    monkeypatch.setattr(fields, "available_timezones", counting)
    fields._zones.cache_clear()
    body = "".join(f"P{i} Name,p{i}@x.eu,Lyon,FR,fr,Europe/Paris\n" for i in range(50))
    rows, errors = parse_csv(HEADER + body, runtime.content.current.taxonomy)
    assert len(rows) == 50 and errors == []
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("profile", "languages", "programme_languages", "expected"),
    [
        ("de", ["fr"], ["en", "fr"], "de"),  # the profile locale wins
        (None, ["it", "fr"], ["en", "fr"], "fr"),  # first language the programme supports
        (None, ["cs"], ["fr", "en"], "fr"),  # else the programme's default
        (None, [], [], "en"),
    ],
)
def test_an_officers_language(
    profile: str | None, languages: list[str], programme_languages: list[str], expected: str
) -> None:
    assert fields.officer_locale(profile, languages, programme_languages) == expected


def test_the_slack_modal_uses_the_same_rules(runtime: Runtime) -> None:
    content = runtime.content.current
    texts, choices = Texts(content, "en"), Choices.of(content, "en")

    def value(text: str) -> dict[str, Any]:
        return {"a": {"type": "plain_text_input", "value": text}}

    values = {
        "name": value("Ma\u202erie\u200b Dubois"),
        "authority": value("L" * 151),
        "role": value("Energy\x00 manager"),
        "timezone": value("europe/paris"),
    }
    data, errors = read_form(values, texts, choices)
    assert data["name"] == "Marie Dubois" and "name" not in errors
    assert "authority" in errors
    assert data["job_title"] == "Energy manager"
    assert data["timezone"] == "Europe/Paris" and "timezone" not in errors
    too_long = {**values, "name": value("A" * 121)}
    assert "name" in read_form(too_long, texts, choices)[1]


async def test_progress_is_reported_per_batch(runtime: Runtime) -> None:
    home = await programme(runtime)
    seen: list[tuple[int, int]] = []
    body = "".join(f"P{i} Name,p{i}@x.eu,Lyon,FR,fr,\n" for i in range(5))
    async with UnitOfWork(runtime.sessionmaker) as uow:
        report = await import_csv(
            uow,
            HEADER + body,
            runtime.content.current.taxonomy,
            home,
            batch=2,
            progress=lambda done, total: seen.append((done, total)),
        )
    assert report.created == 5
    assert seen == [(2, 5), (4, 5), (5, 5)]
