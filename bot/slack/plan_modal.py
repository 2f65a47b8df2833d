"""The learning plan as one Slack modal (`/peerbot plan`): the same five questions as the chat's
`/plan`, prefilled with the authority's plan, checked inline when submitted (Slack shows the
problems under their fields through `response_action: errors`) with the same reading and rules
(`handlers.outcomes.forms`, `service.check_plan`); a valid plan goes through the inbox to
`handlers.outcomes.flow.submit_plan_form`, which saves it with `service.set_plan`.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any

from bot.slack.views import Choices, Texts, entry, modal, select, text_input
from handlers.outcomes import forms, service

PLAN_CALLBACK = "peerbot-plan"
PLAN_WORDS = {"plan"}


def opens_plan(text: str) -> bool:
    """`/peerbot plan` (nothing after it) opens the modal."""
    words = text.split()
    return len(words) == 1 and words[0].lstrip("/").lower() in PLAN_WORDS


def _select_block(
    block: str, label: str, pairs: list[tuple[str, str]], initial: str | None
) -> dict[str, Any]:
    return select(block, label, pairs, [initial] if initial else [], multi=False)


def plan_modal(
    texts: Texts, choices: Choices, plan: service.PlanDraft | None, metadata: dict[str, Any]
) -> dict[str, Any]:
    """The modal, prefilled with the current plan (if any)."""
    size = str(plan.size_eur) if plan and plan.size_eur else ""
    target = plan.target_date.isoformat() if plan and plan.target_date else ""
    blocks = [
        _select_block(
            "scheme",
            texts("outcomes.pln_ask_scheme"),
            choices.instruments,
            plan.scheme if plan else None,
        ),
        _select_block(
            "sector",
            texts("outcomes.pln_ask_sector"),
            choices.sectors,
            plan.sector if plan else None,
        ),
        text_input("size_eur", texts("outcomes.pln_ask_size_eur"), size, 40, optional=True),
        text_input(
            "next_step",
            texts("outcomes.pln_ask_next_step"),
            plan.next_step if plan else "",
            1000,
            optional=False,
            multiline=True,
        ),
        text_input("target_date", texts("outcomes.pln_ask_target_date"), target, 30, optional=True),
    ]
    titles = (
        texts.short("slack.plan_title", 24),
        texts.short("slack.plan_submit", 24),
        texts.short("outcomes.cancel", 24),
    )
    return modal(PLAN_CALLBACK, titles, metadata, blocks)


def _value(values: dict[str, Any], block: str) -> str:
    found = entry(values, block)
    option = found.get("selected_option")
    if isinstance(option, dict):
        return str(option.get("value") or "")
    return str(found.get("value") or "")


def read_plan_modal(
    values: dict[str, Any],
    texts: Texts,
    schemes: Collection[str],
    sectors: Collection[str],
    today: date,
) -> tuple[dict[str, str], dict[str, str]]:
    """The answers as typed (what the form event carries) and the problems by block id."""
    typed = {name: _value(values, name)[:2000] for name in forms.PLAN_FIELDS}
    draft, problems = forms.read_plan(typed, today)
    if draft is not None:
        try:
            service.check_plan(draft, schemes, sectors)
        except service.Invalid as exc:
            name, problem = forms.problem_of(exc)
            problems = {name: problem}
    errors = {name: texts(p.key, **p.values)[:300] for name, p in problems.items()}
    return typed, errors
