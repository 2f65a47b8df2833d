"""The coordinators' figures: one function behind `peerbot report` and `/dashboard`.

Everything is restricted to a set of programme ids: officers who belong to them (home
programme or membership), their pairs, their questions and their announcements. Nothing of
another programme is read. Participants are the officers who consented (an officer imported
with `consent=no` is not one) and coordinate nothing. Pairs are counted by
`handlers.pairing.view.state`, one figure per state (a rejected proposal is not a declined pair,
an introduction waiting for answers is not an active pair); for past weeks the pair and its
latest check-in are rebuilt as they stood then (status from the dated columns, the silent flag
as `handlers.pairing.checkins.flag_silent` would have set it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from handlers.announcements.flow import status_json
from handlers.groups.figures import cycles_report
from handlers.outcomes.service import programme_kpis
from handlers.pairing.checkins import LAPSE
from handlers.pairing.view import ENDED, STATES, state, waiting_for
from storage.models import CheckIn, FaqQuery, Pair, PairStatus, Programme
from storage.uow import UnitOfWork

WEEKS = 12
DAYS = 30
TOP_UNANSWERED = 10
TOP_HELPFUL = 20
ANNOUNCEMENTS = 20
UNKNOWN = "unknown"


@dataclass
class Count:
    """One bar of a chart."""

    key: str
    count: int


@dataclass
class WeekHealth:
    """Pairs by state (`handlers.pairing.view.STATES`) at the end of one ISO week (or now)."""

    week: str
    at: str
    proposed: int = 0
    rejected: int = 0
    approved: int = 0
    introduced: int = 0
    active: int = 0
    stalled: int = 0
    declined: int = 0
    closed: int = 0


@dataclass
class CheckinWeek:
    """Check-ins asked in one week (by due date) and how many were answered."""

    week: str
    asked: int
    answered: int


@dataclass
class Unanswered:
    """A question the FAQ could not answer, grouped by its wording."""

    text: str
    count: int
    escalated: bool
    last_asked: str


@dataclass
class AnnouncementFigures:
    """An announcement and its delivery (as `announcements.flow.status_json` computes it)."""

    id: int
    programme: str | None
    created_at: str
    status: str
    text: str
    total: int
    sent: int
    pending: int
    failed: int
    undeliverable: int


@dataclass
class Helpful:
    """How officers rated one FAQ entry's answer ("Was this helpful?")."""

    entry_id: str
    yes: int
    no: int


