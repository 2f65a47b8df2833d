"""Signing coordinators in to the console: a token (from `peerbot coordinators token`) or a
server-side session opened with one, to the coordinator and the programmes they run.

The web door keeps cookies, CSRF and throttling; what a token or a session is worth is
decided here, on the repositories, so the door never reaches storage itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.uow import UnitOfWork


@dataclass(frozen=True)
class SignedIn:
    """The officer behind a valid token, as the console shows and checks them."""

    id: int
    name: str
    locale: str | None
    timezone: str = "UTC"  # where the console shows and reads times (scheduling, closing)


@dataclass(frozen=True)
class Signature:
    """A valid token's coordinator and programmes."""

    officer: SignedIn
    programme_ids: set[int]
    token_id: int


async def by_token(
    uow: UnitOfWork, now: datetime, token: str | None = None, token_id: int | None = None
) -> Signature | None:
    """The coordinator behind a token (or a token row still valid), marking the token used;
    None for an unknown, expired or revoked token or an officer who coordinates nothing."""
    repo = uow.dashboard_tokens
    row = await repo.valid(token, now) if token else None
    if row is None and token_id is not None:
        row = await repo.get_valid(token_id, now)
    officer = await uow.officers.get(row.officer_id) if row else None
    if row is None or officer is None:
        return None
    ids = await uow.officers.coordinated_programme_ids(officer)
    if not ids:
        return None
    row.last_used_at = now
    await uow.commit()
    return Signature(
        SignedIn(officer.id, officer.name, officer.locale, officer.timezone), set(ids), row.id
    )


async def session_token(uow: UnitOfWork, cookie: str, now: datetime) -> tuple[int, str] | None:
    """(token id, CSRF token) of an open session, or None."""
    session = await uow.dashboard_sessions.find(cookie, now)
    return (session.token_id, session.csrf) if session is not None else None


async def open_session(
    uow: UnitOfWork, token_id: int, now: datetime, longest: timedelta
) -> tuple[str, datetime]:
    """A new session for a signed-in token: (cookie, until), never outliving the token."""
    row = await uow.dashboard_tokens.get_valid(token_id, now)
    until = min(row.expires_at if row else now, now + longest)
    sessions = uow.dashboard_sessions
    await sessions.prune(now)
    cookie, _csrf = await sessions.open(token_id, until, now)
    await uow.commit()
    return cookie, until


async def close_session(uow: UnitOfWork, cookie: str) -> None:
    """End a session on the server: its cookie is worthless from then on."""
    await uow.dashboard_sessions.close(cookie)
    await uow.commit()


class NoToken(LookupError):
    """Why no token was issued or revoked, in words for the person at the terminal."""


@dataclass(frozen=True)
class Issued:
    """A new token (shown once: only its hash is stored) and what it opens."""

    token: str
    officer_id: int
    programmes: list[str]
    expires_at: datetime


async def issue_token(uow: UnitOfWork, email: str, ttl: timedelta, now: datetime) -> Issued:
    """A console token for a coordinator, valid for `ttl`; `NoToken` for anyone else."""
    officer = await uow.officers.by_email(email)
    if officer is None:
        raise NoToken(f"no officer with e-mail {email!r}")
    ids = await uow.officers.coordinated_programme_ids(officer)
    slugs = sorted(p.slug for p in await uow.programmes.list() if p.id in ids)
    if not slugs:
        raise NoToken(f"{email} is not a coordinator of any programme; no token issued")
    issued = await uow.dashboard_tokens.issue(officer.id, now + ttl, now)
    await uow.commit()
    return Issued(issued, officer.id, slugs, now + ttl)


async def revoke_tokens(uow: UnitOfWork, token: str | None = None, email: str | None = None) -> int:
    """Revoke one token, or every token of a coordinator (their sessions end with them);
    the number revoked, or `NoToken` when there was nothing to revoke."""
    repo = uow.dashboard_revocation
    if token is not None:
        revoked = await repo.revoke_token(token)
        if not revoked:
            raise NoToken("no such token (already revoked, expired and removed, or mistyped)")
    else:
        officer = await uow.officers.by_email(email or "")
        if officer is None:
            raise NoToken(f"no officer with e-mail {email!r}")
        revoked = await repo.revoke_officer(officer.id)
    await uow.commit()
    return revoked
