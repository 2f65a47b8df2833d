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

from sqlalchemy import or_, select

from handlers.announcements.reach import NO_ACCOUNT, Unreached, why_not
from handlers.core.taxonomy import Taxonomy, fold, match_country, match_language
from handlers.delivery.outbox import preferred_identity
from storage.models import (
    Authority,
    Identity,
    Officer,
    OfficerStatus,
    Pair,
    PairStatus,
    Programme,
    Role,
)
from storage.uow import UnitOfWork

PLATFORMS = ("telegram", "slack", "console")
PAIR_WORDS = ("none", "any") + tuple(s.value for s in PairStatus)
OPEN_PAIRS = (PairStatus.APPROVED, PairStatus.INTRODUCED, PairStatus.ACTIVE)
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


@dataclass(frozen=True)
class Recipient:
    """An officer of the audience and the account to write to (None: unreachable)."""

    officer: Officer
    identity: Identity | None


async def programme_ids(uow: UnitOfWork, audience: Audience) -> tuple[set[int], list[str]]:
    """The ids of the programmes an audience names, and the slugs that do not exist."""
    ids: set[int] = set()
    missing: list[str] = []
    for slug in audience.programmes:
        programme = (
            await uow.session.execute(select(Programme).where(Programme.slug == slug))
        ).scalar_one_or_none()
        if programme is None:
            missing.append(slug)
        else:
            ids.add(programme.id)
    return ids, missing


async def select_chunk(
    uow: UnitOfWork,
    audience: Audience,
    scope: Sequence[int] | None,
    after: int = 0,
    limit: int = 500,
) -> tuple[int | None, list[Recipient]]:
    """One chunk of the audience in officer-id order after `after`.

    Returns the last officer id looked at (the cursor to resume from; None when there was
    nothing left) and the recipients of the chunk. `scope` limits to programme ids (None: all).
    """
    stmt = (
        select(Officer)
        .where(
            Officer.id > after,
            Officer.status == OfficerStatus.ACTIVE,
            Officer.consent_at.is_not(None),
        )
        .order_by(Officer.id)
        .limit(limit)
    )
    if scope is not None:
        stmt = stmt.where(uow.officers.in_programmes(set(scope)))
    if audience.programmes:
        named, _ = await programme_ids(uow, audience)
        stmt = stmt.where(uow.officers.in_programmes(named))
    if audience.countries:
        stmt = stmt.where(
            Officer.authority_id.in_(
                select(Authority.id).where(Authority.country.in_(audience.countries))
            )
        )
    if audience.roles:
        stmt = stmt.where(Officer.role.in_([Role(r) for r in audience.roles]))
    if audience.pairs:
        stmt = stmt.where(_pair_clause(audience.pairs))
    officers = (await uow.session.execute(stmt)).scalars().all()
    if not officers:
        return None, []
    chosen: list[Recipient] = []
    for officer in officers:
        if audience.sectors and not set(audience.sectors) & set(map(str, officer.sectors)):
            continue
        if audience.languages:
            spoken = {str(c) for c in officer.languages} | {officer.locale or ""}
            if not set(audience.languages) & spoken:
                continue
        identity = _identity(officer, audience.platforms)
        if (
            audience.platforms
            and identity is None
            and not any(i.platform in audience.platforms for i in officer.identities)
        ):
            continue
        chosen.append(Recipient(officer, identity))
    return officers[-1].id, chosen


def _identity(officer: Officer, platforms: Sequence[str]) -> Identity | None:
    if not platforms:
        return preferred_identity(officer)
    options = [preferred_identity(officer, p) for p in platforms]
    reachable = [i for i in options if i is not None]
    if not reachable:
        return None
    return max(reachable, key=lambda i: (i.last_seen_at is not None, i.last_seen_at, i.id))


def _pair_clause(words: Sequence[str]) -> Any:
    def in_pairs(statuses: Sequence[PairStatus]) -> Any:
        learners = select(Pair.learner_id).where(Pair.status.in_(statuses))
        mentors = select(Pair.mentor_id).where(Pair.status.in_(statuses))
        return or_(Officer.id.in_(learners), Officer.id.in_(mentors))

    clauses = []
    statuses = [PairStatus(w) for w in words if w not in ("none", "any")]
    if statuses:
        clauses.append(in_pairs(statuses))
    if "any" in words:
        clauses.append(in_pairs(OPEN_PAIRS))
    if "none" in words:
        clauses.append(~in_pairs(OPEN_PAIRS))
    return or_(*clauses)


async def survey(
    uow: UnitOfWork, audience: Audience, scope: Sequence[int] | None
) -> tuple[dict[str, int], list[Unreached]]:
    """Recipients per platform, plus `unreachable` (no chat account), `not_started` (never
    pressed Start on Telegram) and `blocked`; and the officers who get nothing, and why."""
    totals: dict[str, int] = {}
    missed: list[Unreached] = []
    after = 0
    while True:
        last, chunk = await select_chunk(uow, audience, scope, after, 1000)
        if last is None:
            return totals, missed
        why = await why_not(uow, [(r.officer, r.identity) for r in chunk])
        for r in chunk:
            reason = why.get(r.officer.id)
            where = reason or (r.identity.platform if r.identity else NO_ACCOUNT)
            totals[where] = totals.get(where, 0) + 1
            if reason is not None:
                missed.append(Unreached(r.officer, reason))
        after = last


async def count(uow: UnitOfWork, audience: Audience, scope: Sequence[int] | None) -> dict[str, int]:
    """Recipients per platform and the `NOT_REACHED` buckets, for a preview."""
    totals, _ = await survey(uow, audience, scope)
    return totals
