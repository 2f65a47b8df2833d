"""Listings read as plain rows for commands that start a process only to print them
(`peerbot officers list`, `peerbot programmes list`).

The tables are named here with SQLAlchemy's lightweight `table()` / `column()` rather than the
ORM models: importing the models costs a process about 0.2 s, more than reading 20,000 officers.
`tests/unit/storage/test_listings.py` checks every name against the models' tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Text, cast, column, select, table

from storage.repositories.base import Repository

_officer = table(
    "officer",
    *(
        column(name)
        for name in (
            "id",
            "name",
            "email",
            "authority_id",
            "programme_id",
            "role",
            "status",
            "job_title",
            "languages",
            "locale",
            "timezone",
            "sectors",
            "wants",
            "offers",
            "consent_at",
        )
    ),
)
_authority = table("authority", column("id"), column("name"), column("country"))
_identity = table(
    "identity", column("id"), column("officer_id"), column("platform"), column("user_id")
)
_programme = table(
    "programme",
    column("id"),
    column("slug"),
    column("name"),
    column("languages", JSON),
    column("checkin_days"),
)
TABLES = (_officer, _authority, _identity, _programme)
"""The tables and columns this module names, for the test that holds them to the models."""

OFFICER_COLUMNS = (
    "id",
    "name",
    "email",
    "role",
    "status",
    "authority",
    "country",
    "job_title",
    "languages",
    "locale",
    "timezone",
    "sectors",
    "wants",
    "offers",
    "consent",
    "programme_id",
)
"""What each row of `ListingRepo.officer_rows` holds, in order."""


def _json_text(name: str) -> Any:
    # stored as JSON; read as its text, which the listing writes out unchanged when it is
    # already in the listing's layout (decoding 80,000 cells costs about 0.1 s)
    return cast(_officer.c[name], Text)


class ListingRepo(Repository):
    """Every officer and every programme as plain rows, in id order."""

    async def officer_rows(self) -> Sequence[Sequence[Any]]:
        """One row per officer, its columns as `OFFICER_COLUMNS` names them: `authority` and
        `country` from its authority (None without one), the four lists (`languages`,
        `sectors`, `wants`, `offers`) as their stored JSON text (None or "null" when unset),
        `consent` true when consent was recorded."""
        o, a = _officer.c, _authority.c
        stmt = (
            select(
                o.id,
                o.name,
                o.email,
                o.role,
                o.status,
                a.name,
                a.country,
                o.job_title,
                _json_text("languages"),
                o.locale,
                o.timezone,
                _json_text("sectors"),
                _json_text("wants"),
                _json_text("offers"),
                o.consent_at.is_not(None),
                o.programme_id,
            )  # fmt: skip
            .select_from(_officer.outerjoin(_authority, a.id == o.authority_id))
            .order_by(o.id)
        )
        return (await self.session.execute(stmt)).all()

    async def identity_rows(self) -> Sequence[Sequence[Any]]:
        """(officer id, platform, user id) of every officer's account, in id order."""
        i = _identity.c
        stmt = (
            select(i.officer_id, i.platform, i.user_id)
            .where(i.officer_id.is_not(None))
            .order_by(i.id)
        )
        return (await self.session.execute(stmt)).all()

    async def programme_rows(self) -> Sequence[Sequence[Any]]:
        """(id, slug, name, languages, checkin_days) of every programme, in id order."""
        p = _programme.c
        stmt = select(p.id, p.slug, p.name, p.languages, p.checkin_days).order_by(p.id)
        return (await self.session.execute(stmt)).all()
