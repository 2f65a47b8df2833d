"""Block Kit surfaces: the onboarding/profile modal, reading its submission, and the App Home.

Every word shown comes from the message catalogue. Keys under `slack.` are Slack-only labels;
until the catalogue has them, `FALLBACKS` names an existing key to show instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.slack.messenger import fit_prefix, split_text, units
from bot.slack.translate import escape
from handlers.core.content import Content
from handlers.core.taxonomy import EU_LANGUAGES, EUROPE, country_name, language_name
from handlers.officers import fields

FORM_CALLBACK = "peerbot-profile"
HOME_JOIN = "home-join"
HOME_EDIT = "home-edit"
HOME_ASK = "home-ask"
ELLIPSIS = "…"
FALLBACKS = {
    "slack.join_title": "commands.start",
    "slack.edit_title": "profile.edit",
    "slack.submit": "onboarding.done",
    "slack.consent_label": "onboarding.consent_yes",
    "slack.consent_required": "onboarding.consent_unclear",
    "slack.country_label": "onboarding.country",
    "slack.languages_label": "onboarding.languages",
    "slack.sectors_label": "onboarding.sectors",
    "slack.wants_label": "onboarding.wants",
    "slack.offers_label": "onboarding.offers",
    "slack.practice_label": "onboarding.practice",
    "slack.option_invalid": "errors.expired_choice",
    "slack.ask_button": "commands.ask",
    "slack.join_button": "commands.start",
}


class Texts:
    """Catalogue messages in one locale, with the fallbacks of `slack.` keys."""

    def __init__(self, content: Content, locale: str) -> None:
        self.content = content
        self.locale = locale

    def __call__(self, key: str, /, **values: Any) -> str:
        t = self.content.t
        if not t.has(key) and key in FALLBACKS:
            key = FALLBACKS[key]
            values.setdefault("authority", ELLIPSIS)
        return t(self.locale, key, **values)

    def short(self, key: str, limit: int) -> str:
        """A title or button label: the first clause, capitalised, at most `limit` units."""
        text = self(key)
        if not self.content.t.has(key):
            text = text.split(" (", 1)[0].split(",", 1)[0].strip()
            text = text[:1].upper() + text[1:]
        return plain(text, limit)


def plain(text: str, limit: int) -> str:
    """Escaped text of at most `limit` UTF-16 units."""
    out = escape(text)
    if units(out) <= limit:
        return out
    return escape(text[: fit_prefix(text, limit - 1)]) + ELLIPSIS


def _pt(text: str, limit: int = 2000) -> dict[str, Any]:
    return {"type": "plain_text", "text": plain(text, limit), "emoji": True}


def _option(value: str, label: str) -> dict[str, Any]:
    return {"text": _pt(label, 75), "value": value}


@dataclass(frozen=True)
class Prefill:
    """What the form shows when it opens: the officer's profile, or what Slack knows."""

    name: str = ""
    authority: str = ""
    country: str | None = None
    role: str = ""
    languages: tuple[str, ...] = ()
    timezone: str = ""
    sectors: tuple[str, ...] = ()
    wants: tuple[str, ...] = ()
    offers: tuple[str, ...] = ()
    consent: bool = False
    editing: bool = False


@dataclass(frozen=True)
class Choices:
    """The option lists of the form, in the officer's language: (value, label) pairs."""

    countries: list[tuple[str, str]]
    languages: list[tuple[str, str]]
    sectors: list[tuple[str, str]]
    instruments: list[tuple[str, str]]

    @classmethod
    def of(cls, content: Content, locale: str) -> Choices:
        tax = content.taxonomy
        countries = sorted(((c, country_name(c, locale)) for c in EUROPE), key=lambda p: p[1])
        return cls(
            countries=countries,
            languages=[(c, language_name(c, locale)) for c in EU_LANGUAGES],
            sectors=[(c, tax.label("sectors", c, locale)) for c in tax.codes("sectors")],
            instruments=[
                (c, tax.label("instruments", c, locale)) for c in tax.codes("instruments")
            ],
        )


def text_input(
    block: str,
    label: str,
    initial: str,
    max_length: int,
    multiline: bool = False,
    optional: bool = False,
) -> dict[str, Any]:
    """An input block with a text field (its action id is "value")."""
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "value",
        "max_length": max_length,
        "multiline": multiline,
    }
    if initial:
        element["initial_value"] = initial[:max_length]
    block_: dict[str, Any] = {
        "type": "input",
        "block_id": block,
        "label": _pt(label),
        "element": element,
    }
    if optional:
        block_["optional"] = True
    return block_


