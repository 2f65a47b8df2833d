"""Every officer as `peerbot officers list` shows them.

Read as plain rows, never ORM objects. For `--json`, each officer's JSON text is written
straight from its row, byte for byte what `json.dumps(item, ensure_ascii=False)` writes
for the same item: at 20,000 officers, decoding the stored lists, building a dict per officer
and encoding it again took 0.3 s of a command that should finish within one second.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

from storage.repositories.listings import OFFICER_COLUMNS
from storage.uow import UnitOfWork

KEYS = (*OFFICER_COLUMNS, "identities")
"""The keys of a listed officer, in order."""

_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)
_CANONICAL = re.compile(r'\[(?:"[^"\\\x00-\x1f]*"(?:, "[^"\\\x00-\x1f]*")*)?\]').fullmatch
"""A list of strings with nothing to escape, laid out as `json.dumps` lays it out: a stored list
in this form (SQLAlchemy writes JSON columns with `json.dumps`) is already the listing's text."""


def _same(value: Any) -> Any:
    return value


def _text(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def _number(value: int | None) -> str:
    return "null" if value is None else int.__repr__(value)


def _flag(value: Any) -> str:
    return "true" if value else "false"


def _list(stored: str | None) -> list[Any]:
    return list(json.loads(stored) or []) if stored is not None else []


def _list_json(stored: str | None) -> str:
    if stored is not None and _CANONICAL(stored):
        return stored
    return _ENCODER.encode(_list(stored))


@dataclass(frozen=True)
class _Kind:
    value: Callable[[Any], Any]
    """The item's value, from the column's."""
    json: Callable[[Any], str]
    """The value's JSON text, from the column's."""


_TEXT = _Kind(_same, _text)
_LIST = _Kind(_list, _list_json)
_KINDS = {
    "id": _Kind(_same, _number),
    "programme_id": _Kind(_same, _number),
    "consent": _Kind(bool, _flag),
    "languages": _LIST,
    "sectors": _LIST,
    "wants": _LIST,
    "offers": _LIST,
}
_VALUES = tuple(_KINDS.get(c, _TEXT).value for c in OFFICER_COLUMNS)
_JSONS = tuple(_KINDS.get(c, _TEXT).json for c in OFFICER_COLUMNS)
_ITEM = "{" + ", ".join(f"{encode_basestring(k)}: %s" for k in KEYS) + "}"
_ACCOUNT = '{"platform": %s, "user_id": %s}'


@dataclass(frozen=True, repr=False)
class OfficerListing:
    """The officers' rows (`OFFICER_COLUMNS`) and their accounts' (officer id, platform, user
    id), both in id order.

    No field-by-field repr: formatting 20,000 rows (as asyncio once did on the way out of
    `asyncio.run`, see `bot.cli.main.arun`) costs 0.1 s and shows nothing useful."""

    rows: Sequence[Sequence[Any]]
    accounts: Sequence[Sequence[Any]]

    def __len__(self) -> int:
        return len(self.rows)

    def items(self) -> list[dict[str, Any]]:
        """Each officer as a dict of `KEYS`; `identities` is a list of {platform, user_id}."""
        accounts: dict[int, list[dict[str, Any]]] = {}
        for officer_id, platform, user_id in self.accounts:
            accounts.setdefault(officer_id, []).append({"platform": platform, "user_id": user_id})
        return [
            {
                **dict(zip(OFFICER_COLUMNS, map(operator.call, _VALUES, row), strict=True)),
                "identities": accounts.get(row[0], []),
            }
            for row in self.rows
        ]

    def json_items(self) -> list[str]:
        """Each officer's JSON text, as `json.dumps(item, ensure_ascii=False)` writes `items()`."""
        accounts: dict[int, list[str]] = {}
        for officer_id, platform, user_id in self.accounts:
            accounts.setdefault(officer_id, []).append(_ACCOUNT % (_text(platform), _text(user_id)))
        joined = {officer_id: "[" + ", ".join(a) + "]" for officer_id, a in accounts.items()}
        call = operator.call
        return [_ITEM % (*map(call, _JSONS, row), joined.get(row[0], "[]")) for row in self.rows]


async def officer_listing(uow: UnitOfWork) -> OfficerListing:
    """Every officer with profile and identities (for whoever holds the database: every
    programme's)."""
    repo = uow.listings
    return OfficerListing(await repo.officer_rows(), await repo.identity_rows())


async def every_officer(uow: UnitOfWork) -> list[dict[str, Any]]:
    """Every officer as `peerbot officers list --json` shows them."""
    return (await officer_listing(uow)).items()
