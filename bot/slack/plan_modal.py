"""The learning plan as one Slack modal (`/peerbot plan`): the same five questions as the chat's
`/plan`, prefilled with the authority's plan, checked inline when submitted (Slack shows the
problems under their fields through `response_action: errors`) with the same reading and rules
(`handlers.outcomes.forms`, `service.check_plan`); a valid plan goes through the inbox to
`handlers.outcomes.flow.submit_plan_form`, which saves it with `service.set_plan`.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import date
from typing import Any

from bot.slack.views import Choices, Texts, plain
from handlers.outcomes import forms, service

PLAN_CALLBACK = "peerbot-plan"
PLAN_WORDS = {"plan"}


def opens_plan(text: str) -> bool:
    """`/peerbot plan` (nothing after it) opens the modal."""
    words = text.split()
    return len(words) == 1 and words[0].lstrip("/").lower() in PLAN_WORDS


def _pt(text: str, limit: int = 2000) -> dict[str, Any]:
    return {"type": "plain_text", "text": plain(text, limit), "emoji": True}


def _text_block(
    block: str, label: str, initial: str, max_length: int, optional: bool, multiline: bool = False
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "max_length": max_length,
        "multiline": multiline,
    }
    if initial:
        element["initial_value"] = initial[:max_length]
    return {
        "type": "input",
        "block_id": block,
        "label": _pt(label),
        "optional": optional,
        "element": element,
    }


def _select_block(
    block: str, label: str, pairs: list[tuple[str, str]], initial: str | None
) -> dict[str, Any]:
    options = [{"text": _pt(name, 75), "value": code} for code, name in pairs[:100]]
    element: dict[str, Any] = {"type": "static_select", "action_id": "value", "options": options}
    chosen = next((o for o in options if o["value"] == initial), None)
    if chosen is not None:
        element["initial_option"] = chosen
    return {"type": "input", "block_id": block, "label": _pt(label), "element": element}


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
        _text_block("size_eur", texts("outcomes.pln_ask_size_eur"), size, 40, optional=True),
        _text_block(
            "next_step",
            texts("outcomes.pln_ask_next_step"),
            plan.next_step if plan else "",
            1000,
            optional=False,
            multiline=True,
        ),
        _text_block(
            "target_date", texts("outcomes.pln_ask_target_date"), target, 30, optional=True
        ),
    ]
    return {
        "type": "modal",
        "callback_id": PLAN_CALLBACK,
        "title": {"type": "plain_text", "text": texts.short("slack.plan_title", 24)},
        "submit": {"type": "plain_text", "text": texts.short("slack.plan_submit", 24)},
        "close": {"type": "plain_text", "text": texts.short("outcomes.cancel", 24)},
        "private_metadata": json.dumps(metadata)[:3000],
        "blocks": blocks,
    }


def _entry(values: dict[str, Any], block: str) -> dict[str, Any]:
    actions = values.get(block) or {}
    if not isinstance(actions, dict) or not actions:
        return {}
    entry = next(iter(actions.values()))
    return entry if isinstance(entry, dict) else {}


def _value(values: dict[str, Any], block: str) -> str:
    entry = _entry(values, block)
    option = entry.get("selected_option")
    if isinstance(option, dict):
        return str(option.get("value") or "")
    return str(entry.get("value") or "")


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
