"""Button labels made from longer text keep whole words."""

from handlers.core.replies import shorten


def test_a_long_question_is_cut_between_words_with_an_ellipsis() -> None:
    label = shorten("How can we finance electric buses for public transport?", 40)
    assert label == "How can we finance electric buses for…" and len(label) <= 40
    assert shorten("What is ELENA?", 40) == "What is ELENA?"
    assert shorten("  spaced\n out  ", 40) == "spaced out"
    assert len(shorten("x" * 100, 40)) == 40  # one long word is still cut to fit
