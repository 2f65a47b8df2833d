"""Stories about FAQ search on a small made-up FAQ (the real wording may change)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from handlers.faq import search as faq_search
from handlers.faq.content import load_faq
from handlers.faq.search import (
    FaqIndex,
    Thresholds,
    baseline_search,
    calibrate,
    decide,
    evaluate,
    fold,
)
from tests.support.paths import REPO_ROOT


def entry(
    id_: str,
    question: str,
    alternatives: list[str],
    instruments: list[str],
    tags: list[str] | None = None,
    translations: dict[str, Any] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": id_,
        "question": question,
        "alternatives": alternatives,
        "answer": f"Answer to: {question}",
        "sectors": ["public_buildings"],
        "instruments": instruments,
        "tags": tags or [],
        "sources": [{"title": "Guide", "url": "https://example.eu/guide"}],
        "lang": "en",
        "reviewed": "2025-03-01",
    }
    if translations:
        data["translations"] = translations
    return data


ENTRIES = [
    entry(
        "elena-what-is",
        "What is ELENA?",
        ["european local energy assistance explained", "EIB technical assistance facility"],
        ["elena", "eu_funds"],
        ["technical assistance"],
        {
            "fr": {"question": "Qu'est-ce que ELENA ?", "answer": "ELENA est un dispositif."},
            "de": {"question": "Was ist ELENA?", "answer": "ELENA ist eine Fazilität."},
        },
    ),
    entry(
        "elena-apply",
        "How do we apply for ELENA funding?",
        ["ELENA application process", "minimum investment size for ELENA"],
        ["elena"],
        ["application"],
    ),
    entry(
        "epc-what-is",
        "What is an energy performance contract?",
        ["pay a retrofit from the energy savings", "guaranteed savings contract"],
        ["epc", "esco"],
        ["savings guarantee"],
        {"fr": {"question": "Qu'est-ce qu'un contrat de performance énergétique ?", "answer": "x"}},
    ),
    entry(
        "epc-street-lighting",
        "Can we use an energy performance contract for street lighting?",
        ["LED street lights with an ESCO"],
        ["epc"],
        ["lighting"],
    ),
    entry(
        "revolving-fund-what-is",
        "What is a revolving fund for energy efficiency?",
        ["fund repaid by the savings and lent again"],
        ["revolving_fund"],
    ),
    entry(
        "green-bond-issue",
        "How does a city issue a green bond?",
        ["steps to issue a municipal green bond", "green bond framework"],
        ["green_bond"],
    ),
    entry(
        "school-retrofit-finance",
        "How can we finance deep retrofits of school buildings?",
        ["paying for school renovation works"],
        ["soft_loan"],
    ),
    entry(
        "school-renovation-finance",
        "How can we finance deep renovation of school buildings?",
        ["money for refurbishing schools"],
        ["grant"],
    ),
    entry(
        "crowdfunding-citizens",
        "Can citizens invest in our solar roofs through crowdfunding?",
        ["citizen investment platform for municipal projects"],
        ["crowdfunding", "energy_cooperative"],
    ),
]

SYNONYMS = {
    "epc": ["energy performance contract", "CPE", "contrat de performance énergétique"],
    "elena": ["european local energy assistance"],
    "retrofit": ["renovation", "refurbishment"],
}
STOPWORDS = {"en": ["what", "is", "the", "how", "do", "we", "can", "a", "for"]}


@pytest.fixture
def index(tmp_path: Path) -> FaqIndex:
    (tmp_path / "faq.yaml").write_text(yaml.safe_dump(ENTRIES, allow_unicode=True), "utf-8")
    (tmp_path / "synonyms.yaml").write_text(yaml.safe_dump(SYNONYMS, allow_unicode=True), "utf-8")
    (tmp_path / "stopwords.yaml").write_text(yaml.safe_dump(STOPWORDS), "utf-8")
    load = load_faq(tmp_path)
    assert load.problems == []
    return FaqIndex.build(load)


def test_normalisation_folds_case_accents_and_punctuation() -> None:
    assert fold("  Qu'est-ce qu'un CPE ?  Énergétique!! ") == "qu est ce qu un cpe energetique"


def test_what_is_elena_answers(index: FaqIndex) -> None:
    result = index.search("What is ELENA?")
    assert result.status == "answer"
    assert result.best is not None
    assert result.best.entry_id == "elena-what-is"
    assert result.best.lang == "en"


def test_what_is_elena_in_french_and_german_answers_in_that_language(index: FaqIndex) -> None:
    fr = index.search("qu'est-ce que c'est, ELENA ?")
    assert fr.status == "answer"
    assert fr.best is not None
    assert (fr.best.entry_id, fr.best.lang) == ("elena-what-is", "fr")
    assert fr.best.question == "Qu'est-ce que ELENA ?"
    de = index.search("Was ist eigentlich ELENA?")
    assert de.best is not None
    assert (de.best.entry_id, de.best.lang) == ("elena-what-is", "de")
    assert de.best.question == "Was ist ELENA?"


def test_asked_language_is_used_for_the_question_when_translated(index: FaqIndex) -> None:
    result = index.search("what is ELENA", lang="de")
    assert result.best is not None
    assert result.best.question == "Was ist ELENA?"
    untranslated = index.search("How do we apply for ELENA funding?", lang="de")
    assert untranslated.best is not None
    assert (untranslated.best.entry_id, untranslated.best.lang) == ("elena-apply", "en")


CHATTER = ["thanks", "hi", "Thanks!!", "👍", "", "what's the weather tomorrow"]


@pytest.mark.parametrize("chatter", CHATTER)
def test_small_talk_and_off_topic_are_unknown(index: FaqIndex, chatter: str) -> None:
    result = index.search(chatter)
    assert result.status == "unknown"
    assert result.best is None
    assert result.suggestions == []


def test_a_lone_acronym_is_searched_and_synonyms_map_it(index: FaqIndex) -> None:
    elena = index.search("elena")
    assert elena.best is not None
    assert elena.best.entry_id == "elena-what-is"
    cpe = index.search("CPE")
    assert cpe.status in ("answer", "suggest")
    assert cpe.best is not None
    assert cpe.best.entry_id == "epc-what-is"
    spelled = index.search("what does energy performance contract mean")
    assert spelled.best is not None
    assert spelled.best.entry_id == "epc-what-is"


def test_typos_and_reordered_words_still_match(index: FaqIndex) -> None:
    result = index.search("issuing green bonds as a city, how?")
    assert result.best is not None
    assert result.best.entry_id == "green-bond-issue"
    typo = index.search("revolvng fund for energy efficency")
    assert typo.best is not None
    assert typo.best.entry_id == "revolving-fund-what-is"


def test_did_you_mean_when_two_entries_are_close(index: FaqIndex) -> None:
    result = index.search("financing deep retrofit of school buildings")
    assert result.status == "suggest"
    ids = [h.entry_id for h in result.suggestions]
    assert set(ids[:2]) == {"school-retrofit-finance", "school-renovation-finance"}
    assert result.best == result.suggestions[0]
    assert len(result.suggestions) <= 3


def test_decision_rule_uses_thresholds_and_margin(index: FaqIndex) -> None:
    hits = index.rank("How do we apply for ELENA funding?", k=3)
    assert hits[0].entry_id == "elena-apply"
    assert decide(hits, Thresholds(answer=101, suggest=10, margin=0)).status == "suggest"
    assert decide(hits, Thresholds(answer=10, suggest=10, margin=0)).status == "answer"
    assert decide(hits, Thresholds(answer=10, suggest=10, margin=99)).status == "suggest"
    assert decide(hits, Thresholds(answer=101, suggest=101, margin=0)).status == "unknown"
    strict = index.with_thresholds(Thresholds(answer=101, suggest=101, margin=0))
    assert strict.search("How do we apply for ELENA funding?").status == "unknown"


def test_related_entries_share_instruments(index: FaqIndex) -> None:
    related = index.related("elena-what-is", k=2)
    assert related[0].entry_id == "elena-apply"  # shares an instrument; others a sector
    assert len(related) == 2
    assert [h.entry_id for h in index.related("epc-what-is")][0] == "epc-street-lighting"
    assert index.related("nope") == []
    assert index.get("epc-what-is") is not None
    assert index.get("nope") is None


def test_evaluate_and_calibrate_on_a_tiny_dev_set(index: FaqIndex) -> None:
    rows: list[tuple[str, str | None]] = [
        ("what is ELENA", "elena-what-is"),
        ("elena application", "elena-apply"),
        ("guaranteed savings contract meaning", "epc-what-is"),
        ("street lights with an esco", "epc-street-lighting"),
        ("who won the football match", None),
        ("book me a train to Brussels", None),
    ]
    report = evaluate(index, rows)
    assert report.n == 6
    assert 0.0 <= report.top1 <= report.top3 <= 1.0
    assert report.refused_offtopic == 1.0
    assert report.p50_ms <= report.p95_ms
    cal = calibrate(index, rows)
    assert cal.refused_offtopic >= 0.95
    assert cal.top1 == 1.0
    assert cal.thresholds.suggest <= cal.thresholds.answer
    base = evaluate(index, rows, search=lambda q: baseline_search(index, q))
    assert base.n == 6


def test_baseline_finds_an_exact_question(index: FaqIndex) -> None:
    result = baseline_search(index, "How does a city issue a green bond?")
    assert result.status == "answer"
    assert result.best is not None
    assert result.best.entry_id == "green-bond-issue"


def test_a_long_chatty_question_gets_the_length_bonus_without_changing_the_ranking(
    index: FaqIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    chatty = (
        "Dear colleagues, I am new in my job at the regional energy agency and my director "
        "asked me to find out what ELENA technical assistance is and whether we could apply"
    )
    words = len(set(index.norm.tokens(chatty)))
    bonus = faq_search.LENGTH_BONUS * max(0, words - faq_search.LENGTH_FREE)
    assert bonus > 0
    with_bonus = index.rank(chatty)
    monkeypatch.setattr(faq_search, "LENGTH_BONUS", 0.0)
    without = index.rank(chatty)
    assert [h.entry_id for h in with_bonus] == [h.entry_id for h in without]
    assert with_bonus[0].score == pytest.approx(min(without[0].score + bonus, 100.0), abs=0.02)
    monkeypatch.undo()
    found = index.search(chatty)
    assert found.status != "unknown" and found.best is not None
    assert found.best.entry_id == "elena-what-is"


REAL_FAQ = REPO_ROOT / "content" / "faq"


@pytest.fixture(scope="module")
def real_index() -> FaqIndex:
    return FaqIndex.build(load_faq(REAL_FAQ))


@pytest.mark.parametrize(
    ("question", "lang"),
    [
        ("kan ik crowdfunding gebruiken", "nl"),
        ("what is an ESCO", "en"),
        ("czy gmina może wyemitować zielone obligacje", "pl"),
        ("o que é um contrato de desempenho energético", "pt"),
        ("qué es un fondo rotatorio", "es"),
        ("Wie funktioniert ein revolvierender Fonds?", "de"),
    ],
)
def test_the_question_language_is_detected_offline(
    real_index: FaqIndex, question: str, lang: str
) -> None:
    assert real_index.detect(question, fallback="fr") == lang
    assert real_index.search(question).lang == lang


def test_without_evidence_the_language_falls_back_to_the_officers_locale(
    real_index: FaqIndex,
) -> None:
    assert real_index.detect("ELENA", fallback="it") == "it"
    assert real_index.detect("", fallback="de") == "de"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("wat is een energieprestatiecontract", "epc-what-is"),
        ("kan ik crowdfunding gebruiken", "crowdfunding-what-is"),
        ("czy gmina może wyemitować zielone obligacje", "green-bond-what-is"),
        ("co to jest fundusz odnawialny", "revolving-fund-what-is"),
        ("o que é um fundo rotativo", "revolving-fund-what-is"),
    ],
)
def test_the_glossary_lets_dutch_polish_and_portuguese_questions_find_their_entry(
    real_index: FaqIndex, question: str, expected: str
) -> None:
    hits = real_index.rank(question, k=3)
    assert hits and hits[0].entry_id == expected


def test_stemming_follows_the_language_of_the_text() -> None:
    norm = faq_search.Normaliser({"epc": ["energy performance contract"]}, {})
    assert norm.tokens("financements des rénovations", "fr") == ["financ", "renov"]
    assert norm.tokens("Finanzierungen", "de") == ["finanzier"]
    # a glossary/synonym phrase is mapped before stemming, whatever the language
    assert norm.tokens("energy performance contracts", "nl") == ["epc"]


def test_a_glossary_term_claimed_by_two_concepts_is_reported(tmp_path: Path) -> None:
    (tmp_path / "synonyms.yaml").write_text("epc: [cpe]\n", encoding="utf-8")
    (tmp_path / "glossary.yaml").write_text(
        "esco:\n"
        "  sources: [{title: EED, url: 'https://eur-lex.europa.eu/eli/dir/2023/1791/oj'}]\n"
        "  terms:\n"
        "    fr: [société de services énergétiques, CPE]\n"
        "bad:\n"
        "  terms: {nl: [iets]}\n",
        encoding="utf-8",
    )
    load = load_faq(tmp_path)
    messages = sorted((p.line, p.message) for p in load.problems)
    assert messages[0][0] == 4 and "'CPE' (fr) is already a term of 'epc'" in messages[0][1]
    assert "sources" in messages[1][1]
    assert load.synonyms["esco"] == ["société de services énergétiques"]
    assert load.glossary["esco"]["fr"] == ["société de services énergétiques", "CPE"]


@pytest.mark.parametrize(
    ("question", "term", "expected"),
    [
        ("revolvng fund", "revolv_fund", "revolving-fund-what-is"),
        ("obligaton verte pour une ville", "green_bond", None),
        ("zielone oblgacje dla gminy", "green_bond", None),
        ("fundusz odnawialy efektywnosc energetyczna", "revolv_fund", "revolving-fund-what-is"),
        ("grean bond how does it work for a municipality", "green_bond", None),
        # two misspelt words of one term, one of them three letters long
        ("waht is a revolfing fnd and how dose it wrk", "revolv_fund", "revolving-fund-what-is"),
    ],
)
def test_a_misspelt_glossary_term_is_read_when_the_whole_term_then_matches(
    real_index: FaqIndex, question: str, term: str, expected: str | None
) -> None:
    assert term in real_index.norm.tokens(question, typos=True)
    assert term not in real_index.norm.tokens(question)  # index strings are never corrected
    best = real_index.rank(question, k=1)[0].entry_id
    assert best == expected if expected else best.startswith("green-bond")


def test_a_misspelt_word_outside_any_term_stays_as_written(real_index: FaqIndex) -> None:
    norm = real_index.norm
    # "grean" alone is close to "green" and "grant" but confirms no term; "granite" is no grant
    assert norm.tokens("grean", typos=True) == norm.tokens("grean")
    assert "grant" not in norm.tokens("a granite quarry for the town hall", typos=True)
    # a word of the index strings is never read as a typo
    assert norm.tokens("renovation loans", typos=True) == norm.tokens("renovation loans")


def test_the_suggest_threshold_refuses_the_off_topic_rows_of_every_language() -> None:
    def row(score: float, label: str | None) -> tuple[list[faq_search.Hit], str | None]:
        return [faq_search.Hit("a", "", score, "en"), faq_search.Hit("b", "", 10.0, "en")], label

    # English off-topic rows: 2 of 20 score 60; French ones all 30; on-topic rows score 70.
    ranked = [row(60.0 if i < 2 else 40.0, None) for i in range(20)]
    ranked += [row(30.0, None) for _ in range(40)] + [row(70.0, "a") for _ in range(30)]
    groups = ["en"] * 20 + ["fr"] * 40 + ["en"] * 30
    pooled = faq_search.fit_thresholds(ranked)
    assert pooled.suggest <= 60.0  # 58 of 60 refused pooled is enough...
    per_language = faq_search.fit_thresholds(ranked, groups)
    assert 60.0 < per_language.suggest <= 70.0  # ...but English alone refuses only 18 of 20


def test_a_question_without_content_words_is_matched_whole(tmp_path: Path) -> None:
    helper = entry(
        "bot-help", "What can this bot do for me?", ["what can you do for me", "help"], []
    )
    (tmp_path / "faq.yaml").write_text(yaml.safe_dump([*ENTRIES, helper]), "utf-8")
    words = "what can you do for me is it this time are there how thank very much the a"
    (tmp_path / "stopwords.yaml").write_text(yaml.safe_dump({"en": words.split()}), "utf-8")
    index = FaqIndex.build(load_faq(tmp_path))
    assert index.entry_scores("what can you do?")[2] is None  # nothing left to score by words
    result = index.search("What can you do?")
    assert result.status == "answer"
    assert result.best is not None
    assert result.best.entry_id == "bot-help"
    for chatter in ("what time is it", "thank you very much", "how are you", "hi"):
        assert index.search(chatter).status == "unknown", chatter


def test_a_stop_word_of_another_language_stays_where_the_faq_writes_it_as_a_word(
    tmp_path: Path,
) -> None:
    eu = entry("eu-funds", "Which EU funds pay for renovation?", ["EU money for schools"], [])
    (tmp_path / "faq.yaml").write_text(yaml.safe_dump([*ENTRIES, eu]), "utf-8")
    # "eu" is Portuguese for "I": a stop word there, a content word in English
    stop = {"en": ["which", "for", "the"], "pt": ["eu", "o", "que"]}
    (tmp_path / "stopwords.yaml").write_text(yaml.safe_dump(stop), "utf-8")
    norm = FaqIndex.build(load_faq(tmp_path)).norm
    assert "eu" in norm.tokens("eu money for schools", "en")
    assert "eu" not in norm.tokens("eu quero um empréstimo", "pt")
    assert "que" in norm.stop_for("en")  # one the FAQ never writes stays dropped everywhere
    assert "the" not in norm.tokens("the EU funds", "pt")  # nobody writes "the" as a word


def test_an_entry_lacking_the_questions_key_term_loses_to_one_naming_it(index: FaqIndex) -> None:
    import numpy as np

    tokens = index.norm.tokens("elena for schools", "en")
    assert "elen" in tokens or "elena" in tokens
    ids = [e.id for e in index.entries]
    # the same words and meaning score for the ELENA entry and the school entry...
    lexical = np.full(len(ids), 50.0)
    meaning = np.full(len(ids), 0.5)
    plain = index.combine(tokens, lexical, meaning, 0.5, key_miss=0.0, define_boost=0.0)
    assert plain[ids.index("elena-apply")] == plain[ids.index("school-retrofit-finance")]
    # ...but only the ELENA entry names ELENA
    scores = index.combine(tokens, lexical, meaning, 0.5, key_miss=6.0, define_boost=0.0)
    assert scores[ids.index("elena-apply")] > scores[ids.index("school-retrofit-finance")]


def test_a_question_of_key_terms_only_prefers_the_entry_that_defines_them(index: FaqIndex) -> None:
    import numpy as np

    ids = [e.id for e in index.entries]
    lexical = np.full(len(ids), 50.0)
    meaning = np.full(len(ids), 0.5)
    for question in ("ELENA?", "what does elena do"):
        tokens = index.norm.tokens(question, "en")
        scores = index.combine(tokens, lexical, meaning, 0.5, key_miss=0.0, define_boost=4.0)
        assert scores[ids.index("elena-what-is")] == scores[ids.index("elena-apply")] + 4.0
    # a question with other words ("apply") is not asking what ELENA is
    tokens = index.norm.tokens("apply for elena", "en")
    scores = index.combine(tokens, lexical, meaning, 0.5, key_miss=0.0, define_boost=4.0)
    assert scores[ids.index("elena-what-is")] == scores[ids.index("elena-apply")]


def test_an_acronym_in_capitals_is_kept_whole_unless_it_is_a_term(real_index: FaqIndex) -> None:
    norm = real_index.norm
    # PAYS (pay-as-you-save) is not the verb "pays", which is stemmed to "pay"
    assert "pays" in norm.tokens("how does PAYS work", "en")
    assert "pays" not in norm.tokens("who pays for the works", "en")
    assert "pay" in norm.tokens("who pays for the works", "en")
    # an acronym whose stem is a term of its own still maps to that term
    assert norm.tokens("ESCOS", "en") == norm.tokens("escos", "en") == ["esco"]
    # a question written all in capitals has no acronyms: its words are stemmed as usual
    assert norm.tokens("WHO PAYS FOR THE WORKS", "en") == norm.tokens(
        "who pays for the works", "en"
    )
    # the index keeps the acronym too, so the question finds the entry that names it (read as
    # "pay", it went to the EPC entry, whose strings say the company is paid from the savings)
    assert real_index.rank("how does PAYS work", k=1)[0].entry_id == "pay-as-you-save"
    assert real_index.rank("PAYS for homeowners", k=1)[0].entry_id == "pay-as-you-save"
