"""Words an officer may type instead of pressing a button, in every language.

A prompt says "press Skip" or "pulse Omitir"; an officer on a phone may type the word instead,
or the word of their own language. A typed answer means `skip` or `done` when it is the label
of such a button in any catalogue, or one of the synonyms listed under `typed.<name>`, so a
new language or a renamed button is understood without touching the code.
"""

from __future__ import annotations

from handlers.core.i18n import Translator
from handlers.core.taxonomy import fold

BUTTONS = {
    "skip": ("onboarding.skip", "practices.skip"),
    "done": ("onboarding.done", "practices.done", "poll.done"),
}
"""The catalogue keys of the buttons whose label may be typed, per meaning."""


def typed_words(t: Translator, name: str) -> frozenset[str]:
    """The folded words meaning `name` (`skip`, `done`) in any of the catalogues."""
    words: set[str] = set()
    for catalogue in t.catalogues.values():
        for key in BUTTONS.get(name, ()):
            if key in catalogue:
                words.add(fold(catalogue[key]))
        listed = catalogue.get(f"typed.{name}", "")
        words.update(fold(w) for w in listed.split(",") if w.strip())
    words.discard("")
    return frozenset(words)


def means(t: Translator, name: str, text: str | None) -> bool:
    """Whether a typed answer means `name`; quotes and a final full stop are forgiven."""
    if not text:
        return False
    word = fold(text.strip().strip("«»\"'“”„.!"))
    return bool(word) and word in typed_words(t, name)
