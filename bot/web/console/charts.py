"""Horizontal bar charts drawn on the server as inline SVG (no script, no library): the
geometry is computed here, the template writes the `<rect>`s. Every chart is shown with a
table of the same numbers, its text alternative."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

LABEL_WIDTH = 280
BAR_SPACE = 360
VALUE_SPACE = 110  # room right of the longest bar for "12 (100 %)"
LABEL_CHARS = 32  # longer labels are cut with … (the table below has them whole)
ROW = 28
BAR = 18


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: int
    width: int
    share: int  # per cent of `base` (those who answered), else of all values


@dataclass(frozen=True)
class Chart:
    bars: tuple[Bar, ...]
    width: int
    height: int
    label_width: int = LABEL_WIDTH
    label_chars: int = LABEL_CHARS
    bar_height: int = BAR


def bar_chart(items: Sequence[tuple[str, int]], base: int | None = None) -> Chart:
    """Bars in the order given, the longest as wide as `BAR_SPACE`; a zero gets no bar.
    Shares are of `base` (several options may be ticked: they need not add up to 100)."""
    top = max((v for _, v in items), default=0)
    total = base or sum(v for _, v in items)
    bars = tuple(
        Bar(
            label=label,
            value=value,
            y=i * ROW + (ROW - BAR) // 2,
            width=round(BAR_SPACE * value / top) if top else 0,
            share=round(100 * value / total) if total else 0,
        )
        for i, (label, value) in enumerate(items)
    )
    return Chart(bars, LABEL_WIDTH + BAR_SPACE + VALUE_SPACE, max(1, len(items)) * ROW)
