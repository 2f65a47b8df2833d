"""Programmes, authorities, officers and their platform identities."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    and_,
    bindparam,
    delete,
    func,
    insert,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.orm import aliased, joinedload, lazyload
from sqlalchemy.orm.attributes import set_committed_value

from storage.models import (
    Authority,
    AuthorityKind,
    Conversation,
    FaqQuery,
    Identity,
    Membership,
    Officer,
    OfficerStatus,
    Programme,
    Role,
    utcnow,
)
from storage.repositories.base import Repository


def in_programmes(ids: set[int]) -> ColumnElement[bool]:
    """A WHERE clause: officers who belong to one of these programmes."""
    members = select(Membership.officer_id).where(Membership.programme_id.in_(ids))
    return or_(Officer.programme_id.in_(ids), Officer.id.in_(members))


def coordinating(ids: set[int]) -> ColumnElement[bool]:
    """A WHERE clause: officers who coordinate one of these programmes."""
    by_membership = select(Membership.officer_id).where(
        Membership.programme_id.in_(ids), Membership.role == Role.COORDINATOR
    )
    return or_(
        and_(Officer.role == Role.COORDINATOR, Officer.programme_id.in_(ids)),
        Officer.id.in_(by_membership),
    )


def participating(ids: set[int]) -> list[ColumnElement[bool]]:
    """WHERE clauses: the programmes' participants, as the report and the funders' figures
    count them (members who consented, have not left and coordinate none of them)."""
    return [
        in_programmes(ids),
        ~coordinating(ids),
        Officer.status != OfficerStatus.LEFT,
        Officer.consent_at.is_not(None),
    ]


class ProgrammeRepo(Repository):
    """Programmes (cohorts)."""

    async def get(self, programme_id: int) -> Programme | None:
        return await self.session.get(Programme, programme_id)

    async def by_slug(self, slug: str) -> Programme | None:
        return (
            await self.session.execute(select(Programme).where(Programme.slug == slug))
        ).scalar_one_or_none()

    async def list(self) -> Sequence[Programme]:
        return (
            (await self.session.execute(select(Programme).order_by(Programme.id))).scalars().all()
        )

    async def default(self) -> Programme | None:
        """The first programme: where newcomers land when nothing else says otherwise."""
        return (
            await self.session.execute(select(Programme).order_by(Programme.id).limit(1))
        ).scalar_one_or_none()

    async def default_or_create(self) -> Programme:
        """The first programme; a fresh installation gets one so every officer has a home."""
        programme = await self.default()
        if programme is None:
            programme = await self.add(
                Programme(slug="main", name="Peer-learning programme", languages=["en"])
            )
        return programme

    async def add(self, programme: Programme) -> Programme:
        self.session.add(programme)
        await self.session.flush()
        return programme


class AuthorityRepo(Repository):
    """Cities, regions and agencies."""

    async def get(self, authority_id: int) -> Authority | None:
        return await self.session.get(Authority, authority_id)

    async def find(self, name: str, country: str) -> Authority | None:
        stmt = select(Authority).where(
            func.lower(Authority.name) == name.strip().lower(), Authority.country == country.upper()
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get_or_create(
        self,
        name: str,
        country: str,
        kind: AuthorityKind = AuthorityKind.MUNICIPALITY,
        population: int | None = None,
    ) -> Authority:
        found = await self.find(name, country)
        if found is not None:
            return found
        authority = Authority(
            name=name.strip(), country=country.upper(), kind=kind, population=population
        )
        self.session.add(authority)
        await self.session.flush()
        return authority

    async def list(self, country: str | None = None) -> Sequence[Authority]:
        stmt = select(Authority).order_by(Authority.name)
        if country:
            stmt = stmt.where(Authority.country == country.upper())
        return (await self.session.execute(stmt)).scalars().all()


class OfficerRepo(Repository):
    """Officers and coordinators."""

    async def get(self, officer_id: int) -> Officer | None:
        return await self.session.get(Officer, officer_id)

    async def by_email(self, email: str) -> Officer | None:
        stmt = select(Officer).where(func.lower(Officer.email) == email.strip().lower())
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def list(
        self, programme_id: int | None = None, role: Role | None = None
    ) -> Sequence[Officer]:
        stmt = select(Officer).order_by(Officer.id)
        if programme_id is not None:
            stmt = stmt.where(Officer.programme_id == programme_id)
        if role is not None:
            stmt = stmt.where(Officer.role == role)
        return (await self.session.execute(stmt)).scalars().all()

    async def coordinators(self, programme_id: int | None = None) -> Sequence[Officer]:
        """Active coordinators (of a programme when given: home role or membership role)."""
        stmt = select(Officer).where(Officer.status == OfficerStatus.ACTIVE)
        if programme_id is None:
            stmt = stmt.where(Officer.role == Role.COORDINATOR)
        else:
            by_membership = select(Membership.officer_id).where(
                Membership.programme_id == programme_id, Membership.role == Role.COORDINATOR
            )
            stmt = stmt.where(
                or_(
                    and_(Officer.role == Role.COORDINATOR, Officer.programme_id == programme_id),
                    Officer.id.in_(by_membership),
                )
            )
        return (await self.session.execute(stmt.order_by(Officer.id))).scalars().all()

    async def programme_ids(self, officer: Officer) -> set[int]:
        """The programmes an officer belongs to: the home one and any memberships."""
        stmt = select(Membership.programme_id).where(Membership.officer_id == officer.id)
        found = set((await self.session.execute(stmt)).scalars())
        if officer.programme_id is not None:
            found.add(officer.programme_id)
        return found

    async def coordinated_programme_ids(self, officer: Officer) -> set[int]:
        """The programmes an officer coordinates (empty for a plain officer)."""
        stmt = select(Membership.programme_id).where(
            Membership.officer_id == officer.id, Membership.role == Role.COORDINATOR
        )
        found = set((await self.session.execute(stmt)).scalars())
        if officer.role == Role.COORDINATOR and officer.programme_id is not None:
            found.add(officer.programme_id)
        return found

    def in_programmes(self, programme_ids: set[int]) -> ColumnElement[bool]:
        """A WHERE clause: officers who belong to one of these programmes."""
        return in_programmes(programme_ids)

    async def join(self, officer: Officer, programme_id: int, role: Role = Role.OFFICER) -> None:
        """Add an officer to a programme (idempotent; the role is updated)."""
        if officer.programme_id is None:
            officer.programme_id = programme_id
            if role == Role.COORDINATOR:
                officer.role = Role.COORDINATOR
            await self.session.flush()
            return
        row = await self.session.get(Membership, (officer.id, programme_id))
        if row is None:
            member = Membership(officer_id=officer.id, programme_id=programme_id, role=role)
            self.session.add(member)
        else:
            row.role = role
        await self.session.flush()

    async def add(self, officer: Officer) -> Officer:
        self.session.add(officer)
        await self.session.flush()
        return officer

    async def reload_identities(self, officer: Officer) -> None:
        """Write pending changes and read the officer's identities again (after a link)."""
        await self.session.flush()
        await self.session.refresh(officer, ["identities"])

    async def delete(self, officer: Officer) -> None:
        await self.session.delete(officer)
        await self.session.flush()


