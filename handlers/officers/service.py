"""Roster use cases shared by the CLI (`peerbot officers import`, `peerbot invites create`) and
the console: preview an import, apply it, list a programme's officers and its invites, edit,
pause and resume one officer, create and revoke invites. Authorization inside."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from handlers.announcements.reach import never_started
from handlers.audit.service import Coordinator, NotAllowed, authorize, record
from handlers.core.content import Content
from handlers.core.taxonomy import Taxonomy
from handlers.delivery.outbox import queue_to_officer
from handlers.officers.edit import FIELDS as EDIT_FIELDS
from handlers.officers.edit import Problem, check_profile
from handlers.officers.fields import NAME_MIN, TEXT_MAX, clean_text, country_code, text_problem
from handlers.officers.pausing import LONGEST, pause_by_coordinator, resume_by_coordinator
from handlers.officers.roster import (
    ImportReport,
    Progress,
    RosterPreview,
    import_csv,
    preview_csv,
)
from handlers.pairing.view import zone
from storage.models import Invite, Officer, Programme
from storage.uow import UnitOfWork


async def _programme(uow: UnitOfWork, who: Coordinator | None, programme: Programme) -> None:
    if who is not None:
        authorize(who, programme.id)


async def preview_roster(
    uow: UnitOfWork,
    who: Coordinator | None,
    programme: Programme,
    text: str,
    taxonomy: Taxonomy,
) -> RosterPreview:
    """What importing `text` into `programme` would do; nothing is written.

    `who` is None for the CLI (whoever holds the database may import)."""
    await _programme(uow, who, programme)
    return await preview_csv(uow, text, taxonomy)


async def import_roster(
    uow: UnitOfWork,
    who: Coordinator | None,
    programme: Programme,
    text: str,
    taxonomy: Taxonomy,
    now: datetime,
    *,
    move: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a roster CSV (see `import_csv`); a console import is written to the audit log."""
    await _programme(uow, who, programme)
    report = await import_csv(uow, text, taxonomy, programme, move=move, progress=progress)
    if who is not None:
        await record(
            uow,
            who,
            programme.id,
            "roster.import",
            now,
            created=report.created,
            updated=report.updated,
            rejected=len(report.errors),
        )
        await uow.commit()
    return report


@dataclass(frozen=True)
class RosterLine:
    """An officer of the programme as the console lists them."""

    id: int
    name: str
    email: str | None
    authority: str
    country: str
    role: str
    status: str
    locale: str | None
    platforms: tuple[str, ...]
    not_started: bool
    """On Telegram but never pressed Start: the bot cannot write to them yet."""


async def roster(uow: UnitOfWork, who: Coordinator, programme_id: int) -> list[RosterLine]:
    """The programme's officers, with who has not pressed Start on Telegram yet."""
    authorize(who, programme_id)
    lines = []
    for o in await uow.console.roster(programme_id):
        lines.append(
            RosterLine(
                id=o.id,
                name=o.name,
                email=o.email,
                authority=o.authority.name if o.authority else "",
                country=o.authority.country if o.authority else "",
                role=o.role.value,
                status=o.status.value,
                locale=o.locale,
                platforms=tuple(sorted({i.platform for i in o.identities})),
                not_started=any(never_started(i) for i in o.identities)
                and not any(not never_started(i) for i in o.identities),
            )
        )
    return lines


def invite_state(used_at: datetime | None, expires_at: datetime | None, now: datetime) -> str:
    """used | expired | unused, as `peerbot invites list` and the console report an invite."""
    if used_at is not None:
        return "used"
    return "expired" if expires_at is not None and expires_at < now else "unused"


@dataclass(frozen=True)
class InviteLine:
    id: int
    code: str
    authority: str
    country: str
    state: str
    expires_at: datetime | None
    used_at: datetime | None


async def invites(
    uow: UnitOfWork, who: Coordinator, programme_id: int, now: datetime
) -> list[InviteLine]:
    """Join invites of the programme's authorities, newest first, with their state."""
    authorize(who, programme_id)
    return [
        InviteLine(
            i.id,
            i.code,
            a.name,
            a.country,
            invite_state(i.used_at, i.expires_at, now),
            i.expires_at,
            i.used_at,
        )
        for i, a in await uow.console.invites(programme_id)
    ]


@dataclass(frozen=True)
class JoinInvite:
    """A join invite of the installation as `peerbot invites list` shows it."""

    code: str
    authority: str | None
    country: str | None
    state: str
    created_at: datetime
    expires_at: datetime | None
    used_at: datetime | None


