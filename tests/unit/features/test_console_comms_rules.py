"""The pure parts behind the console's communication pages: grouping unanswered questions
with the FAQ matcher's normalisation, the channel rules of a programme, a practice's edit
rules, a survey's question rules, the answers' CSV and the bar-chart geometry."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest

from bot.web.console.charts import BAR_SPACE, bar_chart
from handlers.announcements.service import SurveyProblem, results_csv, survey_poll
from handlers.core.content import Content, load_content
from handlers.faq.content import faq_index
from handlers.faq.grouping import Asked, group_questions
from handlers.faq.service import answer_for
from handlers.practices.service import PracticeForm, PracticeProblem, check_practice
from handlers.programmes import rules
from tests.conftest import CONTENT


@pytest.fixture(scope="module")
def content() -> Content:
    return load_content(CONTENT)


def test_questions_that_ask_the_same_thing_are_grouped(content: Content) -> None:
    asked = [
        Asked(1, "What is ELENA?", "en"),
        Asked(2, "How do I finance LED street lighting?", "en"),
        Asked(3, "what's ELENA", None),
        Asked(4, "Who can apply for ELENA funding?", "en"),
        Asked(5, "financing LED streetlights", "en"),
        Asked(6, "Qu'est-ce que ELENA ?", "fr"),
        Asked(7, "energy performance contract", "en"),
        Asked(8, "What is EPC?", "en"),  # the glossary maps EPC and its long name to one token
        Asked(9, "?!", None),
        Asked(10, "??", None),
    ]
    assert group_questions(asked, faq_index(content).norm) == [
        [1, 3, 6],
        [2, 5],
        [4],
        [7, 8],
        [9],
        [10],
    ]


def test_grouping_does_not_chain_through_a_middle_question(content: Content) -> None:
    # 2 is the same question as 1 and as 3, but 3 is not the same as 1: 3 stays apart.
    asked = [
        Asked(1, "schools, hospitals and museums", "en"),
        Asked(2, "revolving fund for schools, hospitals and museums", "en"),
        Asked(3, "revolving fund for schools and hospitals", "en"),
    ]
    assert group_questions(asked, faq_index(content).norm) == [[1, 2], [3]]
    assert group_questions(asked[1:], faq_index(content).norm) == [[2, 3]]


def test_with_the_faq_index_paraphrases_of_one_entry_are_grouped(content: Content) -> None:
    asked = [
        Asked(1, "can someone explain EPC to me in simple words", "en"),
        Asked(2, "how does energy performance contracting work in simple terms", "en"),
        Asked(3, "What is ELENA?", "en"),
        Asked(4, "how do I apply for ELENA", "en"),  # another entry: kept apart
        Asked(5, "best pizza in Naples", "en"),  # no entry near it
        Asked(6, "pizza places in Naples", "en"),
    ]
    norm = faq_index(content).norm
    assert group_questions(asked, norm) == [[1], [2], [3], [4], [5], [6]]
    assert group_questions(asked, norm, faq_index(content)) == [[1, 2], [3], [4], [5], [6]]


def test_each_asker_gets_the_answer_in_their_language_where_it_was_translated() -> None:
    tr = {"it": "Una ESCO …", "fr": ""}
    assert answer_for(["it", "en"], "An ESCO …", "en", tr) == "Una ESCO …"
    assert answer_for(["fr", "en"], "An ESCO …", "en", tr) == "An ESCO …"  # empty: original
    assert answer_for(["de"], "An ESCO …", "en", tr) == "An ESCO …"
    assert answer_for([], "An ESCO …", "en", tr) == "An ESCO …"


@pytest.mark.parametrize(
    ("typed", "days"),
    [("14", 14), (" 3 ", 3), ("120", 120), ("2", None), ("121", None), ("7.5", None), ("", None)],
)
def test_checkin_days_are_a_whole_number_within_bounds(typed: str, days: int | None) -> None:
    assert rules.checkin_days(typed) == days


@pytest.mark.parametrize(
    ("typed", "channel"),
    [
        ("C0123ABCD9", "C0123ABCD9"),
        (" g0123abcd9 ", "G0123ABCD9"),
        ("https://acme.slack.com/archives/C0123ABCD9", "C0123ABCD9"),
        ("https://app.slack.com/client/T0AAAA1/C0123ABCD9/details", "C0123ABCD9"),
        ("", ""),
        ("#general", None),
        ("D0123ABCD9", None),  # a direct message, not a channel
        ("C12", None),
    ],
)
def test_a_slack_channel_is_an_id_or_a_link(typed: str, channel: str | None) -> None:
    assert rules.slack_channel(typed) == channel


@pytest.mark.parametrize(
    ("typed", "chat"),
    [
        ("-1001234567890", -1001234567890),
        ("https://t.me/c/1234567890/15", -1001234567890),
        ("", ""),
        ("1234567890", None),  # a user, not a supergroup
        ("-12345", None),  # a basic group: no topics
        ("@mygroup", None),
    ],
)
def test_a_telegram_forum_is_a_supergroup_id_or_a_link(typed: str, chat: int | str | None) -> None:
    assert rules.telegram_forum(typed) == chat


def test_an_edited_practice_follows_the_chat_rules(content: Content) -> None:
    good = PracticeForm(
        id=1,
        title="  Ghent   LED  retrofit ",
        sector="public_lighting",
        instruments=("esco", "epc"),
        amount="2.5 million",
        results="12,000 street lights replaced, paid from the savings.",
        year="2022",
    )
    values = check_practice(good, content.taxonomy, 2026)
    assert values["title"] == "Ghent LED retrofit"
    assert values["amount"] == 2_500_000 and values["year"] == 2022
    assert values["funding"] is None and values["instruments"] == ["esco", "epc"]
    bad = PracticeForm(
        id=1,
        title="LED",
        sector="space",
        instruments=("esco", "magic"),
        amount="lots",
        results="short",
        year="1800",
        contact="x",
    )
    with pytest.raises(PracticeProblem) as caught:
        check_practice(bad, content.taxonomy, 2026)
    assert set(caught.value.fields) == {
        "title",
        "sector",
        "instruments",
        "amount",
        "results",
        "year",
        "contact",
    }
    assert caught.value.fields["title"] == (
        "console.practice_length_error",
        {"low": 5, "high": 200},
    )
    # the figures follow `peerbot practices figures`: a mix over 100 %, results as numbers
    mixed = PracticeForm(
        id=1,
        title="Ghent LED retrofit",
        sector="public_lighting",
        instruments=("esco",),
        funding="ESCO 80%, EU funds 40%",
        results="12,000 street lights replaced, paid from the savings.",
        savings_mwh="lots",
    )
    with pytest.raises(PracticeProblem) as caught:
        check_practice(mixed, content.taxonomy, 2026)
    assert caught.value.fields == {"savings_mwh": ("console.practice_figure_error", {})}
    mixed = PracticeForm(**{**mixed.__dict__, "savings_mwh": "1 200,5"})
    with pytest.raises(PracticeProblem) as caught:
        check_practice(mixed, content.taxonomy, 2026)
    assert caught.value.fields["funding"][0] == "practice_figures.errors.mix_over_100"
    values = check_practice(
        PracticeForm(**{**mixed.__dict__, "funding": "ESCO 60%, EU funds 40%"}),
        content.taxonomy,
        2026,
    )
    assert values["instrument_mix"] == {"esco": 60, "eu_funds": 40}
    assert values["instruments"] == ["esco", "eu_funds"] and values["savings_mwh"] == 1200.5


def test_a_survey_question_follows_the_chat_rules(content: Content) -> None:
    poll = survey_poll(
        "Which instrument do you need?", "single", ["EPC", " ", "Green bonds"], content
    )
    assert poll["options"] == ["EPC", "Green bonds"] and poll["codes"] == ["epc", "green_bond"]
    assert survey_poll("What do you need?", "text", ["ignored"], content)["options"] == []
    with pytest.raises(SurveyProblem) as caught:
        survey_poll("?", "single", ["only one"], content)
    assert caught.value.fields == {
        "question": "survey_question_error",
        "options": "survey_options_error",
    }
    with pytest.raises(SurveyProblem):
        survey_poll("A question", "poll", [], content)


def test_the_answers_csv_neutralises_formulas() -> None:
    found = {
        "answers": [
            {
                "name": '=HYPERLINK("http://x")',
                "authority": "Ghent",
                "country": "BE",
                "sectors": ["mobility", "public_lighting"],
                "choices": ["EPC", "-1"],
                "text": "@SUM(A1)",
                "answered_at": datetime(2026, 12, 1, 9, 0).isoformat(),
            }
        ]
    }
    rows = list(csv.reader(io.StringIO(results_csv(found))))
    assert rows[0] == ["name", "authority", "country", "sectors", "choices", "text", "answered_at"]
    assert rows[1][0].startswith("'=") and rows[1][5] == "'@SUM(A1)"
    assert rows[1][3] == "mobility;public_lighting" and rows[1][4] == "EPC;-1"


def test_bars_are_as_long_as_their_count() -> None:
    chart = bar_chart([("EPC", 4), ("ESCO", 1), ("Grants", 0)])
    assert [b.width for b in chart.bars] == [BAR_SPACE, BAR_SPACE // 4, 0]
    assert [b.share for b in chart.bars] == [80, 20, 0]
    assert [b.share for b in bar_chart([("A", 2), ("B", 1)], base=2).bars] == [100, 50]
    assert chart.bars[1].y > chart.bars[0].y
    assert [b.width for b in bar_chart([("A", 0)]).bars] == [0]


def test_an_officer_reads_the_survey_question_in_the_language_of_its_message() -> None:
    from handlers.announcements.flow import question_for, text_for
    from storage.models import Announcement, Officer

    ann = Announcement(
        text="A short survey",
        lang="en",
        translations={"it": "Un breve sondaggio", "fr": ""},
        poll={"question": "Which?", "translations": {"it": "Quale?", "de": "Welche?"}},
    )
    italian = Officer(name="Giulia", locale="it", languages=[])
    german = Officer(name="Jonas", locale="de", languages=[])  # no German message: English
    french = Officer(name="Marie", locale=None, languages=["fr", "it"])  # empty fr: it
    assert (text_for(ann, italian, None), question_for(ann, italian, None)) == (
        "Un breve sondaggio",
        "Quale?",
    )
    assert (text_for(ann, german, None), question_for(ann, german, None)) == (
        "A short survey",
        "Which?",
    )
    assert question_for(ann, french, None) == "Quale?"
