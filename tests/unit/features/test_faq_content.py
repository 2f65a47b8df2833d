"""Stories about loading FAQ content: good entries load, every problem has a file and a line."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from handlers.faq.content import (
    MAX_RENDERED,
    ContentProblem,
    FaqEntry,
    FaqLoad,
    load_faq,
    render_answer,
)
from tests.support.paths import REPO_ROOT

REAL_FAQ = REPO_ROOT / "content" / "faq"

ELENA = """\
- id: elena-what-is
  question: What is ELENA?
  alternatives: [european local energy assistance]
  answer: ELENA is an EIB facility that pays for project development.
  sectors: [public_buildings, public_lighting]
  instruments: [elena, eu_funds]
  tags: [technical assistance]
  sources:
    - title: EIB ELENA
      url: https://www.eib.org/en/products/advisory-services/elena/index.htm
  lang: en
  reviewed: 2025-01-15
  translations:
    fr:
      question: Qu'est-ce que ELENA ?
      answer: ELENA est un dispositif de la BEI.
"""

FUND = """\
- id: revolving-fund-what-is
  question: What is a revolving fund?
  alternatives: []
  answer: A fund whose savings repay the loans so the money can be lent again.
  sectors: [public_buildings]
  instruments: [revolving_fund]
  tags: []
  sources: []
  reviewed: 2025-02-01
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def lines_of(load: FaqLoad, needle: str) -> list[ContentProblem]:
    return [p for p in load.problems if needle in p.message]


def test_good_entries_load_without_problems(tmp_path: Path) -> None:
    write(tmp_path, "elena.yaml", ELENA)
    write(tmp_path, "funds.yaml", FUND)
    load = load_faq(tmp_path)
    assert load.problems == []
    assert [e.id for e in load.entries] == ["elena-what-is", "revolving-fund-what-is"]
    assert load.entries[0].translations["fr"].question == "Qu'est-ce que ELENA ?"


def test_broken_yaml_reports_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "elena.yaml", ELENA)
    bad = write(tmp_path, "broken.yaml", FUND + "- id: oops\n  question: [never closed\n")
    load = load_faq(tmp_path)
    assert len(load.problems) == 1
    problem = load.problems[0]
    assert problem.file == str(bad)
    assert problem.line in (11, 12)  # the unclosed flow sequence, reported where yaml stops
    assert "YAML syntax" in problem.message
    assert [e.id for e in load.entries] == ["elena-what-is"]  # the other file still loads


def test_unknown_code_is_reported_at_its_line_and_extra_codes_accept_it(tmp_path: Path) -> None:
    write(tmp_path, "elena.yaml", ELENA.replace("[elena, eu_funds]", "[elena, heat_pumps]"))
    load = load_faq(tmp_path)
    assert [(p.line, "heat_pumps" in p.message) for p in load.problems] == [(6, True)]
    assert load.entries == []
    assert load_faq(tmp_path, extra_codes=frozenset({"heat_pumps"})).problems == []


def test_too_long_answer_missing_field_and_bad_url_each_have_a_line(tmp_path: Path) -> None:
    long_answer = FUND.replace("A fund whose", "A fund " + "very " * 260 + "whose")
    no_question = ELENA.replace("  question: What is ELENA?\n", "")
    bad_url = ELENA.replace("https://www.eib.org", "www.eib.org").replace("elena-", "elena2-")
    write(tmp_path, "a_long.yaml", long_answer)
    write(tmp_path, "b_missing.yaml", no_question)
    write(tmp_path, "c_url.yaml", bad_url)
    load = load_faq(tmp_path)
    found = {(Path(p.file).name, p.line) for p in load.problems}
    assert ("a_long.yaml", 4) in found  # the answer key
    assert ("b_missing.yaml", 1) in found  # the entry that lacks the question
    assert ("c_url.yaml", 10) in found  # the url key of the first source
    assert any("question" in p.message and "required" in p.message for p in load.problems)
    assert any("1199 characters" in p.message for p in load.problems)
    assert load.entries == []


