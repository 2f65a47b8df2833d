"""Officer import and export in the CSV format of DESIGN.md."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from zoneinfo import available_timezones

from sqlalchemy.exc import IntegrityError

from handlers.core.taxonomy import EU_LANGUAGES, EUROPE, Taxonomy
from storage.models import Officer, OfficerStatus, Role, utcnow
from storage.uow import UnitOfWork

COLUMNS = [
    "name",
    "email",
    "authority",
    "country",
    "role",
    "languages",
    "timezone",
    "sectors",
    "wants",
    "offers",
    "platform",
    "platform_user_id",
    "consent",
]
REQUIRED = ("name", "email", "authority", "country")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PLATFORMS = ("telegram", "slack")


class RowConflict(Exception):
    """A row that contradicts what is stored (e.g. a chat account of someone else)."""


@dataclass
class ImportReport:
    """What an import did: counts and one line per rejected row."""

    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)


def _codes(value: str) -> list[str]:
    return [c.strip() for c in (value or "").split(";") if c.strip()]


def validate_row(row: dict[str, str], taxonomy: Taxonomy) -> list[str]:
    """Every problem of one CSV row (empty when the row is good)."""
    problems = [f"missing {col}" for col in REQUIRED if not (row.get(col) or "").strip()]
    email = (row.get("email") or "").strip()
    if email and not EMAIL.match(email):
        problems.append(f"bad email {email!r}")
    country = (row.get("country") or "").strip().upper()
    if country and country not in EUROPE:
        problems.append(f"unknown country {country!r} (ISO 3166-1 alpha-2, e.g. BE)")
    role = (row.get("role") or "officer").strip().lower()
    if role not in ("officer", "coordinator"):
        problems.append(f"role must be officer or coordinator, not {role!r}")
    for lang in _codes(row.get("languages", "")):
        if lang.lower() not in EU_LANGUAGES:
            problems.append(f"unknown language {lang!r} (ISO 639-1, e.g. fr)")
    tz = (row.get("timezone") or "").strip()
    if tz and tz not in available_timezones():
        problems.append(f"unknown timezone {tz!r}")
    for col, group in (("sectors", "sectors"), ("wants", "instruments"), ("offers", "instruments")):
        known = set(taxonomy.codes(group))
        problems += [
            f"unknown {col} code {c!r}" for c in _codes(row.get(col, "")) if c not in known
        ]
    platform = (row.get("platform") or "").strip().lower()
    if platform and platform not in PLATFORMS:
        problems.append(f"platform must be telegram or slack, not {platform!r}")
    if platform and not (row.get("platform_user_id") or "").strip():
        problems.append("platform given without platform_user_id")
    consent = (row.get("consent") or "yes").strip().lower()
    if consent not in ("yes", "no"):
        problems.append(f"consent must be yes or no, not {consent!r}")
    return problems


async def import_csv(
    uow: UnitOfWork, text: str, taxonomy: Taxonomy, programme_id: int | None
) -> ImportReport:
    """Import officers; each row commits alone, so a bad row never half-writes a good one."""
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        report.errors.append(
            f"line 1: header lacks {', '.join(missing)}; expected {','.join(COLUMNS)}"
        )
        return report
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        report.errors.append(f"line 1: unknown columns {', '.join(unknown)}")
        return report
    for row in reader:
        line = reader.line_num
        row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
        problems = validate_row(row, taxonomy)
        if problems:
            report.errors.append(f"line {line}: {'; '.join(problems)}")
            continue
        try:
            created = await _upsert(uow, row, programme_id)
            await uow.commit()
        except RowConflict as exc:
            await uow.rollback()
            report.errors.append(f"line {line}: {exc}")
            continue
        except IntegrityError as exc:
            await uow.rollback()
            report.errors.append(f"line {line}: conflicts with existing data ({exc.orig})")
            continue
        if created:
            report.created += 1
        else:
            report.updated += 1
    return report


async def _upsert(uow: UnitOfWork, row: dict[str, str], programme_id: int | None) -> bool:
    authority = await uow.authorities.get_or_create(row["authority"], row["country"])
    officer = await uow.officers.by_email(row["email"])
    created = officer is None
    if officer is None:
        officer = Officer(name=row["name"], email=row["email"].lower(), programme_id=programme_id)
        await uow.officers.add(officer)
    officer.name = row["name"]
    officer.authority_id = authority.id
    officer.role = Role(row.get("role", "officer").lower() or "officer")
    officer.languages = [c.lower() for c in _codes(row.get("languages", ""))]
    officer.timezone = row.get("timezone") or officer.timezone or "Europe/Brussels"
    officer.sectors = _codes(row.get("sectors", ""))
    officer.wants = _codes(row.get("wants", ""))
    officer.offers = _codes(row.get("offers", ""))
    consent = (row.get("consent") or "yes").lower() == "yes"
    if consent and officer.consent_at is None:
        officer.consent_at = utcnow()
        officer.consent_source = "import"
    officer.status = OfficerStatus.ACTIVE if consent else OfficerStatus.PAUSED
    platform = (row.get("platform") or "").lower()
    if platform:
        identity = await uow.identities.get_or_create(platform, row["platform_user_id"])
        if identity.officer_id not in (None, officer.id):
            raise RowConflict(
                f"{platform} user {row['platform_user_id']} belongs to another officer"
            )
        identity.officer_id = officer.id
        if identity.dm_chat_id is None:
            # Telegram: a private chat's id is the user id. Slack: chat.postMessage to a user id
            # posts in the app's DM with that user (its Messages tab).
            identity.dm_chat_id = row["platform_user_id"]
    await uow.session.flush()
    return created


def export_csv(officers: list[Officer]) -> str:
    """Officers as CSV in the import format (re-importable)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for o in officers:
        ident = next((i for i in o.identities if i.platform in PLATFORMS), None)
        writer.writerow(
            {
                "name": o.name,
                "email": o.email or "",
                "authority": o.authority.name if o.authority else "",
                "country": o.authority.country if o.authority else "",
                "role": o.role.value,
                "languages": ";".join(o.languages),
                "timezone": o.timezone,
                "sectors": ";".join(o.sectors),
                "wants": ";".join(o.wants),
                "offers": ";".join(o.offers),
                "platform": ident.platform if ident else "",
                "platform_user_id": ident.user_id if ident else "",
                "consent": "yes" if o.consent_at else "no",
            }
        )
    return out.getvalue()


def officer_json(o: Officer) -> dict[str, object]:
    """An officer as the `officers list --json` object."""
    return {
        "id": o.id,
        "name": o.name,
        "email": o.email,
        "role": o.role.value,
        "status": o.status.value,
        "authority": o.authority.name if o.authority else None,
        "country": o.authority.country if o.authority else None,
        "job_title": o.job_title,
        "languages": list(o.languages),
        "locale": o.locale,
        "timezone": o.timezone,
        "sectors": list(o.sectors),
        "wants": list(o.wants),
        "offers": list(o.offers),
        "consent": o.consent_at is not None,
        "programme_id": o.programme_id,
        "identities": [{"platform": i.platform, "user_id": i.user_id} for i in o.identities],
    }
