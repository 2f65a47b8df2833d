"""An announcement's audience as one SQL query: who is in it, which account each is written
to, and why some can be sent nothing.

The filter (`AudienceQuery`) is compiled once into WHERE clauses on `officer`; the account is
picked in SQL as `handlers.delivery.outbox.preferred_identity` picks it (an account with a
chat, not the console unless there is no other, the one seen last, else the newest); the
reason is the one `handlers.announcements.reach.why_not` gives. Chunks are plain rows in
officer-id order (keyset pagination), counts are `GROUP BY`s: no officer is loaded as an object.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    Text,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    not_,
    null,
    or_,
    select,
)
from sqlalchemy.orm import aliased

from storage.models import (
    Authority,
    Identity,
    Officer,
    OfficerStatus,
    Outbox,
    OutboxStatus,
    Pair,
    PairStatus,
    Programme,
    Role,
)
from storage.repositories.base import Repository
from storage.repositories.officers import in_programmes

OPEN_PAIRS = (PairStatus.APPROVED, PairStatus.INTRODUCED, PairStatus.ACTIVE)
NO_ACCOUNT, NOT_STARTED, BLOCKED = "unreachable", "not_started", "blocked"


@dataclass(frozen=True)
class AudienceQuery:
    """A resolved audience filter; an empty tuple does not filter. `programmes` are the ids
    the filter names (None: not filtered; empty: nobody), `scope` the caller's programmes."""

    countries: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    pairs: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    programmes: frozenset[int] | None = None
    scope: frozenset[int] | None = None


