"""Reasons of a pair are data, worded in each reader's language with the taxonomy's labels."""

from __future__ import annotations

import pytest

from handlers.core.i18n import Translator, load_catalogues
from handlers.core.taxonomy import Taxonomy
from handlers.pairing.reasons import KINDS, Reason, reasons_json, render_reason, render_reasons
from tests.support.paths import REPO_ROOT

CONTENT = REPO_ROOT / "content"
T = Translator(load_catalogues(CONTENT / "messages"))
TAX = Taxonomy.load(CONTENT / "taxonomy.yaml")

EXAMPLES = [
    Reason("practice", {"authority": "Gent", "title": "LED-Straßenbeleuchtung", "year": 2019}),
    Reason("practice", {"authority": "Gent", "title": "LED-Straßenbeleuchtung", "year": None}),
    Reason("experience", {"instrument": "revolving_fund"}),
    Reason("sectors", {"sectors": ["public_lighting", "mobility"]}),
    Reason("also_knows", {"instruments": ["eu_funds", "on_bill"]}),
    Reason("cross_border", {"learner": "IT", "mentor": "BE"}),
    Reason("similar_size", {"learner": 120000, "mentor": 95000}),
    Reason("languages", {"languages": ["en", "fr"]}),
    Reason("languages", {"languages": ["de"]}),
]


def test_every_kind_has_an_example() -> None:
    assert {r.kind for r in EXAMPLES} == set(KINDS)


def test_reasons_read_in_spanish_with_labels_names_and_local_numbers() -> None:
    text = render_reasons(T, TAX, "es", EXAMPLES)
    assert text[2] == "Experiencia que puede compartir: Fondo rotatorio"
    assert text[3] == "Sectores en común: Alumbrado público y movilidad limpia"
    assert text[5] == "Intercambio transfronterizo: Italia → Bélgica"
    assert text[6] == "Tamaño similar: 120.000 y 95.000 habitantes"
    assert text[7] == "Idiomas comunes: inglés y francés"
    assert text[8] == "Idioma común: alemán"


def test_reasons_read_in_english_without_codes() -> None:
    text = render_reasons(T, TAX, "en", EXAMPLES)
    assert text[0] == "Gent ran 'LED-Straßenbeleuchtung' (2019)"
    assert text[1] == "Gent ran 'LED-Straßenbeleuchtung'"
    assert text[4] == "Other topics to explore together: EU funds and on-bill financing"
    assert text[6] == "Similar size: 120,000 and 95,000 inhabitants"


@pytest.mark.parametrize("locale", ["en", "fr", "de", "es", "it"])
def test_no_reason_shows_a_code_or_an_unfilled_field(locale: str) -> None:
    for text in render_reasons(T, TAX, locale, EXAMPLES):
        assert "{" not in text
        assert not any(c in text for c in ("revolving_fund", "public_lighting", "eu_funds")), text
        assert " en, fr" not in text


def test_stored_reasons_round_trip_and_old_plain_text_still_shows() -> None:
    stored = reasons_json(EXAMPLES)
    assert [Reason.from_json(r) for r in stored] == EXAMPLES
    assert render_reason(T, TAX, "fr", stored[2]) == "Expérience à partager : Fonds renouvelable"
    assert render_reason(T, TAX, "fr", "speaks en") == "speaks en"
