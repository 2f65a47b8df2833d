"""Horizontal bar charts drawn on the server as inline SVG (no script, no library): the
geometry is computed here, the template writes the `<rect>`s. Every chart is shown with a
table of the same numbers, its text alternative."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

LABEL_WIDTH = 220
BAR_SPACE = 360
ROW = 28
BAR = 18


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: int
    width: int
    share: int  # per cent of all answers counted in the chart


@dataclass(frozen=True)
class Chart:
    bars: tuple[Bar, ...]
    width: int
    height: int
    label_width: int = LABEL_WIDTH
    bar_height: int = BAR


def bar_chart(items: Sequence[tuple[str, int]]) -> Chart:
    """Bars in the order given, the longest as wide as `BAR_SPACE`; a zero gets no bar."""
    top = max((v for _, v in items), default=0)
    total = sum(v for _, v in items)
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
    return Chart(bars, LABEL_WIDTH + BAR_SPACE + 60, max(1, len(items)) * ROW)
