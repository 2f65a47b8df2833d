"""Catalogues and taxonomy labels follow each language's terminology sheet."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from handlers.core.i18n import load_catalogues
from tests.support.paths import REPO_ROOT

CONTENT = REPO_ROOT / "content"
SHEETS = CONTENT / "messages" / "terms"
LOCALES = ["en", "fr", "de", "es", "it"]


def sheet(locale: str) -> dict[str, Any]:
    with (SHEETS / f"{locale}.yaml").open(encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    return data


def texts(locale: str) -> dict[str, str]:
    """Every message of a locale, and its taxonomy labels, by key."""
    catalogue = load_catalogues(CONTENT / "messages")[locale]
    found = {k: v for k, v in catalogue.items() if not k.startswith("typed.")}  # input words
    with (CONTENT / "taxonomy.yaml").open(encoding="utf-8") as fh:
        taxonomy = yaml.safe_load(fh)
    for group, codes in taxonomy.items():
        for code, labels in codes.items():
            if locale in labels:
                found[f"taxonomy.{group}.{code}"] = labels[locale]
    return found


def offences(locale: str, messages: dict[str, str]) -> list[str]:
    found = []
    for rule in sheet(locale).get("forbidden", []):
        pattern = re.compile(rf"(?<!\w)(?:{rule['word']})(?!\w)", re.IGNORECASE)
        for key, text in messages.items():
            for allowed in rule.get("allow", []):
                text = text.replace(allowed, "")
            hit = pattern.search(text)
            if hit:
                found.append(f"{key}: {hit.group(0)!r} (use {rule['use']!r}: {rule['why']})")
    return found


@pytest.mark.parametrize("locale", LOCALES)
def test_a_sheet_names_the_programmes_core_terms(locale: str) -> None:
    terms = sheet(locale)["terms"]
    core = {"pair", "peer", "check-in", "round", "announcement", "good practice", "authority"}
    assert core <= set(terms), core - set(terms)
    for rule in sheet(locale).get("forbidden", []):
        assert {"word", "use", "why"} <= set(rule), rule
        re.compile(rule["word"])


@pytest.mark.parametrize("locale", LOCALES)
def test_no_catalogue_uses_a_word_its_sheet_forbids(locale: str) -> None:
    wrong = offences(locale, texts(locale))
    assert not wrong, f"{locale}: {len(wrong)} forbidden word(s):\n" + "\n".join(wrong)


def test_the_check_catches_a_forbidden_word_and_spares_allowed_expressions() -> None:
    assert offences("es", {"k": "¿Cómo va su pareja con Marie?"})
    assert offences("it", {"k": "Ha già un pari su EPC."})
    assert not offences("it", {"k": "Programma di apprendimento tra pari."})
    assert offences("it", {"k": "Programma"})
    assert offences("de", {"k": "Ihre Behörde"})
    assert not offences("de", {"k": "über welche Verwaltungsbehörde?"})
    assert not offences("es", {"k": "No hay preguntas sin respuesta. ¡Bien hecho!"})
