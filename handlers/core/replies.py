"""What the core hands back to an adapter: neutral replies with choices."""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Choice:
    """A button: `id` comes back to the core when pressed, `label` is shown.

    `selected` is None for a plain button and True/False for an option of a multi-select.
    """

    id: str
    label: str
    selected: bool | None = None


@dataclass(frozen=True)
class Reply:
    """A message to show; `multi` marks a multi-select whose `selected` choices carry ticks.

    `edit` asks the adapter to replace the message that carried the pressed choice.
    """

    text: str
    choices: tuple[Choice, ...] = ()
    multi: bool = False
    thread_id: str | None = None
    edit: bool = False
    meta: dict[str, str] = field(default_factory=dict)

    def with_choices(self, choices: tuple[Choice, ...]) -> Reply:
        """The same reply with other choices."""
        return replace(self, choices=choices)


def shorten(text: str, limit: int) -> str:
    """Text for a button: whole words up to `limit` characters, "…" when some were left out."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-–(") + "…"
