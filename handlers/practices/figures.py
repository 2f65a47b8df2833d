"""A practice's figures on the row: applying checked figures, reading the investment (older
rows kept it in `figures.amount_eur`), and the JSON the CLI prints."""

from __future__ import annotations

import re
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import format_compact_currency, format_currency, format_decimal

from handlers.core.content import Content
from handlers.practices.rules import PracticeFigures, main_instrument
from storage.models import GoodPractice

MILLION = 1_000_000
_ACRONYM = re.compile(r"\(([A-Z]{2,6})\)$")


def short_label(label: str) -> str:
    """`Energy performance contracting (EPC)` -> `EPC`; other labels as they are."""
    found = _ACRONYM.search(label.strip())
    return found.group(1) if found else label


def apply_figures(practice: GoodPractice, figures: PracticeFigures) -> None:
    """Copy the given figures onto a practice (None keeps what is there)."""
    if figures.investment_eur is not None:
        practice.investment_eur = figures.investment_eur
    if figures.instrument_mix is not None:
        practice.instrument_mix = dict(figures.instrument_mix)
        extra = [c for c in figures.instrument_mix if c not in practice.instruments]
        practice.instruments = [*practice.instruments, *extra]
    for name in ("savings_mwh", "renewable_mwh", "co2_t"):
        value = getattr(figures, name)
        if value is not None:
            setattr(practice, name, value)


def figures_json(practice: GoodPractice) -> dict[str, Any]:
    """The figures as `practices list --json` prints them."""
    return {
        "amount_eur": investment_of(practice),
        "instrument_mix": dict(practice.instrument_mix) if practice.instrument_mix else None,
        "savings_mwh_per_year": practice.savings_mwh,
        "renewable_mwh_per_year": practice.renewable_mwh,
        "co2_t_per_year": practice.co2_t,
    }


def investment_of(practice: GoodPractice) -> int | None:
    """The investment in euros (older rows kept it in `figures.amount_eur`)."""
    if practice.investment_eur is not None:
        return practice.investment_eur
    amount = (practice.figures or {}).get("amount_eur")
    return int(amount) if isinstance(amount, int | float) and amount > 0 else None


def money(amount: int, locale: str) -> str:
    """Euros the way the reader's language writes them: `€2.4M`, `2,4 Mio. €`, `850.000 €`."""
    try:
        if amount >= MILLION:
            return format_compact_currency(amount, "EUR", locale=locale, fraction_digits=1)
        pattern = Locale.parse(locale).currency_formats["standard"].pattern.replace(".00", "")
        return format_currency(amount, "EUR", format=pattern, locale=locale, currency_digits=False)
    except (ValueError, TypeError, UnknownLocaleError):
        return f"EUR {amount:,}"


def number(value: float, locale: str) -> str:
    """`1,200` / `1 200` / `1.200`, at most one decimal."""
    try:
        return format_decimal(round(value, 1), locale=locale)
    except (ValueError, TypeError, UnknownLocaleError):
        return f"{value:,.1f}".removesuffix(".0")


def mix_text(content: Content, locale: str, mix: dict[str, Any] | None) -> str:
    """`EPC 70 %, EU funds 30 %`, largest share first ('' without a mix)."""
    if not mix:
        return ""
    ordered = sorted(mix.items(), key=lambda kv: (-int(kv[1]), kv[0]))
    return ", ".join(
        content.t(
            locale,
            "practice_figures.share",
            instrument=content.taxonomy.label("instruments", code, locale),
            share=number(float(share), locale),
        )
        for code, share in ordered
    )


def results_text(content: Content, locale: str, practice: GoodPractice) -> str:
    """`1,200 MWh/year saved, 300 MWh/year renewable, 250 t CO2/year avoided` ('' if none)."""
    parts = [
        content.t(locale, f"practice_figures.{name}", value=number(value, locale))
        for name, value in (
            ("saved", practice.savings_mwh),
            ("renewable", practice.renewable_mwh),
            ("co2", practice.co2_t),
        )
        if value is not None
    ]
    return ", ".join(parts)


def citation_figures(content: Content, locale: str, practice: GoodPractice) -> str:
    """`€2.4M via EPC, 1,200 MWh/year saved` for the FAQ ('' when the practice has no figures)."""
    parts = []
    amount = investment_of(practice)
    if amount is not None:
        code = main_instrument(practice.instrument_mix, practice.instruments)
        parts.append(
            content.t(
                locale,
                "practice_figures.invested_via",
                amount=money(amount, locale),
                instrument=short_label(content.taxonomy.label("instruments", code, locale)),
            )
            if code
            else money(amount, locale)
        )
    results = results_text(content, locale, practice)
    if results:
        parts.append(results)
    return ", ".join(parts)