async def join_invites(uow: UnitOfWork, now: datetime) -> list[JoinInvite]:
    """Every join invite, oldest first, with its authority and state (for whoever holds the
    database: the CLI)."""
    return [
        JoinInvite(
            i.code,
            a.name if a else None,
            a.country if a else None,
            invite_state(i.used_at, i.expires_at, now),
            i.created_at,
            i.expires_at,
            i.used_at,
        )
        for i, a in await uow.invite_lists.with_authority()
    ]


# -- one officer: read, edit, pause, resume -----------------------------------------------------


@dataclass(frozen=True)
class OfficerView:
    """One officer of the programme as the edit form shows it (codes, not labels)."""

    id: int
    values: dict[str, str]
    status: str
    paused_reason: str | None
    paused_until: date | None
    """The day the pause ends, in the officer's time zone."""
    consent: bool
    platforms: tuple[str, ...]
    not_started: bool


async def _member(uow: UnitOfWork, who: Coordinator, programme_id: int, officer_id: int) -> Officer:
    authorize(who, programme_id)
    officer = await uow.console.officer(programme_id, officer_id)
    if officer is None:
        raise NotAllowed(f"officer {officer_id}")
    return officer


async def officer_view(
    uow: UnitOfWork, who: Coordinator, programme_id: int, officer_id: int
) -> OfficerView:
    """An officer of the programme, for the edit form; `NotAllowed` for anyone else."""
    o = await _member(uow, who, programme_id, officer_id)
    authority = o.authority
    values = {
        "name": o.name,
        "email": o.email or "",
        "authority": authority.name if authority else "",
        "country": authority.country if authority else "",
        "job_title": o.job_title or "",
        "languages": "; ".join(str(c) for c in o.languages),
        "timezone": o.timezone or "",
        "sectors": "; ".join(str(c) for c in o.sectors),
        "wants": "; ".join(str(c) for c in o.wants),
        "offers": "; ".join(str(c) for c in o.offers),
    }
    return OfficerView(
        id=o.id,
        values=values,
        status=o.status.value,
        paused_reason=o.paused_reason,
        paused_until=_local_day(o.paused_until, o),
        consent=o.consent_at is not None,
        platforms=tuple(sorted({i.platform for i in o.identities})),
        not_started=bool(o.identities) and all(never_started(i) for i in o.identities),
    )


def _local_day(when: datetime | None, officer: Officer) -> date | None:
    if when is None:
        return None
    aware = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return aware.astimezone(zone(officer)).date()


async def edit_officer(
    uow: UnitOfWork,
    who: Coordinator,
    programme_id: int,
    officer_id: int,
    form: Mapping[str, str],
    taxonomy: Taxonomy,
    now: datetime,
) -> dict[str, Problem]:
    """Save an officer's profile from a form checked by the roster's field rules; the problems
    by field (nothing is saved then), or none. Audit-logged with the names of changed fields."""
    officer = await _member(uow, who, programme_id, officer_id)
    checked = check_profile(form, taxonomy)
    v = checked.values
    if "email" not in checked.problems and v["email"]:
        other = await uow.officers.by_email(v["email"])
        if other is not None and other.id != officer.id:
            checked.problems["email"] = Problem("email_taken")
    if checked.problems:
        return checked.problems
    authority = await uow.authorities.get_or_create(v["authority"], v["country"])
    before = await officer_view(uow, who, programme_id, officer_id)
    officer.name = v["name"]
    officer.email = v["email"]
    officer.authority = authority
    officer.job_title = v["job_title"]
    officer.languages = v["languages"]
    officer.timezone = v["timezone"] or officer.timezone
    officer.sectors = v["sectors"]
    officer.wants = v["wants"]
    officer.offers = v["offers"]
    officer.updated_at = now
    await uow.flush()
    after = await officer_view(uow, who, programme_id, officer_id)
    changed = sorted(k for k in EDIT_FIELDS if before.values[k] != after.values[k])
    await record(uow, who, programme_id, "officer.edit", now, officer=officer.id, fields=changed)
    await uow.commit()
    return {}