def test_duplicate_id_names_both_places(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", ELENA)
    second = write(tmp_path, "b.yaml", FUND + ELENA)
    load = load_faq(tmp_path)
    [dup] = lines_of(load, "duplicate id")
    assert dup.file == str(second)
    assert dup.line == 10  # the id line of the second definition
    assert f"{first}:1" in dup.message
    assert sorted(e.id for e in load.entries) == ["elena-what-is", "revolving-fund-what-is"]


def test_good_entries_are_kept_when_one_is_broken(tmp_path: Path) -> None:
    broken = FUND.replace("revolving-fund-what-is", "Bad Id!").replace("  tags: []\n", "")
    write(tmp_path, "mixed.yaml", ELENA + broken + FUND.replace("revolving-fund", "fund"))
    load = load_faq(tmp_path)
    assert [e.id for e in load.entries] == ["elena-what-is", "fund-what-is"]
    assert {p.line for p in load.problems} == {17}  # the bad id and the missing tags
    assert len(load.problems) == 2


def test_extra_key_and_translation_without_answer_are_reported(tmp_path: Path) -> None:
    text = ELENA.replace("  lang: en\n", "  lang: en\n  colour: blue\n")
    text = text.replace("      answer: ELENA est un dispositif de la BEI.\n", "")
    write(tmp_path, "e.yaml", text)
    load = load_faq(tmp_path)
    messages = {p.line: p.message for p in load.problems}
    assert "colour" in messages[12]
    assert "translations.fr.answer" in messages[15]  # the fr: key lacking its answer


def test_synonyms_and_stopwords_are_loaded_and_checked(tmp_path: Path) -> None:
    write(tmp_path, "elena.yaml", ELENA)
    write(tmp_path, "synonyms.yaml", "epc: [CPE, energy performance contract]\nesco: esco\n")
    write(tmp_path, "stopwords.yaml", "en: [what, is]\nfr: [le, la]\nENGLISH: [x]\n")
    load = load_faq(tmp_path)
    assert load.synonyms == {"epc": ["CPE", "energy performance contract"]}
    assert load.stopwords == {"en": ["what", "is"], "fr": ["le", "la"]}
    assert {(Path(p.file).name, p.line) for p in load.problems} == {
        ("synonyms.yaml", 2),
        ("stopwords.yaml", 3),
    }
    assert len(load.entries) == 1


def test_text_for_falls_back_to_english_and_render_lists_sources(tmp_path: Path) -> None:
    write(tmp_path, "elena.yaml", ELENA)
    [entry] = load_faq(tmp_path).entries
    assert entry.text_for("fr") == ("Qu'est-ce que ELENA ?", "ELENA est un dispositif de la BEI.")
    assert entry.text_for("de") == (entry.question, entry.answer)
    text = render_answer(entry, "en")
    assert text.startswith(entry.answer)
    assert "Read more:" in text
    assert "EIB ELENA: https://www.eib.org/" in text


def test_render_answer_stays_under_the_limit(tmp_path: Path) -> None:
    write(tmp_path, "elena.yaml", ELENA)
    [entry] = load_faq(tmp_path).entries
    many = [{"title": f"Source {i} " + "x" * 200, "url": f"https://e.eu/{i}"} for i in range(20)]
    fat = FaqEntry.model_validate({**entry.model_dump(), "answer": "y" * 1199, "sources": many})
    text = render_answer(fat, "en")
    assert len(text) < MAX_RENDERED
    assert "Source 0" in text


def test_missing_folder_is_a_problem_not_an_exception(tmp_path: Path) -> None:
    load = load_faq(tmp_path / "nope")
    assert load.entries == []
    assert len(load.problems) == 1


def test_real_content_loads_cleanly() -> None:
    topic_files = [
        p for p in REAL_FAQ.glob("*.yaml") if p.name not in ("synonyms.yaml", "stopwords.yaml")
    ]
    if not topic_files:
        pytest.skip("content/faq has no entries yet")
    load = load_faq(REAL_FAQ)
    assert [str(p) for p in load.problems] == []
    assert len(load.entries) >= 60


TRANSLATIONS_FR = """\
# French texts of elena.yaml
elena-what-is:
  question: Qu'est-ce que ELENA ?
  alternatives: [assistance énergétique locale européenne]
  answer: ELENA est un dispositif de la BEI qui finance la préparation des projets.
no-such-entry:
  question: Fantôme ?
  answer: Rien.
"""


def test_translation_files_merge_into_entries_and_report_problems(tmp_path: Path) -> None:
    write(tmp_path, "funds.yaml", FUND)
    write(tmp_path, "elena.yaml", ELENA.split("  translations:")[0])
    (tmp_path / "translations" / "fr").mkdir(parents=True)
    (tmp_path / "translations" / "de").mkdir()
    (tmp_path / "translations" / "French").mkdir()
    fr = write(tmp_path / "translations" / "fr", "elena.yaml", TRANSLATIONS_FR)
    de = write(
        tmp_path / "translations" / "de",
        "funds.yaml",
        "revolving-fund-what-is:\n  question: Was ist ein revolvierender Fonds?\n",
    )
    load = load_faq(tmp_path)
    elena = next(e for e in load.entries if e.id == "elena-what-is")
    assert elena.translations["fr"].alternatives == ["assistance énergétique locale européenne"]
    assert elena.languages() == ["en", "fr"]
    fund = next(e for e in load.entries if e.id == "revolving-fund-what-is")
    assert fund.translations == {}  # the German item lacks its answer: reported, not merged
    where = {(p.file, p.line): p.message for p in load.problems}
    assert "unknown entry id 'no-such-entry'" in where[(str(fr), 6)]
    assert "answer" in where[(str(de), 2)]
    assert any("ISO 639-1" in p.message for p in load.problems)
    assert len(load.problems) == 3


def test_a_translation_given_twice_is_reported_once_and_the_first_kept(tmp_path: Path) -> None:
    write(tmp_path, "elena.yaml", ELENA)  # has an inline French translation
    (tmp_path / "translations" / "fr").mkdir(parents=True)
    write(tmp_path / "translations" / "fr", "a.yaml", TRANSLATIONS_FR.split("no-such")[0])
    load = load_faq(tmp_path)
    [problem] = load.problems
    assert "already given in the entry itself" in problem.message
    assert load.entries[0].translations["fr"].answer == "ELENA est un dispositif de la BEI."


def test_the_answer_language_is_the_locale_then_the_question_language_then_english(
    tmp_path: Path,
) -> None:
    write(tmp_path, "elena.yaml", ELENA)
    [entry] = load_faq(tmp_path).entries
    assert entry.answer_lang("fr", "de") == "fr"
    assert entry.answer_lang("it", "fr") == "fr"
    assert entry.answer_lang("it", "de") == "en"
    assert entry.answer_lang(None, None) == "en"
    text = render_answer(entry, "it")
    assert text.startswith("Questa risposta non è ancora tradotta in italiano")
    assert entry.answer in text and "Per saperne di più:" in text
    assert not render_answer(entry, "fr").startswith("Cette réponse")


def _numbers(text: str) -> Counter[str]:
    return Counter(re.findall(r"\d+", text))


# Figures written differently on purpose: 26.2 billion = 26 200 millones (Spanish usage).
NUMBER_EXCEPTIONS = {("investeu", "es")}


def test_every_real_entry_reads_in_the_five_languages_with_its_figures_and_sources() -> None:
    """Each translation keeps every figure of the English answer and is not a short summary."""
    load = load_faq(REAL_FAQ)
    assert [str(p) for p in load.problems] == []
    for entry in load.entries:
        assert set(entry.translations) >= {"fr", "de", "es", "it"}, entry.id
        for lang, tr in entry.translations.items():
            if (entry.id, lang) not in NUMBER_EXCEPTIONS:
                missing = _numbers(entry.answer) - _numbers(tr.answer)
                assert not missing, (entry.id, lang, dict(missing))
            assert len(tr.answer) >= 0.9 * len(entry.answer), (entry.id, lang)
            rendered = render_answer(entry, lang)
            assert all(src.url in rendered for src in entry.sources[:1]), (entry.id, lang)


def test_crowdlending_is_not_called_pret_participatif() -> None:
    """« Prêt participatif » is a French quasi-equity loan, not lending by the crowd."""
    load = load_faq(REAL_FAQ)
    variants = [v.casefold() for v in load.synonyms.get("crowdlending", [])]
    assert "pret participatif" not in variants
    for entry in load.entries:
        fr = entry.translations.get("fr")
        if fr is not None and "crowdlending" in entry.answer.casefold():
            assert "prêt participatif" not in fr.answer.casefold(), entry.id


def test_sibling_groups_need_known_entries_and_the_five_languages(tmp_path: Path) -> None:
    write(tmp_path, "elena.yaml", ELENA)
    write(tmp_path, "funds.yaml", FUND)
    ask = "{en: A?, fr: B ?, de: C?, es: ¿D?, it: E?}"
    write(
        tmp_path,
        "siblings.yaml",
        f"- entries: [elena-what-is, revolving-fund-what-is]\n  ask: {ask}\n"
        f"- entries: [elena-what-is, nope]\n  ask: {ask}\n"
        "- entries: [elena-what-is, revolving-fund-what-is]\n  ask: {en: A?}\n",
    )
    load = load_faq(tmp_path)
    assert [g.entries for g in load.siblings] == [["elena-what-is", "revolving-fund-what-is"]]
    assert [(p.line, p.message) for p in load.problems] == [
        (3, "siblings: unknown entries ['nope']"),
        (5, "siblings: no question in ['fr', 'de', 'es', 'it']"),
    ]
