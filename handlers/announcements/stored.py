"""The JSON an announcement keeps: its question (`Announcement.poll`) and its audience
(`Announcement.audience`), typed, and read back from the database through `poll_of` and
`audience_of`, which accept every shape ever stored and never raise on one.

The stored shapes are unchanged: a `Poll` is
`{"question", "kind", "options", "codes"[, "translations"]}` and a `StoredAudience` is the
filter (`Audience.to_json`, lists of codes by field) plus `scope` (programme ids, None: all) and,
once expanded, `not_reached` (officer id as text -> why) and `unreachable` (a count).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NotRequired, TypedDict, cast, get_args

PollKind = Literal["single", "multi", "text"]
POLL_KINDS: tuple[str, ...] = get_args(PollKind)
FILTER_FIELDS = ("countries", "sectors", "languages", "platforms", "programmes", "pairs", "roles")


class Poll(TypedDict):
    """An announcement's question: one choice, several, or a written answer."""

    question: str
    kind: str
    """One of `POLL_KINDS`; an unknown kind read back is kept as written."""
    options: list[str]
    codes: list[str | None]
    """Per option, the instrument code it names (None: none), for the officer's wants."""
    translations: NotRequired[dict[str, str]]
    """Language code -> the question in that language."""


class DraftPoll(Poll):
    """A question while the chat wizard composes it: its closing time rides along."""

    closes_at: NotRequired[str]


class StoredAudience(TypedDict, total=False):
    """`Announcement.audience`: the filter's fields, the programme scope, and who was missed."""

    countries: list[str]
    sectors: list[str]
    languages: list[str]
    platforms: list[str]
    programmes: list[str]
    pairs: list[str]
    roles: list[str]
    scope: list[int] | None
    not_reached: dict[str, str]
    unreachable: int


def poll_of(raw: object) -> Poll | None:
    """The question stored as `raw` (None when there is none: no value or an empty one), with
    the defaults the readers have always assumed: kind `single`, no options, no codes."""
    if not isinstance(raw, Mapping) or not raw:
        return None
    options = raw.get("options") or []
    codes = raw.get("codes") or []
    kind = raw.get("kind", "single")
    poll: Poll = {
        "question": str(raw.get("question") or ""),
        "kind": str(kind) if kind is not None else "single",
        "options": [str(o) for o in options] if isinstance(options, list) else [],
        "codes": [str(c) if c else None for c in codes] if isinstance(codes, list) else [],
    }
    translations = raw.get("translations")
    if isinstance(translations, Mapping) and translations:
        poll["translations"] = {str(k): str(v) for k, v in translations.items() if v}
    return poll


def question_of(raw: object) -> str | None:
    """The question of a stored poll (None: the announcement asks nothing)."""
    poll = poll_of(raw)
    return poll["question"] if poll else None


def audience_of(raw: object) -> StoredAudience:
    """The audience stored as `raw`, each field checked (a wrong one is left out)."""
    if not isinstance(raw, Mapping):
        return {}
    found: dict[str, Any] = {}
    for name in FILTER_FIELDS:
        values = raw.get(name)
        if isinstance(values, list | tuple) and values:
            found[name] = [str(v) for v in values]
    if "scope" in raw:
        scope = raw["scope"]
        found["scope"] = [int(p) for p in scope] if isinstance(scope, list | tuple) else None
    missed = raw.get("not_reached")
    if isinstance(missed, Mapping):
        found["not_reached"] = {str(k): str(v) for k, v in missed.items()}
    if "unreachable" in raw:
        found["unreachable"] = int(raw.get("unreachable") or 0)
    return cast(StoredAudience, found)


def scope_ids(audience: StoredAudience) -> list[int] | None:
    """The programme ids an audience is limited to (None: all)."""
    return audience.get("scope")


def missed_by_officer(audience: StoredAudience) -> dict[int, str]:
    """Officer id -> why they got nothing, from the expansion."""
    return {int(k): v for k, v in audience.get("not_reached", {}).items()}