@dataclass
class Report:
    """Every figure of the dashboard; `to_json()` is what `peerbot report --json` prints."""

    generated_at: str
    programmes: list[dict[str, Any]]
    participants: int
    by_country: list[Count]
    by_sector: list[Count]
    by_platform: list[Count]
    pairs_now: dict[str, int]
    pairs_by_week: list[WeekHealth]
    introductions_waiting: dict[str, int]
    checkins_asked: int
    checkins_answered: int
    checkin_answer_rate: float | None
    checkins_by_week: list[CheckinWeek]
    faq_total: int
    faq_by_day: list[Count]
    top_unanswered: list[Unanswered]
    announcements: list[AnnouncementFigures] = field(default_factory=list)
    kpis: dict[str, Any] = field(default_factory=dict)
    """The funders' indicators (`handlers.outcomes.rules.INDICATORS`), in total."""
    kpis_by_authority: list[dict[str, Any]] = field(default_factory=list)
    """The same indicators, one row per authority (the XLSX sheets)."""
    faq_helpful: list[Helpful] = field(default_factory=list)
    investments_by_instrument: dict[str, Any] = field(default_factory=dict)
    """investments_eur by instrument code (adds up to kpis['investments_eur'])."""
    investments_by_sector: dict[str, Any] = field(default_factory=dict)
    """investments_eur by sector code, 'unspecified' when no sector is known."""
    cycles: list[dict[str, Any]] = field(default_factory=list)
    """Per learning cycle: groups by scheme and module, attendance, health
    (`handlers.groups.figures`)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def week_label(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_ends(now: datetime, weeks: int = WEEKS) -> list[tuple[str, datetime]]:
    """(ISO week, moment) for the last `weeks` weeks, oldest first; the current one is `now`."""
    monday = now.date() - timedelta(days=now.weekday())
    found = []
    for back in range(weeks - 1, -1, -1):
        start = monday - timedelta(weeks=back)
        end = datetime.combine(start + timedelta(days=7), time(0), now.tzinfo)
        found.append((week_label(start), min(end, now)))
    return found


def _sorted(counter: Counter[str]) -> list[Count]:
    return [Count(k, n) for k, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))]


async def programme_scope(uow: UnitOfWork, programme_ids: Collection[int]) -> list[Programme]:
    """The programmes of these ids, by id."""
    ids = set(programme_ids)
    return [p for p in await uow.programmes.list() if p.id in ids]


def _as_of(pair: Pair, checkins: Sequence[CheckIn], at: datetime) -> tuple[Pair, CheckIn | None]:
    """A detached copy of a pair and of its latest check-in as they stood at `at`."""
    status = pair.status
    if status in ENDED and (pair.closed_at or pair.updated_at) <= at:
        pass
    elif pair.activated_at is not None and pair.activated_at <= at:
        status = PairStatus.ACTIVE
    elif pair.introduced_at is not None and pair.introduced_at <= at:
        status = PairStatus.INTRODUCED
    elif pair.approved_at is not None and pair.approved_at <= at:
        status = PairStatus.APPROVED
    elif status == PairStatus.APPROVED and pair.approved_at is None:
        pass  # approved before approval times were kept: the best known state
    else:
        status = PairStatus.PROPOSED  # not decided yet at `at` (a later reject or approval)
    seen = [c for c in checkins if c.due_at <= at]
    latest = None
    if seen and status == PairStatus.ACTIVE:
        last = seen[-1]
        answered = last.answered_at is not None and last.answered_at <= at
        latest = CheckIn(period=last.period, answer=last.answer if answered else None)
    silent = (
        status == PairStatus.ACTIVE
        and len(seen) >= 2
        and all(
            c.sent_at is not None
            and c.sent_at <= at - LAPSE
            and (c.answered_at is None or c.answered_at > at)
            for c in seen[-2:]
        )
    )
    close_reason = pair.close_reason if status in ENDED else None
    copy = Pair(status=status, flagged=silent, close_reason=close_reason)
    return copy, latest


async def _pairs(
    uow: UnitOfWork, ids: set[int], now: datetime
) -> tuple[dict[str, int], list[WeekHealth], dict[str, int]]:
    """Pairs by state now and week by week, and introductions waiting for one or both."""
    pairs, by_pair = await uow.reports.pairs_with_checkins(ids)
    now_counts = Counter(state(p, by_pair[p.id][-1] if by_pair[p.id] else None) for p in pairs)
    weeks = []
    for label, at in week_ends(now):
        if at == now:
            counts = now_counts
        else:
            counts = Counter(
                state(*_as_of(p, by_pair[p.id], at)) for p in pairs if p.created_at <= at
            )
        weeks.append(WeekHealth(label, at.isoformat(), **{s: counts.get(s, 0) for s in STATES}))
    waiting = Counter(len(waiting_for(p)) for p in pairs if p.status == PairStatus.INTRODUCED)
    return (
        {s: now_counts.get(s, 0) for s in STATES},
        weeks,
        {"one": waiting.get(1, 0), "both": waiting.get(2, 0)},
    )


async def _checkins(
    uow: UnitOfWork, ids: set[int], now: datetime
) -> tuple[int, int, list[CheckinWeek]]:
    """Check-ins actually put to the pair (an outbox row exists) and how many were answered."""
    rows = await uow.reports.asked_checkins(ids)
    labels = [label for label, _ in week_ends(now)]
    asked: Counter[str] = Counter()
    answered: Counter[str] = Counter()
    for due_at, answered_at in rows:
        label = week_label(due_at.date())
        asked[label] += 1
        answered[label] += answered_at is not None
    weekly = [CheckinWeek(w, asked[w], answered[w]) for w in labels]
    total_answered = sum(1 for _, a in rows if a is not None)
    return len(rows), total_answered, weekly


async def _helpful(uow: UnitOfWork, ids: set[int]) -> list[Helpful]:
    """Helpful counts per FAQ entry for these programmes' questions, most rated first."""
    default = await uow.programmes.default()
    counts = await uow.reports.helpful_counts(ids, default.id if default else None)
    rows = [Helpful(entry, c["yes"], c["no"]) for entry, c in counts.items()]
    rows.sort(key=lambda h: (-(h.yes + h.no), -h.no, h.entry_id))
    return rows[:TOP_HELPFUL]


