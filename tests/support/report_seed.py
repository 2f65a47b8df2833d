"""Two programmes' worth of officers, pairs, check-ins, questions and announcements.

Written through the real repositories; `EXPECTED_ALPHA` is what the coordinators of
programme "alpha" must see (worked out by hand from the rows below, relative to `now`).
Nothing of programme "beta" may show up in alpha's figures: its texts are in `BETA_SECRETS`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from storage.models import (
    Announcement,
    FaqQuery,
    Officer,
    OfficerStatus,
    Outbox,
    Pair,
    PairStatus,
    Programme,
    Role,
)
from storage.repositories.outbox import MAX_ATTEMPTS
from storage.uow import UnitOfWork

COORD_A = "coord-a@alpha.eu"
COORD_B = "coord-b@beta.eu"
PLAIN = "a1@ghent.be"
BETA_SECRETS = ("Beta secret question", "Beta-only announcement", "Valencia", "Zagreb")

EXPECTED_ALPHA: dict[str, Any] = {
    "participants": 4,  # not the coordinator, the one who left, nor the one without consent
    "by_country": [{"key": "BE", "count": 2}, {"key": "DE", "count": 1}, {"key": "IT", "count": 1}],
    "by_sector": [
        {"key": "mobility", "count": 2},
        {"key": "public_buildings", "count": 1},
        {"key": "public_lighting", "count": 1},
        {"key": "unknown", "count": 1},
    ],
    "by_platform": [{"key": "telegram", "count": 3}, {"key": "slack", "count": 2}],
    "pairs_now": {
        "proposed": 1,
        "rejected": 1,
        "approved": 0,
        "introduced": 1,
        "active": 1,
        "stalled": 2,
        "declined": 1,
        "closed": 1,
    },
    "checkins_asked": 6,
    "checkins_answered": 4,
    "checkin_answer_rate": 0.6667,
    "faq_total": 5,
    "top_unanswered": [
        ("How does an ESCO work?", 2, False),
        ("What is ELENA?", 1, True),
        ("Anonymous question about grants", 1, False),
        ("An old question about on-bill financing", 1, False),
    ],
    "announcements": [
        # id order is newest first: (text, status, total, sent, pending, failed, undeliverable)
        ("Second alpha announcement", "scheduled", 3, 0, 3, 0, 0),
        ("Alpha kick-off meeting on Monday", "sending", 5, 2, 1, 1, 1),
    ],
}


async def _officer(
    uow: UnitOfWork,
    name: str,
    email: str,
    programme: Programme,
    *,
    city: str | None = None,
    country: str = "BE",
    sectors: list[str] | None = None,
    platforms: tuple[str, ...] = (),
    role: Role = Role.OFFICER,
    status: OfficerStatus = OfficerStatus.ACTIVE,
    consent: bool = True,
) -> Officer:
    authority = await uow.authorities.get_or_create(city, country) if city else None
    officer = await uow.officers.add(
        Officer(
            name=name,
            email=email,
            authority_id=authority.id if authority else None,
            programme_id=programme.id,
            role=role,
            sectors=sectors or [],
            status=status,
            consent_at=datetime(2026, 1, 5, tzinfo=UTC) if consent else None,
        )
    )
    for platform in platforms:
        identity = await uow.identities.get_or_create(platform, f"{platform}-{email}", "1")
        identity.officer_id = officer.id
    await uow.session.flush()
    return officer


async def _pair(
    uow: UnitOfWork,
    programme: Programme,
    learner: Officer,
    mentor: Officer,
    now: datetime,
    *,
    created: int,
    activated: int | None,
    status: PairStatus = PairStatus.ACTIVE,
    closed: int | None = None,
    flagged: bool = False,
    introduced: int | None = -1,
    close_reason: str | None = None,
    learner_accepted: int | None = None,
) -> Pair:
    def ago(days: int | None) -> datetime | None:
        return now - timedelta(days=days) if days is not None else None

    return await uow.pairs.add(
        Pair(
            programme_id=programme.id,
            learner_id=learner.id,
            mentor_id=mentor.id,
            topic="epc",
            status=status,
            flagged=flagged,
            created_at=ago(created),
            updated_at=ago(closed) or now,
            introduced_at=ago(created - 1 if introduced == -1 else introduced),
            activated_at=ago(activated),
            closed_at=ago(closed),
            close_reason=close_reason,
            learner_accepted_at=ago(learner_accepted),
        )
    )


async def _checkin(
    uow: UnitOfWork,
    pair: Pair,
    period: int,
    now: datetime,
    due: int,
    answered: int | None = None,
    answer: str | None = None,
    asked: bool = True,
) -> None:
    """A check-in due `due` days ago, sent then (an outbox row when `asked`)."""
    repo = uow.checkins
    await repo.create(pair.id, period, now - timedelta(days=due))
    checkin = next(c for c in await repo.recent(pair.id, 10) if c.period == period)
    checkin.sent_at = now - timedelta(days=due)
    if answered is not None:
        checkin.answered_at = now - timedelta(days=answered)
        checkin.answer = answer
    if asked:
        await uow.outbox.enqueue(
            f"checkin:{pair.id}:{period}:{pair.learner_id}",
            "telegram",
            "1",
            {"text": "How is it going?"},
            officer_id=pair.learner_id,
            purpose="checkin",
            ref_id=checkin.id,
        )
    await uow.session.flush()


def _question(
    uow: UnitOfWork,
    officer: Officer | None,
    text: str,
    when: datetime,
    outcome: str = "unknown",
    escalated: bool = False,
) -> None:
    uow.session.add(
        FaqQuery(
            officer_id=officer.id if officer else None,
            text=text,
            lang="en",
            outcome=outcome,
            escalated=escalated,
            created_at=when,
        )
    )


async def _announcement(
    uow: UnitOfWork,
    programme: Programme,
    author: Officer,
    text: str,
    now: datetime,
    status: str,
    recipients: int,
    outcomes: list[str],
) -> None:
    ann = await uow.announcements.add(
        Announcement(
            programme_id=programme.id,
            author_id=author.id,
            text=text,
            status=status,
            recipients=recipients,
            created_at=now,
        )
    )
    for n, outcome in enumerate(outcomes):
        key = f"announcement:{ann.id}:{n}"
        await uow.outbox.enqueue(
            key, "telegram", str(n), {"text": text}, purpose="announcement", ref_id=ann.id
        )
        row_id = (
            await uow.session.execute(select(Outbox.id).where(Outbox.idempotency_key == key))
        ).scalar_one()
        if outcome == "sent":
            await uow.outbox.mark_sent(row_id, "m1", now)
        elif outcome == "failed":
            await uow.outbox.mark_retry(row_id, timedelta(0), "boom", MAX_ATTEMPTS, now)
        elif outcome == "undeliverable":
            await uow.outbox.mark_undeliverable(row_id, "blocked")


async def seed(uow: UnitOfWork, now: datetime) -> tuple[Programme, Programme]:
    """Programmes alpha (first, so the default one) and beta; commits."""
    alpha = await uow.programmes.add(Programme(slug="alpha", name="Alpha cohort", languages=["en"]))
    beta = await uow.programmes.add(Programme(slug="beta", name="Beta cohort", languages=["en"]))
    coord_a = await _officer(uow, "Alice Coordinator", COORD_A, alpha, role=Role.COORDINATOR)
    a1 = await _officer(
        uow,
        "Pieter",
        PLAIN,
        alpha,
        city="Ghent",
        sectors=["public_lighting", "mobility"],
        platforms=("telegram",),
    )
    a2 = await _officer(
        uow,
        "Lotte",
        "a2@leuven.be",
        alpha,
        city="Leuven",
        sectors=["public_buildings"],
        platforms=("slack",),
    )
    a3 = await _officer(
        uow,
        "Giulia",
        "a3@milano.it",
        alpha,
        city="Milano",
        country="IT",
        platforms=("telegram", "slack"),
    )
    await _officer(
        uow,
        "Gone",
        "a4@lyon.fr",
        alpha,
        city="Lyon",
        country="FR",
        sectors=["mobility"],
        status=OfficerStatus.LEFT,
        platforms=("telegram",),
    )
    await _officer(  # imported with consent=no: not a participant
        uow,
        "Refused",
        "a5@bruges.be",
        alpha,
        city="Bruges",
        sectors=["mobility"],
        status=OfficerStatus.PAUSED,
        consent=False,
        platforms=("telegram",),
    )
    coord_b = await _officer(uow, "Bob Coordinator", COORD_B, beta, role=Role.COORDINATOR)
    shared = await _officer(
        uow,
        "Lena",
        "lena@freiburg.de",
        beta,
        city="Freiburg",
        country="DE",
        sectors=["mobility"],
        platforms=("telegram",),
    )
    await uow.officers.join(shared, alpha.id)
    b1 = await _officer(
        uow,
        "Javier",
        "b1@valencia.es",
        beta,
        city="Valencia",
        country="ES",
        sectors=["private_buildings"],
        platforms=("slack",),
    )
    b2 = await _officer(
        uow,
        "Ivana",
        "b2@zagreb.hr",
        beta,
        city="Zagreb",
        country="HR",
        sectors=["cross_sector"],
        platforms=("telegram",),
    )

    # Alpha's pairs: one active, two stalled (silent twice; "stuck"), one closed, one proposal.
    p1 = await _pair(uow, alpha, a1, a2, now, created=60, activated=56)
    await _checkin(uow, p1, 1, now, due=42, answered=41, answer="met")
    await _checkin(uow, p1, 2, now, due=28, answered=27, answer="met")
    p2 = await _pair(uow, alpha, a3, shared, now, created=50, activated=48, flagged=True)
    await _checkin(uow, p2, 1, now, due=34)
    await _checkin(uow, p2, 2, now, due=20)
    p3 = await _pair(uow, alpha, a2, a1, now, created=32, activated=30)
    await _checkin(uow, p3, 1, now, due=16, answered=15, answer="stuck")
    p4 = await _pair(
        uow, alpha, a1, a3, now, created=80, activated=75, status=PairStatus.CLOSED, closed=35
    )
    await _checkin(uow, p4, 1, now, due=61, answered=60, answer="met")
    await _checkin(uow, p4, 2, now, due=33, asked=False)  # closed before it went out
    await _pair(
        uow,
        alpha,
        a2,
        a3,
        now,
        created=1,
        activated=None,
        status=PairStatus.PROPOSED,
        introduced=None,
    )
    # A proposal a coordinator rejected, a pair a mentor declined, one waiting for its mentor.
    await _pair(
        uow,
        alpha,
        a3,
        a2,
        now,
        created=20,
        activated=None,
        status=PairStatus.DECLINED,
        closed=19,
        introduced=None,
        close_reason="rejected",
    )
    await _pair(
        uow,
        alpha,
        a3,
        a1,
        now,
        created=15,
        activated=None,
        status=PairStatus.DECLINED,
        closed=10,
        close_reason="declined_by_mentor",
    )
    await _pair(
        uow,
        alpha,
        a2,
        shared,
        now,
        created=3,
        activated=None,
        status=PairStatus.INTRODUCED,
        learner_accepted=1,
    )
    # Beta's pair: flagged, with an unanswered check-in.
    pb = await _pair(uow, beta, b1, b2, now, created=40, activated=38, flagged=True)
    await _checkin(uow, pb, 1, now, due=24)
    await _checkin(uow, pb, 2, now, due=10)

    day = timedelta(days=1)
    _question(uow, a1, "How does an ESCO work?", now - day)
    _question(uow, a1, "how does an  ESCO work?", now - day - timedelta(hours=1))
    _question(uow, a1, "What is an EPC?", now - day, outcome="answer")
    _question(uow, a1, "[picked] epc-basics", now - day, outcome="picked")
    _question(uow, a2, "What is ELENA?", now - 2 * day, escalated=True)
    _question(uow, None, "Anonymous question about grants", now - 3 * day)
    _question(uow, a1, "An old question about on-bill financing", now - 40 * day)
    _question(uow, b1, "Beta secret question", now - day, escalated=True)
    _question(uow, b2, "Beta secret question", now - 2 * day)

    await _announcement(
        uow,
        alpha,
        coord_a,
        "Alpha kick-off meeting on Monday",
        now - 3 * day,
        "sending",
        5,
        ["sent", "sent", "failed", "undeliverable"],
    )
    await _announcement(uow, alpha, coord_a, "Second alpha announcement", now, "scheduled", 3, [])
    await _announcement(
        uow, beta, coord_b, "Beta-only announcement", now - day, "done", 2, ["sent", "sent"]
    )
    await uow.commit()
    return alpha, beta


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """The parts of a report JSON that `EXPECTED_ALPHA` pins down."""
    return {
        "participants": report["participants"],
        "by_country": report["by_country"],
        "by_sector": report["by_sector"],
        "by_platform": report["by_platform"],
        "pairs_now": report["pairs_now"],
        "checkins_asked": report["checkins_asked"],
        "checkins_answered": report["checkins_answered"],
        "checkin_answer_rate": report["checkin_answer_rate"],
        "faq_total": report["faq_total"],
        "top_unanswered": [
            (q["text"], q["count"], q["escalated"]) for q in report["top_unanswered"]
        ],
        "announcements": [
            (
                a["text"],
                a["status"],
                a["total"],
                a["sent"],
                a["pending"],
                a["failed"],
                a["undeliverable"],
            )
            for a in report["announcements"]
        ],
    }