@dataclass(frozen=True)
class AudienceRow:
    """One officer of an audience, what rendering needs of them, and their account (None:
    no chat account); `why` is set when they are sent nothing."""

    officer_id: int
    locale: str | None
    languages_json: str
    timezone: str
    identity_id: int | None
    platform: str | None
    chat_id: str | None
    identity_locale: str | None
    why: str | None

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages the officer works in (kept as stored: rendering keys on the text)."""
        return tuple(str(c) for c in json.loads(self.languages_json or "[]") or ())


@dataclass(frozen=True)
class Tally:
    """How many officers of an audience share a platform, a reason and their locales."""

    why: str | None
    platform: str | None
    locale: str | None
    identity_locale: str | None
    count: int


class AudienceRepo(Repository):
    """Officers of an announcement's audience, in SQL."""

    async def programme_ids(self, slugs: Collection[str]) -> dict[str, int]:
        """slug -> id of the programmes that exist among `slugs`."""
        if not slugs:
            return {}
        stmt = select(Programme.slug, Programme.id).where(Programme.slug.in_(list(slugs)))
        return {str(s): int(i) for s, i in (await self.session.execute(stmt)).all()}

    async def chunk(self, query: AudienceQuery, after: int, limit: int) -> list[AudienceRow]:
        """The next `limit` officers of the audience with an id above `after`, in id order."""
        stmt = self._rows(query).where(Officer.id > after).order_by(Officer.id).limit(limit)
        inner = stmt.subquery()
        outer = self._with_account(inner).order_by(inner.c.officer_id)
        return [
            AudienceRow(
                officer_id=int(r.officer_id),
                locale=r.locale,
                languages_json=r.languages or "[]",
                timezone=str(r.timezone),
                identity_id=r.identity_id,
                platform=r.platform,
                chat_id=r.chat_id,
                identity_locale=r.identity_locale,
                why=r.why,
            )
            for r in (await self.session.execute(outer)).all()
        ]

    async def tally(self, query: AudienceQuery) -> list[Tally]:
        """The audience counted by reason, platform and locales (officer's, account's)."""
        inner = self._rows(query).subquery()
        rows = self._with_account(inner).subquery()
        stmt = select(
            rows.c.why, rows.c.platform, rows.c.locale, rows.c.identity_locale, func.count()
        ).group_by(rows.c.why, rows.c.platform, rows.c.locale, rows.c.identity_locale)
        return [Tally(*r) for r in (await self.session.execute(stmt)).all()]

    async def reachable(self, query: AudienceQuery) -> int:
        """`SELECT count(*)` of the officers of the audience who can be sent to."""
        inner = self._rows(query).subquery()
        rows = self._with_account(inner).subquery()
        stmt = select(func.count()).select_from(rows).where(rows.c.why.is_(None))
        return int((await self.session.execute(stmt)).scalar_one())

    async def unreached(
        self, query: AudienceQuery, per_reason: int | None = None
    ) -> list[tuple[Officer, str]]:
        """The officers of the audience who get nothing, with why, in id order; at most
        `per_reason` of each reason (None: all)."""
        inner = self._rows(query).subquery()
        rows = self._with_account(inner).subquery()
        rank = (
            func.row_number()
            .over(partition_by=rows.c.why, order_by=rows.c.officer_id)
            .label("rank")
        )
        ranked = (
            select(rows.c.officer_id, rows.c.why, rank).where(rows.c.why.is_not(None)).subquery()
        )
        stmt = select(Officer, ranked.c.why).join(ranked, ranked.c.officer_id == Officer.id)
        if per_reason is not None:
            stmt = stmt.where(ranked.c.rank <= per_reason)
        found = (await self.session.execute(stmt.order_by(Officer.id))).all()
        return [(o, str(w)) for o, w in found]

    # -- the statement -------------------------------------------------------------------

    def _rows(self, query: AudienceQuery) -> Select[*tuple[Any, ...]]:
        """Officers of the audience with the id of the account to write to."""
        return select(
            Officer.id.label("officer_id"),
            Officer.locale,
            cast(Officer.languages, Text).label("languages"),
            Officer.timezone,
            _account(tuple(query.platforms)).label("identity_id"),
        ).where(*self._where(query))

    def _with_account(self, inner: Subquery) -> Select[*tuple[Any, ...]]:
        """The officers' rows (a subquery of `_rows`) joined to their account, with the
        reason they get nothing."""
        c = inner.c
        finished = (OutboxStatus.SENT, OutboxStatus.UNDELIVERABLE)
        newest = (
            select(Outbox.status)
            .where(Outbox.officer_id == c.officer_id, Outbox.status.in_(finished))
            .order_by(Outbox.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        why = case(
            (Identity.id.is_(None), literal(NO_ACCOUNT)),
            (
                and_(Identity.platform == "telegram", Identity.last_seen_at.is_(None)),
                literal(NOT_STARTED),
            ),
            (newest == OutboxStatus.UNDELIVERABLE, literal(BLOCKED)),
            else_=null(),
        )
        return select(
            c.officer_id,
            c.locale,
            c.languages,
            c.timezone,
            Identity.id.label("identity_id"),
            Identity.platform.label("platform"),
            Identity.dm_chat_id.label("chat_id"),
            Identity.locale.label("identity_locale"),
            why.label("why"),
        ).outerjoin(Identity, Identity.id == c.identity_id)

    def _where(self, query: AudienceQuery) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = [
            Officer.status == OfficerStatus.ACTIVE,
            Officer.consent_at.is_not(None),
        ]
        if query.scope is not None:
            where.append(in_programmes(set(query.scope)))
        if query.programmes is not None:
            where.append(in_programmes(set(query.programmes)))
        if query.countries:
            where.append(
                Officer.authority_id.in_(
                    select(Authority.id).where(Authority.country.in_(query.countries))
                )
            )
        if query.roles:
            where.append(Officer.role.in_([Role(r) for r in query.roles]))
        if query.pairs:
            where.append(_pair_clause(query.pairs))
        if query.sectors:
            where.append(self._has_any(Officer.sectors, query.sectors))
        if query.languages:
            where.append(
                or_(
                    Officer.locale.in_(query.languages),
                    self._has_any(Officer.languages, query.languages),
                )
            )
        if query.platforms:
            any_account = aliased(Identity)
            where.append(
                exists().where(
                    any_account.officer_id == Officer.id,
                    any_account.platform.in_(query.platforms),
                )
            )
        return where

    def _has_any(self, column: object, values: Sequence[str]) -> ColumnElement[bool]:
        """A JSON list column holds one of `values`."""
        name = "json_array_elements_text" if self.dialect == "postgresql" else "json_each"
        items = getattr(func, name)(column).table_valued("value").alias()
        return exists(select(literal(1)).select_from(items).where(items.c.value.in_(values)))


@lru_cache(maxsize=64)
def _account(platforms: tuple[str, ...]) -> ColumnElement[int]:
    """The id of the account an officer is written to (`preferred_identity`, per platform).

    Cached per platform tuple: the construct is immutable, and building its two aliases
    costs more than running the query on a small audience (every chunk builds it)."""
    mine, other = aliased(Identity), aliased(Identity)

    def has_chat(i: type[Identity]) -> ColumnElement[bool]:
        return and_(i.dm_chat_id.is_not(None), i.dm_chat_id != "")

    elsewhere = (
        exists()
        .where(other.officer_id == Officer.id, has_chat(other), other.platform != "console")  # type: ignore[arg-type]
        .correlate(Officer)
    )
    where = [
        mine.officer_id == Officer.id,
        has_chat(mine),  # type: ignore[arg-type]
        or_(mine.platform != "console", not_(elsewhere)),
    ]
    if platforms:
        where.append(mine.platform.in_(platforms))
    return (
        select(mine.id)
        .where(*where)
        .order_by(mine.last_seen_at.is_(None), mine.last_seen_at.desc(), mine.id.desc())
        .limit(1)
        .correlate(Officer)
        .scalar_subquery()
    )


def _pair_clause(words: Sequence[str]) -> ColumnElement[bool]:
    def in_pairs(statuses: Sequence[PairStatus]) -> ColumnElement[bool]:
        # without the NULLs of forgotten officers, which would turn `NOT IN` into nobody
        learners = select(Pair.learner_id).where(
            Pair.status.in_(statuses), Pair.learner_id.is_not(None)
        )
        mentors = select(Pair.mentor_id).where(
            Pair.status.in_(statuses), Pair.mentor_id.is_not(None)
        )
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