async def pause_officer(
    uow: UnitOfWork,
    content: Content,
    secret: bytes,
    who: Coordinator,
    programme_id: int,
    officer_id: int,
    until: date | None,
    now: datetime,
) -> bool:
    """Pause an active officer of the programme (no check-ins, introductions or matching)
    until the start of day `until` in their time zone, or until resumed, and tell them in
    their language; False when they are not active. `until` follows `/pause until DATE`'s
    rule (after today, within a year), else `ValueError`."""
    officer = await _member(uow, who, programme_id, officer_id)
    ends = None
    if until is not None:
        tz = zone(officer)
        today = now.astimezone(tz).date()
        if until <= today or until > today + LONGEST:
            raise ValueError("date")
        ends = datetime.combine(until, time(0), tz)
    if not pause_by_coordinator(officer, ends):
        return False
    await queue_to_officer(
        uow,
        content,
        secret,
        officer,
        "pause.by_coordinators",
        idempotency_key=f"officer:{officer.id}:paused_by_coordinator:{now.isoformat()}",
        purpose="pause",
    )
    detail: dict[str, object] = {"officer": officer.id}
    if until is not None:
        detail["until"] = until.isoformat()
    await record(uow, who, programme_id, "officer.pause", now, **detail)
    await uow.commit()
    return True


async def resume_officer(
    uow: UnitOfWork,
    content: Content,
    secret: bytes,
    who: Coordinator,
    programme_id: int,
    officer_id: int,
    now: datetime,
) -> bool:
    """Bring back a paused officer of the programme who consented, and welcome them back in
    their language; False otherwise."""
    officer = await _member(uow, who, programme_id, officer_id)
    if not resume_by_coordinator(officer):
        return False
    await queue_to_officer(
        uow,
        content,
        secret,
        officer,
        "pause.resumed",
        idempotency_key=f"officer:{officer.id}:resumed_by_coordinator:{now.isoformat()}",
        values={"name": officer.name},
        purpose="pause",
    )
    await record(uow, who, programme_id, "officer.resume", now, officer=officer.id)
    await uow.commit()
    return True


# -- invites ------------------------------------------------------------------------------------

INVITE_DAYS = 30
MAX_INVITES = 500


def telegram_link(bot_username: str | None, code: str) -> str:
    """The deep link that starts the bot with a join code (`/start CODE`)."""
    return f"https://t.me/{bot_username or '<your_bot>'}?start={code}"


class InviteProblems(ValueError):
    """The invite form's problems by field (the same `Problem` as the officer form)."""

    def __init__(self, problems: dict[str, Problem]) -> None:
        super().__init__(", ".join(sorted(problems)))
        self.problems = problems


async def create_invites(
    uow: UnitOfWork,
    who: Coordinator | None,
    programme_id: int | None,
    authority: str,
    country: str,
    now: datetime,
    *,
    count: int = 1,
    days: int = INVITE_DAYS,
) -> list[str]:
    """One-time join codes for an authority (created if new), valid `days` days; an officer who
    joins with one lands in `programme_id` (None: the default programme). `who` is None for
    the CLI; a console call is authorized and audit-logged. `InviteProblems` on bad input."""
    if who is not None:
        authorize(who, programme_id)
    problems: dict[str, Problem] = {}
    name = clean_text(authority)
    if not name:
        problems["authority"] = Problem("required")
    elif text_problem("authority", name):
        problems["authority"] = Problem("text", {"min": NAME_MIN, "max": TEXT_MAX})
    code_country = country_code(country) if country.strip() else None
    if not country.strip():
        problems["country"] = Problem("required")
    elif code_country is None:
        problems["country"] = Problem("country", {"value": country.strip()[:60]})
    if not 1 <= count <= MAX_INVITES:
        problems["count"] = Problem("count", {"max": MAX_INVITES})
    if not 1 <= days <= 366:
        problems["days"] = Problem("days", {"max": 366})
    if problems:
        raise InviteProblems(problems)
    found = await uow.authorities.get_or_create(name, code_country or "")
    codes = [secrets.token_urlsafe(9) for _ in range(count)]
    for code in codes:
        await uow.console.add_invite(
            Invite(
                code=code,
                purpose="join",
                authority_id=found.id,
                programme_id=programme_id,
                expires_at=now + timedelta(days=days),
                created_at=now,
            )
        )
    if who is not None and programme_id is not None:
        await record(
            uow,
            who,
            programme_id,
            "invite.create",
            now,
            authority=found.name,
            country=found.country,
            count=count,
        )
    await uow.commit()
    return codes


async def revoke_invite(
    uow: UnitOfWork, who: Coordinator, programme_id: int, invite_id: int, now: datetime
) -> bool:
    """Make an unused invite of the programme expire now; False when it was used or expired."""
    authorize(who, programme_id)
    invite = await uow.console.invite(programme_id, invite_id)
    if invite is None:
        raise NotAllowed(f"invite {invite_id}")
    if invite_state(invite.used_at, invite.expires_at, now) != "unused":
        return False
    invite.expires_at = now
    await record(uow, who, programme_id, "invite.revoke", now, code=invite.code)
    await uow.commit()
    return True
