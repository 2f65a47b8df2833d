"""The core's text cleaning: exactly Unicode's control and surrogate code points go."""

from __future__ import annotations

import sys
import unicodedata

from handlers.core.engine import MAX_TEXT, clean_text


def test_every_control_and_surrogate_code_point_goes_and_nothing_else() -> None:
    every = "".join(chr(c) for c in range(sys.maxunicode + 1))
    kept = clean_text(every[:MAX_TEXT]) + "".join(
        clean_text(every[i : i + MAX_TEXT]) for i in range(MAX_TEXT, len(every), MAX_TEXT)
    )
    by_category = "".join(
        c for c in every if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cs")
    )
    assert kept == by_category
    assert clean_text("a\x00b\r\nc\td\x85\ud800") == "ab\nc\td"
    assert len(clean_text("x" * (MAX_TEXT + 5))) == MAX_TEXT