@dataclass
class Caller:
    """Who wrote, read in one query: their account, officer, home programme, open flow, and
    whether they coordinate anything through a membership (then `coordinated_programme_ids`)."""

    identity: Identity
    officer: Officer | None
    programme: Programme | None
    conversation: Conversation | None
    coordinates_by_membership: bool
    questions_since: int | None = None
    """Questions asked since the `since` given (not counting picked suggestions)."""


_OtherIdentity = aliased(Identity)
"""The officer's accounts, counted in the caller's row."""


@functools.cache
def _caller_statement(with_questions: bool) -> Select[Any]:
    """The caller's SELECT, built once per process (building it cost more CPU than running
    it); `:platform`, `:user_id` and, `with_questions`, `:since` are its parameters."""
    coordinates = (
        select(Membership.officer_id)
        .where(Membership.officer_id == Identity.officer_id, Membership.role == Role.COORDINATOR)
        .exists()
    )
    accounts = (
        select(func.count())
        .where(_OtherIdentity.officer_id == Identity.officer_id)
        .scalar_subquery()
    )
    columns: list[Any] = [Identity, Officer, Programme, Conversation, coordinates, accounts]
    if with_questions:
        columns.append(
            select(func.count())
            .where(
                FaqQuery.identity_id == Identity.id,
                FaqQuery.created_at >= bindparam("since"),
                FaqQuery.outcome != "picked",
            )
            .scalar_subquery()
        )
    return (
        select(*columns)
        .outerjoin(Officer, Officer.id == Identity.officer_id)
        .outerjoin(Programme, Programme.id == Officer.programme_id)
        .outerjoin(Conversation, Conversation.identity_id == Identity.id)
        .where(Identity.platform == bindparam("platform"), Identity.user_id == bindparam("user_id"))
        # the officer's authority comes in this row; their accounts are set by `caller`
        .options(joinedload(Officer.authority), lazyload(Officer.identities))
    )


