"""Officer import and export in the CSV format of DESIGN.md.

An import reads and checks the whole file in memory first (the field rules of
`handlers.officers.fields`, the same as the chat's), then writes the good rows in batches: a few
statements per batch instead of a round trip per row, one commit per batch.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from handlers.core.taxonomy import Taxonomy
from handlers.officers import fields
from storage.errors import Conflict, conflict_detail
from storage.models import Officer, OfficerStatus, Programme, Role, utcnow
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
    "job_title",
]
REQUIRED = ("name", "email", "authority", "country")
PLATFORMS = ("telegram", "slack")
CELL_MAX = 1000  # no cell of a roster is longer; a longer one is a mistake, not data
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BATCH = 1000
Progress = Callable[[int, int], None]


@dataclass
class ImportReport:
    """What an import did: counts, one line per rejected row, one per programme change."""

    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class RosterRow:
    """One good row, cleaned and with codes resolved."""

    line: int
    name: str
    email: str
    authority: str
    country: str
    role: Role
    job_title: str | None
    languages: list[str]
    timezone: str | None
    sectors: list[str]
    wants: list[str]
    offers: list[str]
    platform: str | None
    platform_user_id: str | None
    consent: bool


def _items(value: str) -> list[str]:
    return [c.strip() for c in (value or "").split(";") if c.strip()]


def _unescape(cell: str) -> str:
    """Undo the export's formula guard (`'=…` back to `=…`) so an export re-imports as it was."""
    if len(cell) > 1 and cell[0] == "'" and cell[1] in FORMULA_START:
        return cell[1:]
    return cell


def check_row(line: int, row: dict[str, str], taxonomy: Taxonomy) -> RosterRow | list[str]:
    """One CSV row cleaned and resolved, or every problem it has."""
    problems = [f"missing {col}" for col in REQUIRED if not (row.get(col) or "").strip()]
    long = [f"{col} is {len(v)} characters long" for col, v in row.items() if len(v) > CELL_MAX]
    if long:
        return problems + long
    name = fields.clean_text(row.get("name", ""))
    if row.get("name", "").strip() and (problem := fields.name_problem(name)):
        problems.append(problem)
    email = row.get("email", "").strip().lower()
    if email and (problem := fields.email_problem(email)):
        problems.append(problem)
    authority = fields.clean_text(row.get("authority", ""))
    if row.get("authority", "").strip() and (
        problem := fields.text_problem("authority", authority)
    ):
        problems.append(problem)
    job_title = fields.clean_text(row.get("job_title", ""))
    if problem := fields.text_problem("job_title", job_title, required=False):
        problems.append(problem)
    country_text = row.get("country", "").strip()
    country = fields.country_code(country_text) if country_text else None
    if country_text and country is None:
        problems.append(f"unknown country {country_text[:60]!r} (a name or ISO code, e.g. BE)")
    role_text = (row.get("role") or "officer").strip().lower()
    if role_text not in ("officer", "coordinator"):
        problems.append(f"role must be officer or coordinator, not {role_text[:60]!r}")
    languages: list[str] = []
    for text in _items(row.get("languages", "")):
        code = fields.language_code(text)
        if code is None:
            problems.append(f"unknown language {text[:60]!r} (a name or ISO 639-1 code, e.g. fr)")
        elif code not in languages:
            languages.append(code)
    tz_text = row.get("timezone", "").strip()
    timezone = fields.timezone_of(tz_text) if tz_text else None
    if tz_text and timezone is None:
        problems.append(f"unknown timezone {tz_text[:60]!r}")
    lists: dict[str, list[str]] = {}
    for col, group in (("sectors", "sectors"), ("wants", "instruments"), ("offers", "instruments")):
        lists[col] = []
        for text in _items(row.get(col, "")):
            code = fields.taxonomy_code(taxonomy, group, text)
            if code is None:
                problems.append(f"unknown {col} code {text[:60]!r}")
            elif code not in lists[col]:
                lists[col].append(code)
    platform = row.get("platform", "").strip().lower()
    user_id = row.get("platform_user_id", "").strip()
    if platform and platform not in PLATFORMS:
        problems.append(f"platform must be telegram or slack, not {platform[:60]!r}")
    if platform and not user_id:
        problems.append("platform given without platform_user_id")
    if user_id and (len(user_id) > 64 or not user_id.replace("-", "").replace("_", "").isalnum()):
        problems.append(f"bad platform_user_id {user_id[:60]!r}")
    consent = (row.get("consent") or "yes").strip().lower()
    if consent not in ("yes", "no"):
        problems.append(f"consent must be yes or no, not {consent[:60]!r}")
    if problems:
        return problems
    return RosterRow(
        line=line,
        name=name,
        email=email,
        authority=authority,
        country=country or "",
        role=Role(role_text),
        job_title=job_title or None,
        languages=languages,
        timezone=timezone,
        sectors=lists["sectors"],
        wants=lists["wants"],
        offers=lists["offers"],
        platform=platform or None,
        platform_user_id=user_id if platform else None,
        consent=consent == "yes",
    )


def _records(text: str) -> tuple[list[tuple[int, list[str]]], str | None]:
    """The CSV records with the line each ends on, or an error that stops the reading.

    The csv module refuses a field over 128 KiB with `_csv.Error`; the limit is lifted while
    reading (the text is in memory already) and long cells are reported by `check_row`.
    """
    records: list[tuple[int, list[str]]] = []
    old = csv.field_size_limit(sys.maxsize)
    try:
        reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
        try:
            for cells in reader:
                records.append((reader.line_num, cells))
        except csv.Error as exc:
            return records, f"line {reader.line_num}: unreadable CSV ({exc}); nothing imported"
    finally:
        csv.field_size_limit(old)
    return records, None


def parse_csv(text: str, taxonomy: Taxonomy) -> tuple[list[RosterRow], list[str]]:
    """Every good row and one error line per bad row; nothing is written."""
    records, fatal = _records(text)
    if fatal:
        return [], [fatal]
    if not records:
        return [], [f"line 1: empty file; expected the header {','.join(COLUMNS)}"]
    header = [h.strip().lstrip("\ufeff").lower() for h in records[0][1]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        return [], [f"line 1: header lacks {', '.join(missing)}; expected {','.join(COLUMNS)}"]
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        return [], [f"line 1: unknown columns {', '.join(unknown)}"]
    doubled = sorted({h for h in header if header.count(h) > 1})
    if doubled:
        return [], [f"line 1: columns given twice: {', '.join(doubled)}"]
    rows: list[RosterRow] = []
    errors: list[str] = []
    emails: dict[str, int] = {}
    accounts: dict[tuple[str, str], int] = {}
    for line, cells in records[1:]:
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            errors.append(
                f"line {line}: {len(cells)} values but the header has {len(header)} columns "
                "(a value with a comma needs double quotes)"
            )
            continue
        row = {col: _unescape(cell.strip()) for col, cell in zip(header, cells, strict=False)}
        checked = check_row(line, row, taxonomy)
        if isinstance(checked, list):
            errors.append(f"line {line}: {'; '.join(checked)}")
            continue
        if checked.email in emails:
            errors.append(
                f"line {line}: email {checked.email} is already on line {emails[checked.email]}"
            )
            continue
        account = (checked.platform or "", checked.platform_user_id or "")
        if checked.platform and account in accounts:
            errors.append(
                f"line {line}: {checked.platform} user {checked.platform_user_id} is already "
                f"on line {accounts[account]}"
            )
            continue
        emails[checked.email] = line
        if checked.platform:
            accounts[account] = line
        rows.append(checked)
    return rows, errors


@dataclass
class RosterPreview:
    """What an import would do, written nowhere: rows to create, rows to update (by email),
    rejected rows as (line, reason)."""

    new: list[RosterRow] = field(default_factory=list)
    updated: list[RosterRow] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)


def split_error(error: str) -> tuple[int, str]:
    """`"line 7: missing email"` -> `(7, "missing email")` (line 0 when there is none)."""
    head, sep, reason = error.partition(": ")
    word, _, number = head.partition(" ")
    if sep and word == "line" and number.isdigit():
        return int(number), reason
    return 0, error


async def preview_csv(uow: UnitOfWork, text: str, taxonomy: Taxonomy) -> RosterPreview:
    """A dry run of `import_csv`: the same checks, then new or updated by email; no write.

    A row whose chat account belongs to another officer is only found when written, so the
    import can still reject a row the preview accepted; it reports it the same way."""
    rows, errors = parse_csv(text, taxonomy)
    stored = await uow.roster.officers_by_email([r.email for r in rows])
    preview = RosterPreview(rejected=sorted(split_error(e) for e in errors))
    for row in rows:
        (preview.updated if row.email in stored else preview.new).append(row)
    return preview


async def import_csv(
    uow: UnitOfWork,
    text: str,
    taxonomy: Taxonomy,
    programme: Programme,
    *,
    move: bool = False,
    batch: int = BATCH,
    progress: Progress | None = None,
) -> ImportReport:
    """Import officers into a programme: checked in memory, then written in batches.

    An officer whose home is another programme joins this one with the file's role there
    (their role at home is untouched); `move=True` makes this programme their home instead.
    Either is reported in `notes`. Bad rows are reported by line; good rows are kept.
    """
    report = ImportReport()
    rows, report.errors = parse_csv(text, taxonomy)
    writer = _BatchWriter(uow, programme, move, report)
    total = len(rows)
    for start in range(0, total, batch):
        await writer.write(rows[start : start + batch])
        if progress:
            progress(min(start + batch, total), total)
    report.errors.sort(key=lambda e: int(e.split(":", 1)[0].split()[1]))
    return report


class _BatchWriter:
    """Writes batches of good rows; a batch the database refuses is retried row by row so one
    bad row is reported and the others are kept."""

    def __init__(
        self, uow: UnitOfWork, programme: Programme, move: bool, report: ImportReport
    ) -> None:
        self.uow = uow
        self.repo = uow.roster
        self.programme = programme
        self.move = move
        self.report = report
        self.authorities: dict[tuple[str, str], int] | None = None
        self.slugs: dict[int, str] | None = None

    async def write(self, rows: Sequence[RosterRow]) -> None:
        try:
            created, updated, notes = await self._write(rows)
            await self.uow.commit()
        except Conflict as exc:
            await self.uow.rollback()
            self.authorities = None  # ids made in the rolled-back batch are gone
            if len(rows) == 1:
                detail = conflict_detail(exc)
                self.report.errors.append(
                    f"line {rows[0].line}: conflicts with existing data ({detail})"
                )
                return
            for row in rows:
                await self.write([row])
            return
        self.report.created += created
        self.report.updated += updated
        self.report.notes += notes

    async def _authority_ids(self, rows: Sequence[RosterRow]) -> dict[tuple[str, str], int]:
        if self.authorities is None:
            self.authorities = await self.repo.authority_ids()
        missing: dict[tuple[str, str], tuple[str, str]] = {}
        for r in rows:
            key = (r.authority.casefold(), r.country)
            if key not in self.authorities:
                missing.setdefault(key, (r.authority, r.country))
        self.authorities.update(await self.repo.add_authorities(list(missing.values())))
        return self.authorities

    async def _slug(self, programme_id: int) -> str:
        if self.slugs is None:
            self.slugs = {p.id: p.slug for p in await self.uow.programmes.list()}
        return self.slugs.get(programme_id, str(programme_id))

    async def _write(self, rows: Sequence[RosterRow]) -> tuple[int, int, list[str]]:
        programme = self.programme
        authorities = await self._authority_ids(rows)
        stored = await self.repo.officers_by_email([r.email for r in rows])
        accounts = await self.repo.identities(
            [(r.platform, r.platform_user_id) for r in rows if r.platform and r.platform_user_id]
        )
        members = await self.repo.membership_roles(programme.id, [o.id for o in stored.values()])
        now = utcnow()
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        joins: list[tuple[int, Role]] = []
        role_changes: list[tuple[int, Role]] = []
        moved: list[int] = []
        notes: list[str] = []
        kept: list[RosterRow] = []
        for r in rows:
            old = stored.get(r.email)
            account = accounts.get((r.platform or "", r.platform_user_id or ""))
            if account is not None and account.officer_id not in (None, old.id if old else None):
                self.report.errors.append(
                    f"line {r.line}: {r.platform} user {r.platform_user_id} belongs to another "
                    "officer"
                )
                continue
            kept.append(r)
            values: dict[str, Any] = {
                "name": r.name,
                "authority_id": authorities[(r.authority.casefold(), r.country)],
                "languages": r.languages,
                "sectors": r.sectors,
                "wants": r.wants,
                "offers": r.offers,
                "status": OfficerStatus.ACTIVE if r.consent else OfficerStatus.PAUSED,
                "updated_at": now,
            }
            locale = fields.officer_locale(
                old.locale if old else None, r.languages, programme.languages
            )
            if old is None:
                inserts.append(
                    values
                    | {
                        "email": r.email,
                        "programme_id": programme.id,
                        "role": r.role,
                        "job_title": r.job_title,
                        "timezone": r.timezone or "Europe/Brussels",
                        "locale": locale,
                        "consent_at": now if r.consent else None,
                        "consent_source": "import" if r.consent else None,
                        "created_at": now,
                    }
                )
                continue
            values["id"] = old.id
            values["locale"] = old.locale or locale
            if r.job_title:
                values["job_title"] = r.job_title
            if r.timezone:
                values["timezone"] = r.timezone
            if r.consent and old.consent_at is None:
                values |= {"consent_at": now, "consent_source": "import"}
            if old.programme_id in (None, programme.id) or self.move:
                if old.programme_id not in (None, programme.id):
                    moved.append(old.id)
                    notes.append(
                        f"line {r.line}: {r.email} moved from programme "
                        f"{await self._slug(old.programme_id)} to {programme.slug}"
                    )
                values |= {"programme_id": programme.id, "role": r.role}
            elif old.id not in members:
                joins.append((old.id, r.role))
                notes.append(
                    f"line {r.line}: {r.email} belongs to programme "
                    f"{await self._slug(old.programme_id)}; added to {programme.slug} as "
                    f"{r.role.value} (--move makes {programme.slug} their programme)"
                )
            elif members[old.id] != r.role:
                role_changes.append((old.id, r.role))
            updates.append(values)
        ids = await self.repo.insert_officers(inserts)
        await self.repo.update_officers(_uniform(updates))
        await self.repo.set_memberships(programme.id, joins, role_changes)
        await self.repo.drop_memberships(programme.id, moved)
        new_accounts: list[dict[str, Any]] = []
        claimed: list[dict[str, Any]] = []
        for r in kept:
            if not (r.platform and r.platform_user_id):
                continue
            officer_id = ids[r.email] if r.email in ids else stored[r.email].id
            account = accounts.get((r.platform, r.platform_user_id))
            if account is None:
                # Telegram: a private chat's id is the user id. Slack: chat.postMessage to a
                # user id posts in the app's DM with that user (its Messages tab).
                new_accounts.append(
                    {
                        "platform": r.platform,
                        "user_id": r.platform_user_id,
                        "officer_id": officer_id,
                        "dm_chat_id": r.platform_user_id,
                        "created_at": now,
                    }
                )
            elif account.officer_id is None or account.dm_chat_id is None:
                claimed.append(
                    {
                        "id": account.id,
                        "officer_id": officer_id,
                        "dm_chat_id": account.dm_chat_id or r.platform_user_id,
                    }
                )
        await self.repo.insert_identities(new_accounts)
        await self.repo.update_identities(claimed)
        return len(inserts), len(updates), notes


def _uniform(updates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Group updates by their keys so each group is one executemany."""
    return sorted(updates, key=lambda u: tuple(sorted(u)))


def _safe(value: str) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP CSV injection)."""
    return "'" + value if value.startswith(FORMULA_START) else value


def _csv_row(o: dict[str, Any]) -> dict[str, str]:
    """One export row from plain officer values (see `RosterRepo.page`)."""
    row = {
        "name": o["name"],
        "email": o["email"] or "",
        "authority": o["authority"] or "",
        "country": o["country"] or "",
        "role": o["role"].value,
        "languages": ";".join(o["languages"]),
        "timezone": o["timezone"],
        "sectors": ";".join(o["sectors"]),
        "wants": ";".join(o["wants"]),
        "offers": ";".join(o["offers"]),
        "platform": o["platform"],
        "platform_user_id": o["platform_user_id"],
        "consent": "yes" if o["consent_at"] else "no",
        "job_title": o["job_title"] or "",
    }
    return {k: _safe(v) for k, v in row.items()}


def _values(o: Officer) -> dict[str, Any]:
    ident = next((i for i in o.identities if i.platform in PLATFORMS), None)
    return {
        "name": o.name,
        "email": o.email,
        "authority": o.authority.name if o.authority else None,
        "country": o.authority.country if o.authority else None,
        "role": o.role,
        "languages": o.languages,
        "timezone": o.timezone,
        "sectors": o.sectors,
        "wants": o.wants,
        "offers": o.offers,
        "platform": ident.platform if ident else "",
        "platform_user_id": ident.user_id if ident else "",
        "consent_at": o.consent_at,
        "job_title": o.job_title,
    }


def export_csv(officers: list[Officer]) -> str:
    """Officers as CSV in the import format (re-importable; formulas neutralised)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for o in officers:
        writer.writerow(_csv_row(_values(o)))
    return out.getvalue()


async def stream_csv(uow: UnitOfWork, page: int = 1000) -> AsyncIterator[str]:
    """The whole roster as CSV text chunks, read a page of officers at a time."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    repo = uow.roster
    after = 0
    while True:
        rows = await repo.page(after, page)
        for row in rows:
            writer.writerow(_csv_row(row))
        yield out.getvalue()
        out.seek(0)
        out.truncate()
        if len(rows) < page:
            return
        after = rows[-1]["id"]