def select(
    block: str,
    label: str,
    pairs: list[tuple[str, str]],
    initial: Iterable[str],
    multi: bool,
    optional: bool = False,
) -> dict[str, Any]:
    """An input block with a (multi) select of at most 100 options, some chosen already."""
    options = [_option(v, lab) for v, lab in pairs[:100]]
    chosen = [o for o in options if o["value"] in set(initial)]
    element: dict[str, Any] = {
        "type": "multi_static_select" if multi else "static_select",
        "action_id": "value",
        "options": options,
    }
    if chosen:
        if multi:
            element["initial_options"] = chosen
        else:
            element["initial_option"] = chosen[0]
    return {
        "type": "input",
        "block_id": block,
        "label": _pt(label),
        "optional": optional,
        "element": element,
    }


def profile_modal(
    texts: Texts, choices: Choices, prefill: Prefill, metadata: dict[str, Any]
) -> dict[str, Any]:
    """The modal that onboards an officer (or edits the profile) in one screen."""
    consent_option = _option("yes", texts("onboarding.consent_yes"))
    consent: dict[str, Any] = {
        "type": "checkboxes",
        "action_id": "value",
        "options": [consent_option],
    }
    if prefill.consent:
        consent["initial_options"] = [consent_option]
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "block_id": "consent_text",
            "text": _pt(texts("onboarding.consent"), 3000),
        },
        {
            "type": "input",
            "block_id": "consent",
            "label": _pt(texts("slack.consent_label")),
            "element": consent,
        },
        text_input("name", texts("onboarding.name"), prefill.name, 120),
        text_input("authority", texts("onboarding.authority"), prefill.authority, 150),
        select(
            "country",
            texts("slack.country_label"),
            choices.countries,
            [prefill.country] if prefill.country else [],
            multi=False,
        ),
        text_input("role", texts("onboarding.role"), prefill.role, 150),
        select(
            "languages", texts("slack.languages_label"), choices.languages, prefill.languages, True
        ),
        text_input("timezone", texts("onboarding.timezone"), prefill.timezone, 64),
        select("sectors", texts("slack.sectors_label"), choices.sectors, prefill.sectors, True),
        select("wants", texts("slack.wants_label"), choices.instruments, prefill.wants, True, True),
        select(
            "offers", texts("slack.offers_label"), choices.instruments, prefill.offers, True, True
        ),
    ]
    if not prefill.editing:
        practice = text_input("practice", texts("slack.practice_label"), "", 1500, True)
        practice["optional"] = True
        blocks.append(practice)
    title = "slack.edit_title" if prefill.editing else "slack.join_title"
    titles = (
        texts.short(title, 24),
        texts.short("slack.submit", 24),
        texts.short("onboarding.cancel", 24),
    )
    return modal(FORM_CALLBACK, titles, metadata, blocks)


def modal(
    callback_id: str, titles: tuple[str, str, str], metadata: dict[str, Any], blocks: list[Any]
) -> dict[str, Any]:
    """A modal view; `titles` are the title, submit and close texts (shortened by the caller)."""
    title, submit, close = titles
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": close},
        "private_metadata": json.dumps(metadata)[:3000],
        "blocks": blocks,
    }


def entry(values: dict[str, Any], block: str) -> dict[str, Any]:
    """The submitted state of a block's one element (empty for a missing or forged block)."""
    actions = values.get(block) or {}
    if not isinstance(actions, dict) or not actions:
        return {}
    first = next(iter(actions.values()))
    return first if isinstance(first, dict) else {}


def _text(values: dict[str, Any], block: str) -> str:
    return fields.clean_text(str(entry(values, block).get("value") or ""))


def _one(values: dict[str, Any], block: str) -> str | None:
    option = entry(values, block).get("selected_option") or {}
    return str(option["value"]) if isinstance(option, dict) and option.get("value") else None


def _many(values: dict[str, Any], block: str) -> list[str]:
    options = entry(values, block).get("selected_options") or []
    found = [str(o.get("value")) for o in options if isinstance(o, dict) and o.get("value")]
    return list(dict.fromkeys(found))