def _told(
    identity: Identity, dm_chat_id: str | None, display_name: str | None, locale: str | None
) -> dict[str, Any]:
    """The account's columns that what the platform tells changes: a new private chat, the
    first display name, the first platform locale (`/language` may replace it later)."""
    values: dict[str, Any] = {}
    if dm_chat_id and identity.dm_chat_id != dm_chat_id:
        values["dm_chat_id"] = dm_chat_id
    if display_name and not identity.display_name:
        values["display_name"] = display_name[:200]
    if locale and not identity.locale:
        values["locale"] = locale[:16]
    return values


@functools.cache
def _identity_update(columns: tuple[str, ...]) -> Any:
    """`UPDATE identity SET <columns> WHERE id = :identity_id`, a plain Core statement with one
    parameter per column (no ORM bulk-update work per call)."""
    table = Identity.__table__
    return (
        update(table)  # type: ignore[arg-type]
        .where(table.c.id == bindparam("identity_id"))  # type: ignore[attr-defined]
        .values({name: bindparam(f"new_{name}") for name in columns})
    )


class IdentityRepo(Repository):
    """Platform accounts (Slack, Telegram, console)."""

    async def caller(
        self, platform: str, user_id: str, questions_since: datetime | None = None
    ) -> Caller | None:
        """Everything the core needs about a known account, in one SELECT (None: unknown).

        Every event starts here, so the officer (with their authority), programme, open flow,
        coordinator role and (with `questions_since`) the questions rate come with the identity
        instead of one query each. The officer's accounts (`Officer.identities`, loaded with
        every officer elsewhere) are this very account when the row counts one, the common
        case; only an officer with several accounts costs a second query."""
        stmt = _caller_statement(questions_since is not None)
        values: dict[str, Any] = {"platform": platform, "user_id": user_id}
        if questions_since is not None:
            values["since"] = questions_since
        row = (await self.session.execute(stmt, values)).first()
        if row is None:
            return None
        identity, officer = row[0], row[1]
        if officer is not None and "identities" not in inspect(officer).dict:
            if int(row[5] or 0) == 1:  # the usual case: this account is the officer's only one
                set_committed_value(officer, "identities", [identity])
            else:
                found = await self.session.execute(
                    select(Identity).where(Identity.officer_id == officer.id)
                )
                set_committed_value(officer, "identities", list(found.scalars()))
        return Caller(
            identity,
            officer,
            row[2],
            row[3],
            bool(row[4]),
            int(row[6] or 0) if questions_since is not None else None,
        )

    async def questions_asked(self, identity_id: int, since: datetime) -> int:
        """Questions this account asked since then (picked suggestions not counted)."""
        stmt = select(func.count()).where(
            FaqQuery.identity_id == identity_id,
            FaqQuery.created_at >= since,
            FaqQuery.outcome != "picked",
        )
        return int((await self.session.execute(stmt)).scalar_one())

    def touch(
        self,
        identity: Identity,
        dm_chat_id: str | None = None,
        display_name: str | None = None,
        locale: str | None = None,
    ) -> None:
        """What the platform tells about a known account (written with the next flush)."""
        for name, value in _told(identity, dm_chat_id, display_name, locale).items():
            setattr(identity, name, value)

    async def note(
        self,
        identity: Identity,
        *,
        dm_chat_id: str | None = None,
        display_name: str | None = None,
        locale: str | None = None,
        seen_at: datetime | None = None,
    ) -> None:
        """What the platform tells about a known account and, with `seen_at`, when it was last
        seen, written now by one UPDATE (built once per set of columns) when anything changed.

        The loaded object gets the values as its committed state: an ORM flush of the account
        costs several times this statement, on the first message of every returning officer."""
        values = _told(identity, dm_chat_id, display_name, locale)
        if seen_at is not None:
            values["last_seen_at"] = seen_at
        if not values:
            return
        stmt = _identity_update(tuple(sorted(values)))
        params = {f"new_{name}": value for name, value in values.items()}
        await self.session.execute(stmt, {"identity_id": identity.id, **params})
        for name, value in values.items():
            set_committed_value(identity, name, value)

    async def get(self, identity_id: int) -> Identity | None:
        return await self.session.get(Identity, identity_id)

    async def find(self, platform: str, user_id: str) -> Identity | None:
        stmt = select(Identity).where(Identity.platform == platform, Identity.user_id == user_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get_or_create(
        self,
        platform: str,
        user_id: str,
        dm_chat_id: str | None = None,
        display_name: str | None = None,
        locale: str | None = None,
    ) -> Identity:
        """The identity of a platform user, created on first contact (read first: a known
        person costs one SELECT, and no write lock until the handler writes something)."""
        identity = await self.find(platform, user_id)
        if identity is None:
            stmt = self.insert_ignore(
                Identity.__table__,  # type: ignore[arg-type]
                {"platform": platform, "user_id": user_id, "created_at": utcnow()},
                ["platform", "user_id"],
            )
            await self.session.execute(stmt)
            identity = await self.find(platform, user_id)
            assert identity is not None
        self.touch(identity, dm_chat_id, display_name, locale)
        await self.session.flush()
        return identity

    async def for_officer(self, officer_id: int) -> Sequence[Identity]:
        stmt = select(Identity).where(Identity.officer_id == officer_id).order_by(Identity.id)
        return (await self.session.execute(stmt)).scalars().all()


class RosterRepo(Repository):
    """Bulk reads and writes of a roster import: a few statements per batch of rows, not a
    round trip per row (`uow.roster`)."""

    async def authority_ids(self) -> dict[tuple[str, str], int]:
        """Every authority's id by (case-folded name, country)."""
        rows = await self.session.execute(select(Authority.id, Authority.name, Authority.country))
        return {(name.casefold(), country): id_ for id_, name, country in rows}

    async def add_authorities(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Insert authorities (name, country); their ids by (case-folded name, country)."""
        if not pairs:
            return {}
        now = utcnow()
        values = [
            {"name": n, "country": c, "kind": AuthorityKind.MUNICIPALITY, "created_at": now}
            for n, c in pairs
        ]
        stmt = insert(Authority).returning(Authority.id, Authority.name, Authority.country)
        rows = await self.session.execute(stmt, values)
        return {(name.casefold(), country): id_ for id_, name, country in rows}

    async def officers_by_email(self, emails: Sequence[str]) -> dict[str, Row[Any]]:
        """Stored officers with these (lower-case) e-mails: id, programme, role, locale, consent."""
        if not emails:
            return {}
        stmt = select(
            Officer.id,
            func.lower(Officer.email).label("email"),
            Officer.programme_id,
            Officer.role,
            Officer.locale,
            Officer.consent_at,
        ).where(func.lower(Officer.email).in_(emails))
        return {row.email: row for row in await self.session.execute(stmt)}

    async def membership_roles(
        self, programme_id: int, officer_ids: Sequence[int]
    ) -> dict[int, Role]:
        """The role of each of these officers who is a member (not at home) of a programme."""
        if not officer_ids:
            return {}
        stmt = select(Membership.officer_id, Membership.role).where(
            Membership.programme_id == programme_id, Membership.officer_id.in_(officer_ids)
        )
        return {officer_id: role for officer_id, role in await self.session.execute(stmt)}

    async def identities(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Any]:
        """Stored identities by (platform, user_id): id, officer_id, dm_chat_id."""
        if not keys:
            return {}
        stmt = select(
            Identity.id,
            Identity.platform,
            Identity.user_id,
            Identity.officer_id,
            Identity.dm_chat_id,
        ).where(Identity.user_id.in_({user_id for _, user_id in keys}))
        wanted = set(keys)
        found: dict[tuple[str, str], Any] = {}
        for row in await self.session.execute(stmt):
            if (row.platform, row.user_id) in wanted:
                found[(row.platform, row.user_id)] = row
        return found

    async def insert_officers(self, values: Sequence[dict[str, Any]]) -> dict[str, int]:
        """Insert officers (an executemany: one multi-row statement per batch on PostgreSQL,
        one `executemany` call on SQLite); their ids by e-mail."""
        if not values:
            return {}
        table = Officer.__table__
        stmt = insert(table).returning(Officer.id, Officer.email)  # type: ignore[arg-type]
        # ids come back with the insert: no second look-up by e-mail
        rows = await self.session.execute(stmt, list(values))
        return {str(email).lower(): id_ for id_, email in rows}

    async def update_officers(self, values: Sequence[dict[str, Any]]) -> None:
        """Update officers by primary key (one executemany; each dict carries `id`)."""
        if values:
            await self.session.execute(update(Officer), list(values))

    async def set_memberships(
        self,
        programme_id: int,
        new: Sequence[tuple[int, Role]],
        changed: Sequence[tuple[int, Role]],
    ) -> None:
        """Add memberships of a programme and change the role of existing ones."""
        now = utcnow()
        if new:
            await self.session.execute(
                insert(Membership),
                [
                    {"officer_id": o, "programme_id": programme_id, "role": r, "created_at": now}
                    for o, r in new
                ],
            )
        if changed:
            await self.session.execute(
                update(Membership),
                [{"officer_id": o, "programme_id": programme_id, "role": r} for o, r in changed],
            )

    async def drop_memberships(self, programme_id: int, officer_ids: Sequence[int]) -> None:
        """Remove memberships of a programme (an officer moved there as their home)."""
        if officer_ids:
            await self.session.execute(
                delete(Membership).where(
                    Membership.programme_id == programme_id, Membership.officer_id.in_(officer_ids)
                )
            )

    async def insert_identities(self, values: Sequence[dict[str, Any]]) -> None:
        if values:
            await self.session.execute(insert(Identity.__table__), list(values))  # type: ignore[arg-type]

    async def update_identities(self, values: Sequence[dict[str, Any]]) -> None:
        """Update identities by primary key (each dict carries `id`)."""
        if values:
            await self.session.execute(update(Identity), list(values))

    async def page(self, after_id: int, limit: int) -> list[dict[str, Any]]:
        """Officers with an id above `after_id`, in id order, as plain rows with their authority
        and first Slack/Telegram account: an export reads the roster in bounded pages, without
        building ORM objects."""
        stmt = (
            select(
                Officer.id,
                Officer.name,
                Officer.email,
                Officer.role,
                Officer.job_title,
                Officer.languages,
                Officer.timezone,
                Officer.sectors,
                Officer.wants,
                Officer.offers,
                Officer.consent_at,
                Authority.name.label("authority"),
                Authority.country,
            )
            .outerjoin(Authority, Authority.id == Officer.authority_id)
            .where(Officer.id > after_id)
            .order_by(Officer.id)
            .limit(limit)
        )
        rows = [dict(r._mapping) for r in await self.session.execute(stmt)]
        if not rows:
            return rows
        accounts = select(Identity.officer_id, Identity.platform, Identity.user_id).where(
            Identity.officer_id.in_([r["id"] for r in rows]),
            Identity.platform.in_(("telegram", "slack")),
        )
        first: dict[int | None, tuple[str, str]] = {}
        for officer_id, platform, user_id in await self.session.execute(
            accounts.order_by(Identity.id)
        ):
            first.setdefault(officer_id, (platform, user_id))
        for r in rows:
            r["platform"], r["platform_user_id"] = first.get(r["id"], ("", ""))
        return rows
