"""The dashboard page and the mailable report: Jinja2 templates and server-side SVG charts.

Everything is inline (CSS and SVG): no script, no font, no external URL, so the same HTML
works behind the login and as a file attached to an e-mail.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from handlers.core.i18n import Translator
from handlers.outcomes.rules import UNSPECIFIED
from handlers.pairing.view import STATES
from handlers.report.figures import DAYS, UNKNOWN, Count, Report

TEMPLATES = Path(__file__).parent / "templates"
PALETTE = {
    "bar": "#1f6fb2",
    "approved": "#9bc4e2",
    "introduced": "#6a9fd4",
    "active": "#2e8540",
    "stalled": "#e07b00",
    "declined": "#b36b8f",
    "closed": "#8a8a8a",
    "asked": "#b9d3ea",
    "answered": "#1f6fb2",
}

CHARTED = ("approved", "introduced", "active", "stalled", "declined", "closed")
"""Pair states drawn week by week (proposals and rejected proposals are not pairs yet)."""
CARDS = STATES
"""Pair states shown as figures, in the order a pair goes through them."""

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"], default_for_string=True, default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class Series:
    """One stacked layer of a column chart."""

    key: str
    label: str
    values: Sequence[int]


def _rect(
    chart: str, key: str, value: int, x: float, y: float, w: float, h: float, fill: str
) -> str:
    return (
        f'<rect class="bar" data-chart="{escape(chart)}" data-key="{escape(key)}" '
        f'data-value="{value}" x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
        f'fill="{fill}"><title>{escape(key)}: {value}</title></rect>'
    )


def bar_chart(chart: str, bars: Sequence[Count], label: Callable[[str], str] = str) -> Markup:
    """Horizontal bars, one per key, with its label and value."""
    if not bars:
        return Markup("")
    row, left, width, right = 26, 210, 520, 50
    top = max((b.count for b in bars), default=0) or 1
    height = row * len(bars) + 6
    parts = [
        f'<svg class="chart" data-chart="{escape(chart)}" role="img" '
        f'viewBox="0 0 {left + width + right} {height}" width="{left + width + right}" '
        f'height="{height}">'
    ]
    for n, bar in enumerate(bars):
        y = 3 + n * row
        w = max(width * bar.count / top, 2.0 if bar.count else 0.0)
        parts.append(
            f'<text x="{left - 8}" y="{y + 17}" text-anchor="end">{escape(label(bar.key))}</text>'
        )
        parts.append(_rect(chart, bar.key, bar.count, left, y + 3, w, row - 8, PALETTE["bar"]))
        parts.append(f'<text x="{left + w + 6:.1f}" y="{y + 17}">{bar.count}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def column_chart(
    chart: str, labels: Sequence[str], series: Sequence[Series], every: int = 1
) -> Markup:
    """Stacked columns over time (weeks or days) with a legend; every `every`-th label shown."""
    if not labels:
        return Markup("")
    left, bottom, top_pad, height, width = 40, 34, 28, 180, 720
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    top = max(totals, default=0) or 1
    step = width / len(labels)
    bar_w = max(step * 0.7, 1.0)
    svg_h = top_pad + height + bottom
    parts = [
        f'<svg class="chart" data-chart="{escape(chart)}" role="img" '
        f'viewBox="0 0 {left + width + 10} {svg_h}" width="{left + width + 10}" '
        f'height="{svg_h}">',
        f'<line x1="{left}" y1="{top_pad + height}" x2="{left + width}" '
        f'y2="{top_pad + height}" stroke="#999"/>',
        f'<text x="{left - 6}" y="{top_pad + 4}" text-anchor="end">{top}</text>',
        f'<text x="{left - 6}" y="{top_pad + height}" text-anchor="end">0</text>',
    ]
    for n, s in enumerate(series):
        colour = PALETTE.get(s.key, PALETTE["bar"])
        parts.append(
            f'<rect x="{left + n * 120}" y="4" width="12" height="12" fill="{colour}"/>'
            f'<text x="{left + n * 120 + 16}" y="15">{escape(s.label)}</text>'
        )
    for i, label in enumerate(labels):
        x = left + i * step + (step - bar_w) / 2
        base = float(top_pad + height)
        for s in series:
            value = s.values[i]
            h = height * value / top
            if value:
                colour = PALETTE.get(s.key, PALETTE["bar"])
                parts.append(_rect(chart, f"{label}/{s.key}", value, x, base - h, bar_w, h, colour))
            base -= h
        if i % every == 0 or i == len(labels) - 1:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{top_pad + height + 16}" '
                f'text-anchor="middle" class="tick">{escape(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def page_context(
    report: Report, t: Callable[..., str], labels: Callable[[str], str]
) -> dict[str, Any]:
    """What the templates need: the report, translated text and the charts."""
    weeks = [w.week for w in report.pairs_by_week]
    health = [
        Series(h, t(f"health_{h}"), [getattr(w, h) for w in report.pairs_by_week]) for h in CHARTED
    ]
    checkins = [
        Series("answered", t("checkins_answered"), [w.answered for w in report.checkins_by_week]),
        Series(
            "asked",
            t("checkins_unanswered"),
            [w.asked - w.answered for w in report.checkins_by_week],
        ),
    ]
    rate = report.checkin_answer_rate

    def plain(key: str) -> str:
        return t("not_given") if key in (UNKNOWN, "none") else key

    def sector(key: str) -> str:
        return plain(key) if key == UNKNOWN else labels(key)

    return {
        "r": report,
        "t": t,
        "cards": CARDS,
        "days": DAYS,
        "rate": f"{rate * 100:.0f}%" if rate is not None else t("no_rate"),
        "charts": {
            "by_country": bar_chart("by_country", report.by_country, plain),
            "by_sector": bar_chart("by_sector", report.by_sector, sector),
            "by_platform": bar_chart("by_platform", report.by_platform, plain),
            "pairs": column_chart("pairs_by_week", weeks, health),
            "checkins": column_chart(
                "checkins_by_week", [w.week for w in report.checkins_by_week], checkins
            ),
            "faq": column_chart(
                "faq_by_day",
                [d.key[5:] for d in report.faq_by_day],
                [Series("bar", t("faq_per_day"), [d.count for d in report.faq_by_day])],
                every=5,
            ),
        },
    }


def translator_for(t: Translator, locale: str | None) -> Callable[..., str]:
    """`t("key", **values)` over the `dashboard.*` messages in one locale."""

    def render(key: str, **values: Any) -> str:
        return t(locale, f"dashboard.{key}", **values)

    return render


def render_report(
    report: Report,
    t: Callable[..., str],
    labels: Callable[[str], str] = str,
    *,
    signed_in: bool = False,
    lang: str = "en",
) -> str:
    """The whole page; `signed_in` adds the sign-out form of the live dashboard."""
    context = page_context(report, t, labels)
    return _env.get_template("report.html").render(
        **context,
        signed_in=signed_in,
        lang=lang,
        kpi_text=lambda v: kpi_text(v, lang),
        sector_label=lambda code: t("kpi_unspecified") if code == UNSPECIFIED else labels(code),
    )


def kpi_text(value: object, lang: str) -> str:
    """An indicator as the reader's language writes numbers (a dash when there is none)."""
    if value is None:
        return "—"
    if isinstance(value, int | float):
        try:
            return format_decimal(value, locale=lang)
        except (ValueError, TypeError):
            return str(value)
    return str(value)


def render_login(t: Callable[..., str], failed: bool = False, lang: str = "en") -> str:
    """The sign-in form (with the failure line after a wrong token)."""
    return _env.get_template("login.html").render(t=t, failed=failed, lang=lang)