def read_form(
    values: dict[str, Any], texts: Texts, choices: Choices
) -> tuple[dict[str, Any], dict[str, str]]:
    """The answers as `onboarding.finish` takes them, and inline errors by block id.

    The same rules as the step-by-step flow; option values must be among the offered ones
    (a crafted submission cannot store foreign codes).
    """
    errors: dict[str, str] = {}
    data: dict[str, Any] = {}
    if "yes" not in _many(values, "consent"):
        errors["consent"] = texts("slack.consent_required")
    name = _text(values, "name")
    if fields.name_problem(name):
        errors["name"] = texts("onboarding.name_invalid")
    data["name"] = name
    authority = _text(values, "authority")
    if fields.text_problem("authority", authority):
        errors["authority"] = texts("onboarding.authority_invalid")
    data["authority_name"] = authority
    country = _one(values, "country")
    if country not in {c for c, _ in choices.countries}:
        errors["country"] = texts("slack.option_invalid")
    data["country"] = country
    role = _text(values, "role")
    if fields.text_problem("job_title", role):
        errors["role"] = texts("onboarding.role_invalid")
    data["job_title"] = role
    zone = _text(values, "timezone")
    if fields.timezone_of(zone) is None:
        errors["timezone"] = texts("onboarding.timezone_invalid", answer=zone[:60])
    data["timezone"] = fields.timezone_of(zone) or zone
    lists = {
        "languages": (choices.languages, True),
        "sectors": (choices.sectors, True),
        "wants": (choices.instruments, False),
        "offers": (choices.instruments, False),
    }
    for block, (pairs, required) in lists.items():
        picked = _many(values, block)
        allowed = {v for v, _ in pairs}
        if any(p not in allowed for p in picked):
            errors[block] = texts("slack.option_invalid")
        elif required and not picked:
            errors[block] = texts("onboarding.pick_one")
        data[block] = picked
    practice = str(entry(values, "practice").get("value") or "").strip()
    if practice and len(practice) < 10:
        errors["practice"] = texts("onboarding.practice_short")
    if practice:
        data["practice"] = practice[:1500]
    return data, {k: v[:300] for k, v in errors.items()}


def home_view(texts: Texts, profile_text: str | None) -> dict[str, Any]:
    """The App Home: the officer's profile with Edit/Ask, or the welcome with Join."""
    body = profile_text if profile_text is not None else texts("start.welcome")
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "plain_text", "text": escape(p), "emoji": True}}
        for p in split_text(body)[:40]
    ]
    if profile_text is not None:
        buttons = [
            (HOME_EDIT, texts.short("profile.edit", 75)),
            (HOME_ASK, texts.short("slack.ask_button", 75)),
        ]
    else:
        buttons = [(HOME_JOIN, texts.short("slack.join_button", 75))]
    blocks.append(
        {
            "type": "actions",
            "block_id": "home",
            "elements": [
                {
                    "type": "button",
                    "action_id": action,
                    "text": {"type": "plain_text", "text": label, "emoji": True},
                    **({"style": "primary"} if action != HOME_ASK else {}),
                }
                for action, label in buttons
            ],
        }
    )
    return {"type": "home", "blocks": blocks}


APPLY_CALLBACK = "peerbot-cycle-apply"


def application_modal(
    texts: Texts,
    choices: Choices,
    cycle: str,
    dates: tuple[str, str],
    prefill: tuple[tuple[str, ...], tuple[str, ...]],
    metadata: dict[str, Any],
) -> dict[str, Any]:
    """The application to a learning cycle in one screen: schemes to learn, to mentor."""
    wants, offers = prefill
    intro = texts("groups.apply.intro", cycle=cycle, starts=dates[0], ends=dates[1])
    titles = (
        texts.short("slack.apply_title", 24),
        texts.short("slack.apply_submit", 24),
        texts.short("groups.apply.cancel", 24),
    )
    blocks = [
        {"type": "section", "block_id": "intro", "text": _pt(intro, 3000)},
        _ranked(
            select("wants", texts("slack.apply_wants"), choices.instruments, wants, True, True),
            wants,
        ),
        select("offers", texts("slack.apply_offers"), choices.instruments, offers, True, True),
    ]
    return modal(APPLY_CALLBACK, titles, metadata, blocks)


def _ranked(block: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    """Initial options in the officer's order of preference (the first is the first choice)."""
    chosen = block["element"].get("initial_options")
    if chosen:
        chosen.sort(key=lambda o: order.index(o["value"]))
    return block


def read_application_form(
    values: dict[str, Any], texts: Texts, choices: Choices
) -> tuple[dict[str, Any], dict[str, str]]:
    """The schemes chosen, and inline errors by block id: only offered schemes, and at least
    one to learn or to mentor (the chat flow's rule)."""
    allowed = {v for v, _ in choices.instruments}
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for block in ("wants", "offers"):
        picked = _many(values, block)
        if any(p not in allowed for p in picked):
            errors[block] = texts("slack.option_invalid")
        data[block] = picked
    if not errors and not data["wants"] and not data["offers"]:
        errors["wants"] = texts("groups.apply.refused.nothing_chosen")
    return data, {k: v[:300] for k, v in errors.items()}
