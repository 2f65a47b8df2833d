"""Segments of officers for announcements: parse a filter, describe it, select its officers.

A filter is written the same in chat and on the command line, e.g.
`country=BE,FR sector=public_lighting lang=fr platform=telegram programme=prospect pair=none`;
`everyone` (or nothing) means every active officer who consented, within the caller's
programmes. Values are matched leniently (`country=Belgium`, `sector=lighting`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from handlers.announcements.reach import Unreached
from handlers.core.taxonomy import Taxonomy, fold, match_country, match_language
from storage.models import PairStatus, Role
from storage.repositories.audience import AudienceQuery, AudienceRow
from storage.uow import UnitOfWork

PLATFORMS = ("telegram", "slack", "console")
PAIR_WORDS = ("none", "any") + tuple(s.value for s in PairStatus)
NOT_REACHED = ("unreachable", "not_started", "blocked")
"""Preview buckets of officers who are sent nothing (`handlers.announcements.reach`)."""
KEYS = {
    "country": "countries",
    "countries": "countries",
    "sector": "sectors",
    "sectors": "sectors",
    "lang": "languages",
    "language": "languages",
    "languages": "languages",
    "platform": "platforms",
    "platforms": "platforms",
    "programme": "programmes",
    "program": "programmes",
    "programmes": "programmes",
    "pair": "pairs",
    "pairs": "pairs",
    "role": "roles",
    "roles": "roles",
}
EVERYONE = {"", "everyone", "all", "everybody", "*"}
_PART = re.compile(r"([A-Za-z_]+)\s*[=:]\s*(.*?)(?=\s+[A-Za-z_]+\s*[=:]|$)", re.S)


@dataclass(frozen=True)
class Audience:
    """Who receives an announcement; empty fields do not filter."""

    countries: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    programmes: tuple[str, ...] = ()
    pairs: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()

    @property
    def everyone(self) -> bool:
        return not any(asdict(self).values())

    def to_json(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in asdict(self).items() if v}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Audience:
        data = data or {}
        names = {f.name for f in fields(cls)}
        return cls(**{k: tuple(str(x) for x in v) for k, v in data.items() if k in names})

    def text(self) -> str:
        """The filter as one would write it (`everyone` when empty)."""
        singular = {
            "countries": "country",
            "sectors": "sector",
            "languages": "lang",
            "platforms": "platform",
            "programmes": "programme",
            "pairs": "pair",
            "roles": "role",
        }
        parts = [f"{singular[k]}={','.join(v)}" for k, v in self.to_json().items()]
        return " ".join(parts) or "everyone"


def parse_audience(text: str, taxonomy: Taxonomy) -> tuple[Audience, list[str]]:
    """An audience from a written filter, and what could not be understood (as `key=value`)."""
    cleaned = text.strip()
    if fold(cleaned) in EVERYONE:
        return Audience(), []
    found: dict[str, list[str]] = {}
    problems: list[str] = []
    matches = list(_PART.finditer(cleaned))
    leftover = _PART.sub(" ", cleaned).strip()
    if leftover or not matches:
        problems.append(leftover or cleaned)
    for match in matches:
        key = KEYS.get(match.group(1).lower())
        if key is None:
            problems.append(f"{match.group(1)}=")
            continue
        for raw in re.split(r"[,;]", match.group(2)):
            value = raw.strip()
            if not value:
                continue
            code = _value(key, value, taxonomy)
            if code is None:
                problems.append(f"{match.group(1)}={value}")
            elif code not in found.setdefault(key, []):
                found[key].append(code)
    return Audience(**{k: tuple(v) for k, v in found.items()}), problems


def _value(key: str, value: str, taxonomy: Taxonomy) -> str | None:
    word = fold(value)
    if key == "countries":
        return match_country(value)
    if key == "sectors":
        return taxonomy.match("sectors", value) or _by_word(taxonomy, "sectors", word)
    if key == "languages":
        return match_language(value)
    if key == "platforms":
        return word if word in PLATFORMS else None
    if key == "pairs":
        return word if word in PAIR_WORDS else None
    if key == "roles":
        return word if word in (Role.OFFICER.value, Role.COORDINATOR.value) else None
    if key == "programmes":
        return word if re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", word) else None
    return None


def _by_word(taxonomy: Taxonomy, group: str, text: str) -> str | None:
    """The one code whose labels share a significant word with the text (`street lighting`)."""
    words = {w for w in re.findall(r"[a-z]+", text) if len(w) >= 5}
    hits = {
        code
        for code, names in taxonomy.labels.get(group, {}).items()
        for name in [code.replace("_", " "), *names.values()]
        if words & set(re.findall(r"[a-z]+", fold(name)))
    }
    return hits.pop() if len(hits) == 1 else None


async def programme_ids(uow: UnitOfWork, audience: Audience) -> tuple[set[int], list[str]]:
    """The ids of the programmes an audience names, and the slugs that do not exist."""
    found = await uow.audiences.programme_ids(audience.programmes)
    missing = [slug for slug in audience.programmes if slug not in found]
    return set(found.values()), missing


async def query_of(
    uow: UnitOfWork, audience: Audience, scope: Sequence[int] | None
) -> AudienceQuery:
    """The audience as the repository's filter, its programme slugs resolved."""
    named = frozenset((await programme_ids(uow, audience))[0]) if audience.programmes else None
    return AudienceQuery(
        countries=audience.countries,
        sectors=audience.sectors,
        languages=audience.languages,
        platforms=audience.platforms,
        pairs=audience.pairs,
        roles=audience.roles,
        programmes=named,
        scope=frozenset(scope) if scope is not None else None,
    )


async def select_chunk(
    uow: UnitOfWork,
    audience: Audience,
    scope: Sequence[int] | None,
    after: int = 0,
    limit: int = 500,
) -> tuple[int | None, list[AudienceRow]]:
    """One chunk of the audience in officer-id order after `after`: the last officer id of the
    chunk (the cursor to resume from; None when nothing is left) and its rows, each with the
    account to write to and why it gets nothing when it does. `scope` limits to programme ids
    (None: all)."""
    rows = await uow.audiences.chunk(await query_of(uow, audience, scope), after, limit)
    return (rows[-1].officer_id if rows else None), rows


async def survey(
    uow: UnitOfWork, audience: Audience, scope: Sequence[int] | None, shown: int | None = None
) -> tuple[dict[str, int], list[Unreached]]:
    """Recipients per platform, plus `unreachable` (no chat account), `not_started` (never
    pressed Start on Telegram) and `blocked`; and the officers who get nothing, and why (the
    first `shown` of each reason; None: all)."""
    totals = await count(uow, audience, scope)
    found = await uow.audiences.unreached(await query_of(uow, audience, scope), shown)
    return totals, [Unreached(officer, why) for officer, why in found]


async def count(uow: UnitOfWork, audience: Audience, scope: Sequence[int] | None) -> dict[str, int]:
    """Recipients per platform and the `NOT_REACHED` buckets, for a preview."""
    totals: dict[str, int] = {}
    for tally in await uow.audiences.tally(await query_of(uow, audience, scope)):
        where = tally.why or str(tally.platform)
        totals[where] = totals.get(where, 0) + tally.count
    return totals


async def recipients(uow: UnitOfWork, audience: Audience, scope: Sequence[int] | None) -> int:
    """How many officers of the audience can be sent to (`SELECT count(*)`)."""
    return await uow.audiences.reachable(await query_of(uow, audience, scope))
