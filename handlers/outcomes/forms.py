"""Plans and stages typed into a form (the console's page, a Slack modal) read into the same
drafts the chat builds, with the problems by field.

The reading follows the chat's steps (amounts like `2.4 million`, days like `31/03/2027`,
figures like `1 200,5`), and what the drafts then break is `service`'s `Invalid`, placed on the
field it is about by `problem_of`. A problem is a message key and its values, rendered in the
reader's language by the door.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from handlers.outcomes.rules import parse_day, parse_figure
from handlers.outcomes.service import Invalid, OutcomeDraft, PlanDraft
from handlers.practices.flow import parse_amount

PLAN_FIELDS = ("scheme", "sector", "size_eur", "next_step", "target_date")
OUTCOME_FIELDS = (
    "scheme",
    "stage",
    "reached_on",
    "evidence_url",
    "amount_eur",
    "instrument",
    "sources",
    "savings_mwh",
    "renewable_mwh",
    "co2_t",
    "method",
)
STEP_LIMITS = (3, 1000)
FIELD_OF_ERROR = {
    "unknown_scheme": "scheme",
    "unknown_sector": "sector",
    "bad_amount": "size_eur",
    "bad_step": "next_step",
    "unknown_stage": "stage",
    "future_date": "reached_on",
    "bad_link": "evidence_url",
    "financed_needs_amount": "amount_eur",
    "financed_needs_instrument": "instrument",
    "financed_needs_sources": "sources",
    "amount_only_when_financed": "amount_eur",
    "bad_figure": "savings_mwh",
    "figures_need_method": "method",
}
"""Which field a refusal of `service` is about (the form shows it there)."""


@dataclass(frozen=True)
class Problem:
    """A message key (`outcomes.…`) and its values."""

    key: str
    values: dict[str, Any] = field(default_factory=dict)


Problems = dict[str, Problem]


def problem_of(exc: Invalid, default: str = "scheme") -> tuple[str, Problem]:
    """The field and message of a refusal from `service`."""
    return FIELD_OF_ERROR.get(exc.key, default), Problem(f"outcomes.errors.{exc.key}", exc.values)


def _text(form: Mapping[str, Any], name: str) -> str:
    return str(form.get(name) or "").strip()


def _amount(form: Mapping[str, Any], name: str, problems: Problems) -> int | None:
    text = _text(form, name)
    if not text:
        return None
    amount = parse_amount(text)
    if amount is None or amount <= 0:
        problems[name] = Problem("outcomes.amount_unclear", {"answer": text[:60]})
        return None
    return amount


def _figure(form: Mapping[str, Any], name: str, problems: Problems) -> float | None:
    text = _text(form, name)
    if not text:
        return None
    value = parse_figure(text)
    if value is None:
        problems[name] = Problem("outcomes.figure_unclear", {"answer": text[:30]})
    return value


def _day(form: Mapping[str, Any], name: str, today: date, problems: Problems) -> date | None:
    text = _text(form, name)
    if not text:
        return None
    day = parse_day(text, today)
    if day is None:
        problems[name] = Problem("outcomes.date_unclear", {"answer": text[:30]})
    return day


def read_plan(form: Mapping[str, Any], today: date) -> tuple[PlanDraft | None, Problems]:
    """A plan from a form (scheme and sector as codes); None and the problems when unreadable."""
    problems: Problems = {}
    size = _amount(form, "size_eur", problems)
    step = _text(form, "next_step")
    low, high = STEP_LIMITS
    if not low <= len(step) <= high:
        problems["next_step"] = Problem("outcomes.length", {"low": low, "high": high})
    target = _day(form, "target_date", today, problems)
    if target is not None and target < today:
        problems["target_date"] = Problem("outcomes.date_past")
    for name in ("scheme", "sector"):
        if not _text(form, name):
            problems[name] = Problem("outcomes.form_required")
    if problems:
        return None, problems
    return PlanDraft(_text(form, "scheme"), _text(form, "sector"), size, step, target), {}


def read_outcome(form: Mapping[str, Any], today: date) -> tuple[OutcomeDraft | None, Problems]:
    """A stage from a form; the day defaults to today. None and the problems when unreadable."""
    problems: Problems = {}
    reached = _day(form, "reached_on", today, problems) if _text(form, "reached_on") else today
    if reached is not None and reached > today:
        problems["reached_on"] = Problem("outcomes.date_future")
    amount = _amount(form, "amount_eur", problems)
    figures = {
        name: _figure(form, name, problems) for name in ("savings_mwh", "renewable_mwh", "co2_t")
    }
    for name in ("scheme", "stage"):
        if not _text(form, name):
            problems[name] = Problem("outcomes.form_required")
    if problems or reached is None:
        return None, problems
    return (
        OutcomeDraft(
            scheme=_text(form, "scheme"),
            stage=_text(form, "stage"),
            reached_on=reached,
            evidence_url=_text(form, "evidence_url") or None,
            amount_eur=amount,
            instrument=_text(form, "instrument") or None,
            sources=_text(form, "sources") or None,
            savings_mwh=figures["savings_mwh"],
            renewable_mwh=figures["renewable_mwh"],
            co2_t=figures["co2_t"],
            method=_text(form, "method") or None,
        ),
        {},
    )