async def _faq(
    uow: UnitOfWork, ids: set[int], now: datetime
) -> tuple[int, list[Count], list[Unanswered]]:
    default = await uow.programmes.default()
    first = now.date() - timedelta(days=DAYS - 1)
    since = datetime.combine(first, time(0), now.tzinfo)
    report = uow.reports
    asked = await report.question_times(ids, default.id if default else None, since, now)
    days = Counter(d.date().isoformat() for d in asked)
    per_day = [Count((first + timedelta(days=n)).isoformat(), 0) for n in range(DAYS)]
    for bar in per_day:
        bar.count = days.get(bar.key, 0)
    groups: dict[str, list[FaqQuery]] = {}
    for query in await report.unanswered(ids, 500):
        groups.setdefault(" ".join(query.text.casefold().split()), []).append(query)
    top = [
        Unanswered(
            text=rows[0].text,
            count=len(rows),
            escalated=any(q.escalated for q in rows),
            last_asked=max(q.created_at for q in rows).isoformat(),
        )
        for rows in groups.values()
    ]
    top.sort(key=lambda u: u.last_asked, reverse=True)
    top.sort(key=lambda u: (-u.count, not u.escalated))
    return sum(days.values()), per_day, top[:TOP_UNANSWERED]


async def _announcements(
    uow: UnitOfWork, programmes: Sequence[Programme]
) -> list[AnnouncementFigures]:
    slugs = {p.id: p.slug for p in programmes}
    found = []
    for ann in await uow.reports.recent_announcements(set(slugs), ANNOUNCEMENTS):
        report = await status_json(uow, ann)
        found.append(
            AnnouncementFigures(
                id=ann.id,
                programme=slugs.get(ann.programme_id or 0),
                created_at=ann.created_at.isoformat(),
                status=ann.status,
                text=" ".join(ann.text.split())[:120],
                total=report["total"],
                sent=report["sent"],
                pending=report["pending"],
                failed=report["failed"],
                undeliverable=report["undeliverable"],
            )
        )
    return found


async def build_report(uow: UnitOfWork, programme_ids: Collection[int], now: datetime) -> Report:
    """Every dashboard figure for these programmes (an empty set gives empty figures)."""
    programmes = await programme_scope(uow, programme_ids)
    ids = {p.id for p in programmes}
    reads = uow.reports
    officers = await reads.participants(ids) if ids else []
    countries: Counter[str] = Counter()
    sectors: Counter[str] = Counter()
    for _, country, their_sectors in officers:
        countries[country or UNKNOWN] += 1
        sectors.update(set(their_sectors) or {UNKNOWN})
    accounts: dict[int, set[str]] = {}
    for officer_id, platform in await reads.participant_platforms(ids) if ids else []:
        accounts.setdefault(officer_id, set()).add(platform)
    platforms: Counter[str] = Counter()
    for officer_id, _, _ in officers:
        platforms.update(accounts.get(officer_id) or {"none"})
    pairs_now, pairs_weeks, waiting = await _pairs(uow, ids, now)
    asked, answered, checkin_weeks = await _checkins(uow, ids, now)
    faq_total, faq_days, top = await _faq(uow, ids, now)
    kpis = await programme_kpis(uow, ids)
    return Report(
        generated_at=now.isoformat(),
        programmes=[{"id": p.id, "slug": p.slug, "name": p.name} for p in programmes],
        participants=len(officers),
        by_country=_sorted(countries),
        by_sector=_sorted(sectors),
        by_platform=_sorted(platforms),
        pairs_now=pairs_now,
        pairs_by_week=pairs_weeks,
        introductions_waiting=waiting,
        checkins_asked=asked,
        checkins_answered=answered,
        checkin_answer_rate=round(answered / asked, 4) if asked else None,
        checkins_by_week=checkin_weeks,
        faq_total=faq_total,
        faq_by_day=faq_days,
        top_unanswered=top,
        announcements=await _announcements(uow, programmes),
        kpis=kpis.totals,
        kpis_by_authority=kpis.by_authority,
        faq_helpful=await _helpful(uow, ids),
        investments_by_instrument=kpis.investments_by_instrument,
        investments_by_sector=kpis.investments_by_sector,
        cycles=await cycles_report(uow, ids, now),
    )
