"""The domain tables of the whole programme (SQLAlchemy 2 declarative, async-ready)."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on PostgreSQL and SQLite alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with the naming convention Alembic relies on."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class Role(enum.StrEnum):
    OFFICER = "officer"
    COORDINATOR = "coordinator"


class OfficerStatus(enum.StrEnum):
    ONBOARDING = "onboarding"
    ACTIVE = "active"
    PAUSED = "paused"
    LEFT = "left"


class AuthorityKind(enum.StrEnum):
    MUNICIPALITY = "municipality"
    REGION = "region"
    AGENCY = "agency"


class PairStatus(enum.StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    INTRODUCED = "introduced"
    ACTIVE = "active"
    CLOSED = "closed"
    DECLINED = "declined"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNDELIVERABLE = "undeliverable"


class AnnouncementStatus(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class InboxStatus(enum.StrEnum):
    PENDING = "pending"
    WORKING = "working"
    DONE = "done"
    POISON = "poison"
    MALFORMED = "malformed"


class Programme(Base):
    """A cohort of the learning programme."""

    __tablename__ = "programme"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    languages: Mapped[list[Any]] = mapped_column(default=list)
    checkin_days: Mapped[int] = mapped_column(default=14)
    slack_channel_id: Mapped[str | None] = mapped_column(String(64))
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Authority(Base):
    """A city, region or energy agency."""

    __tablename__ = "authority"
    __table_args__ = (UniqueConstraint("name", "country"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    kind: Mapped[AuthorityKind] = mapped_column(
        _enum(AuthorityKind), default=AuthorityKind.MUNICIPALITY
    )
    population: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Officer(Base):
    """A person in the programme: officer (learner and/or mentor) or coordinator."""

    __tablename__ = "officer"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    authority_id: Mapped[int | None] = mapped_column(
        ForeignKey("authority.id", ondelete="SET NULL")
    )
    programme_id: Mapped[int | None] = mapped_column(
        ForeignKey("programme.id", ondelete="SET NULL")
    )
    role: Mapped[Role] = mapped_column(_enum(Role), default=Role.OFFICER)
    job_title: Mapped[str | None] = mapped_column(String(200))
    languages: Mapped[list[Any]] = mapped_column(default=list)
    locale: Mapped[str | None] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Brussels")
    sectors: Mapped[list[Any]] = mapped_column(default=list)
    wants: Mapped[list[Any]] = mapped_column(default=list)
    offers: Mapped[list[Any]] = mapped_column(default=list)
    mentor_capacity: Mapped[int] = mapped_column(default=2)
    consent_at: Mapped[datetime | None] = mapped_column()
    consent_source: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[OfficerStatus] = mapped_column(
        _enum(OfficerStatus), default=OfficerStatus.ONBOARDING
    )
    paused_until: Mapped[datetime | None] = mapped_column()
    paused_reason: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    authority: Mapped[Authority | None] = relationship(lazy="selectin")
    identities: Mapped[list[Identity]] = relationship(
        back_populates="officer", lazy="selectin", cascade="all, delete-orphan"
    )


class Identity(Base):
    """An officer's account on one platform (slack, telegram or console)."""

    __tablename__ = "identity"
    __table_args__ = (
        UniqueConstraint("platform", "user_id"),
        Index("ix_identity_officer", "officer_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(64))
    dm_chat_id: Mapped[str | None] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str | None] = mapped_column(String(16))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id", ondelete="CASCADE"))
    last_seen_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    officer: Mapped[Officer | None] = relationship(back_populates="identities")


class Conversation(Base):
    """The step of a multi-step flow, kept per identity so it survives restarts."""

    __tablename__ = "conversation"
    identity_id: Mapped[int] = mapped_column(
        ForeignKey("identity.id", ondelete="CASCADE"), primary_key=True
    )
    flow: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Invite(Base):
    """A one-time code tying a new officer to an authority (deep links) or linking accounts."""

    __tablename__ = "invite"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16), default="join")
    authority_id: Mapped[int | None] = mapped_column(ForeignKey("authority.id", ondelete="CASCADE"))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id", ondelete="CASCADE"))
    programme_id: Mapped[int | None] = mapped_column(ForeignKey("programme.id", ondelete="CASCADE"))
    """The programme a join invite adds its officer to (None: the default programme)."""
    expires_at: Mapped[datetime | None] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GoodPractice(Base):
    """A financing good practice an authority can share."""

    __tablename__ = "good_practice"
    id: Mapped[int] = mapped_column(primary_key=True)
    authority_id: Mapped[int | None] = mapped_column(
        ForeignKey("authority.id", ondelete="SET NULL")
    )
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id", ondelete="SET NULL"))
    sector: Mapped[str] = mapped_column(String(32))
    instruments: Mapped[list[Any]] = mapped_column(default=list)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict)
    investment_eur: Mapped[int | None] = mapped_column(BigInteger)
    instrument_mix: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """Share in % of the investment per instrument code (taxonomy), e.g. {"epc": 70}."""
    savings_mwh: Mapped[float | None] = mapped_column(Float)
    renewable_mwh: Mapped[float | None] = mapped_column(Float)
    co2_t: Mapped[float | None] = mapped_column(Float)
    year: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column()
    reviewed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("officer.id", ondelete="SET NULL")
    )


class MatchRound(Base):
    """One run of the matcher, reviewed by coordinators."""

    __tablename__ = "match_round"
    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int | None] = mapped_column(
        ForeignKey("programme.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    unmatched: Mapped[list[Any]] = mapped_column(default=list)


class Pair(Base):
    """A learner and a mentor working on one topic."""

    __tablename__ = "pair"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("match_round.id", ondelete="SET NULL"))
    programme_id: Mapped[int | None] = mapped_column(
        ForeignKey("programme.id", ondelete="SET NULL")
    )
    learner_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id", ondelete="SET NULL"))
    mentor_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id", ondelete="SET NULL"))
    topic: Mapped[str] = mapped_column(String(32))
    score: Mapped[float] = mapped_column(Float, default=0.0)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[PairStatus] = mapped_column(_enum(PairStatus), default=PairStatus.PROPOSED)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    threads: Mapped[dict[str, Any]] = mapped_column(default=dict)
    next_checkin_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column()
    introduced_at: Mapped[datetime | None] = mapped_column()
    intro_reminded_at: Mapped[datetime | None] = mapped_column()
    intro_escalated_at: Mapped[datetime | None] = mapped_column()
    learner_accepted_at: Mapped[datetime | None] = mapped_column()
    mentor_accepted_at: Mapped[datetime | None] = mapped_column()
    activated_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    close_reason: Mapped[str | None] = mapped_column(String(32))


class PairSpace(Base):
    """Where a pair talks on one platform: a Slack private channel or a Telegram forum topic.

    The row is reserved (chat_id None) before the platform call that creates the space, so two
    processes never create it twice; a reservation older than a lease may be taken over.
    """

    __tablename__ = "pair_space"
    __table_args__ = (
        UniqueConstraint("pair_id", "platform"),
        Index("ix_pair_space_chat", "platform", "chat_id", "thread_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pair.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str | None] = mapped_column(String(64))
    thread_id: Mapped[str] = mapped_column(String(64), default="", server_default="")
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MatchRequest(Base):
    """An officer asking for a peer on a topic; consumed by the next round."""

    __tablename__ = "match_request"
    id: Mapped[int] = mapped_column(primary_key=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officer.id", ondelete="CASCADE"))
    topic: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CheckIn(Base):
    """One scheduled check-in of a pair; unique per period so it is sent once."""

    __tablename__ = "check_in"
    __table_args__ = (UniqueConstraint("pair_id", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pair.id", ondelete="CASCADE"))
    period: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    reminded_at: Mapped[datetime | None] = mapped_column()
    answered_at: Mapped[datetime | None] = mapped_column()
    answer: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str | None] = mapped_column(Text)
    answers: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Announcement(Base):
    """A coordinator's message to all officers or a segment."""

    __tablename__ = "announcement"
    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int | None] = mapped_column(
        ForeignKey("programme.id", ondelete="SET NULL")
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    translations: Mapped[dict[str, Any]] = mapped_column(default=dict)
    audience: Mapped[dict[str, Any]] = mapped_column(default=dict)
    poll: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    send_at: Mapped[datetime | None] = mapped_column()
    closes_at: Mapped[datetime | None] = mapped_column()
    status: Mapped[AnnouncementStatus] = mapped_column(
        Enum(
            AnnouncementStatus,
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        default=AnnouncementStatus.DRAFT,
    )
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    lang: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    recipients: Mapped[int] = mapped_column(default=0, server_default="0")
    expanded_through: Mapped[int | None] = mapped_column(Integer)
    expanded_at: Mapped[datetime | None] = mapped_column()
    reminded_at: Mapped[datetime | None] = mapped_column()
    results_sent_at: Mapped[datetime | None] = mapped_column()


class PollAnswer(Base):
    """One officer's answer to an announcement's question."""

    __tablename__ = "poll_answer"
    __table_args__ = (UniqueConstraint("announcement_id", "officer_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcement.id", ondelete="CASCADE"))
    officer_id: Mapped[int] = mapped_column(ForeignKey("officer.id", ondelete="CASCADE"))
    choices: Mapped[list[Any]] = mapped_column(default=list)
    text: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)


class Outbox(Base):
    """One outgoing message; claimed atomically by a sender, sent at most once."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_chat", "platform", "chat_id"),
        Index("ix_outbox_officer", "officer_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    thread_id: Mapped[str | None] = mapped_column(String(64))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id", ondelete="SET NULL"))
    purpose: Mapped[str] = mapped_column(String(32), default="message")
    ref_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[OutboxStatus] = mapped_column(_enum(OutboxStatus), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    platform_message_id: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    priority: Mapped[int] = mapped_column(default=0, server_default="0")


class OutboxPace(Base):
    """The next free send slot of a platform, shared by every sender process (epoch seconds)."""

    __tablename__ = "outbox_pace"
    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    next_slot: Mapped[float] = mapped_column(Float)


class Discussion(Base):
    """A threaded peer discussion, mirrored on Slack and Telegram."""

    __tablename__ = "discussion"
    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int | None] = mapped_column(
        ForeignKey("programme.id", ondelete="SET NULL")
    )
    topic: Mapped[str] = mapped_column(String(300))
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id", ondelete="SET NULL"))
    threads: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open")
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    reply_count: Mapped[int] = mapped_column(default=0)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DiscussionThread(Base):
    """Where a discussion lives on one platform: a Slack thread or a Telegram forum topic."""

    __tablename__ = "discussion_thread"
    __table_args__ = (UniqueConstraint("platform", "chat_id", "thread_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    discussion_id: Mapped[int] = mapped_column(
        ForeignKey("discussion.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    thread_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DiscussionMessage(Base):
    """A stored message of a discussion (consented officers only)."""

    __tablename__ = "discussion_message"
    id: Mapped[int] = mapped_column(primary_key=True)
    discussion_id: Mapped[int] = mapped_column(ForeignKey("discussion.id", ondelete="CASCADE"))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    platform_message_id: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DiscussionFollower(Base):
    """An officer following a discussion for the daily digest."""

    __tablename__ = "discussion_follower"
    discussion_id: Mapped[int] = mapped_column(
        ForeignKey("discussion.id", ondelete="CASCADE"), primary_key=True
    )
    officer_id: Mapped[int] = mapped_column(
        ForeignKey("officer.id", ondelete="CASCADE"), primary_key=True
    )
    digest_sent_at: Mapped[datetime | None] = mapped_column()


class FaqQuery(Base):
    """A question asked and what the FAQ made of it."""

    __tablename__ = "faq_query"
    __table_args__ = (Index("ix_faq_query_identity_created", "identity_id", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id", ondelete="SET NULL"))
    identity_id: Mapped[int | None] = mapped_column(ForeignKey("identity.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str | None] = mapped_column(String(8))
    entry_id: Mapped[str | None] = mapped_column(String(80))
    score: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(16))
    feedback: Mapped[str | None] = mapped_column(String(16))
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    answer_text: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("officer.id", ondelete="SET NULL")
    )
    answered_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboxItem(Base):
    """One platform update, stored (and committed) before the platform is acknowledged.

    `conversation` orders the work: a row is handled only when no earlier row of the same
    conversation is still pending or being handled. `event` is the neutral event as JSON; a
    malformed update keeps an excerpt of its payload in `error` and is never handled.
    """

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("platform", "update_key"),
        Index("ix_inbox_due", "status", "next_attempt_at"),
        Index("ix_inbox_conversation", "conversation", "id"),
        Index("ix_inbox_received_at", "received_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    update_key: Mapped[str] = mapped_column(String(128))
    conversation: Mapped[str] = mapped_column(String(200))
    event: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[InboxStatus] = mapped_column(_enum(InboxStatus), default=InboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)


class ProcessedUpdate(Base):
    """Ingress de-duplication: each platform update or event is handled once."""

    __tablename__ = "processed_update"
    __table_args__ = (UniqueConstraint("platform", "update_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    update_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Membership(Base):
    """An officer's part in a programme besides the home one (`officer.programme_id`)."""

    __tablename__ = "membership"
    officer_id: Mapped[int] = mapped_column(
        ForeignKey("officer.id", ondelete="CASCADE"), primary_key=True
    )
    programme_id: Mapped[int] = mapped_column(
        ForeignKey("programme.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[Role] = mapped_column(_enum(Role), default=Role.OFFICER)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KeyValue(Base):
    """Small installation-wide values (the generated signing secret, the demo marker)."""

    __tablename__ = "key_value"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class DashboardToken(Base):
    """A coordinator's login to the dashboard; only the SHA-256 of the token is stored."""

    __tablename__ = "dashboard_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officer.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DashboardSession(Base):
    """A signed-in browser: the cookie holds a random id, the row only its SHA-256, so
    logout (row deleted) and revocation (token deleted, sessions cascade) act at once."""

    __tablename__ = "dashboard_session"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_id: Mapped[int] = mapped_column(
        ForeignKey("dashboard_token.id", ondelete="CASCADE"), index=True
    )
    csrf: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LearningPlan(Base):
    """What a learner authority wants to learn and for which project (one plan per authority)."""

    __tablename__ = "learning_plan"
    id: Mapped[int] = mapped_column(primary_key=True)
    authority_id: Mapped[int] = mapped_column(
        ForeignKey("authority.id", ondelete="CASCADE"), unique=True
    )
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id", ondelete="SET NULL"))
    scheme: Mapped[str] = mapped_column(String(32))
    sector: Mapped[str] = mapped_column(String(32))
    size_eur: Mapped[int | None] = mapped_column(BigInteger)
    next_step: Mapped[str] = mapped_column(Text, default="")
    target_date: Mapped[date | None] = mapped_column(Date)
    step_status: Mapped[str | None] = mapped_column(String(16))
    """How the next step stands at the last check-in: done, under_way or stuck."""
    step_checked_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OutcomeStage(Base):
    """One stage an authority reached with one scheme (learning … financed … implemented).

    A stage is recorded once per authority and scheme (recording it again corrects it); a
    scheme learnt from a mentor carries the pair and the mentor's practice (a replication).
    """

    __tablename__ = "outcome_stage"
    __table_args__ = (UniqueConstraint("authority_id", "scheme", "stage"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("authority.id", ondelete="CASCADE"))
    scheme: Mapped[str] = mapped_column(String(32))
    stage: Mapped[str] = mapped_column(String(24))
    reached_on: Mapped[date] = mapped_column(Date)
    evidence_url: Mapped[str | None] = mapped_column(String(500))
    amount_eur: Mapped[int | None] = mapped_column(BigInteger)
    instrument: Mapped[str | None] = mapped_column(String(32))
    sources: Mapped[str | None] = mapped_column(Text)
    savings_mwh: Mapped[float | None] = mapped_column(Float)
    renewable_mwh: Mapped[float | None] = mapped_column(Float)
    co2_t: Mapped[float | None] = mapped_column(Float)
    method: Mapped[str | None] = mapped_column(Text)
    pair_id: Mapped[int | None] = mapped_column(ForeignKey("pair.id", ondelete="SET NULL"))
    practice_id: Mapped[int | None] = mapped_column(
        ForeignKey("good_practice.id", ondelete="SET NULL")
    )
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("officer.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SatisfactionSurvey(Base):
    """The survey an officer gets when their pair closes: a score 1–5 and one comment."""

    __tablename__ = "satisfaction_survey"
    __table_args__ = (UniqueConstraint("pair_id", "officer_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pair.id", ondelete="CASCADE"))
    officer_id: Mapped[int] = mapped_column(ForeignKey("officer.id", ondelete="CASCADE"))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    score: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column()


class Application(Base):
    """An authority outside the programme asking to join (the public `/apply` form)."""

    __tablename__ = "application"
    id: Mapped[int] = mapped_column(primary_key=True)
    authority: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    contact_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), index=True)
    wants: Mapped[str] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(8), default="en")
    consent_at: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="pending")
    authority_id: Mapped[int | None] = mapped_column(
        ForeignKey("authority.id", ondelete="SET NULL")
    )
    invite_code: Mapped[str | None] = mapped_column(String(64))
    accepted_at: Mapped[datetime | None] = mapped_column()
    accepted_by: Mapped[str | None] = mapped_column(String(200))
    declined_at: Mapped[datetime | None] = mapped_column()
    decline_reason: Mapped[str | None] = mapped_column(Text)
    programme_id: Mapped[int | None] = mapped_column(
        ForeignKey("programme.id", ondelete="SET NULL"), index=True
    )
    """The programme whose coordinator accepted or declined it in the console (None from the
    CLI, or while pending: a request belongs to no programme until someone decides)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LearningCycle(Base):
    """A learning cycle of a programme: dates, the modules (taxonomy sectors) it covers, and
    group settings (sizes, learners per country)."""

    __tablename__ = "learning_cycle"
    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int | None] = mapped_column(
        ForeignKey("programme.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    starts_on: Mapped[datetime] = mapped_column()
    ends_on: Mapped[datetime] = mapped_column()
    modules: Mapped[list[Any]] = mapped_column(default=list)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CycleApplication(Base):
    """An officer's application to a cycle: schemes to learn (ranked) and to mentor."""

    __tablename__ = "cycle_application"
    __table_args__ = (UniqueConstraint("cycle_id", "officer_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("learning_cycle.id", ondelete="CASCADE"))
    officer_id: Mapped[int] = mapped_column(ForeignKey("officer.id", ondelete="CASCADE"))
    wants: Mapped[list[Any]] = mapped_column(default=list)
    offers: Mapped[list[Any]] = mapped_column(default=list)
    capacity: Mapped[int] = mapped_column(default=1)
    source: Mapped[str] = mapped_column(String(16), default="chat")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class GroupRound(Base):
    """One run of group formation for a cycle, with who was left out and the solver figures."""

    __tablename__ = "group_round"
    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("learning_cycle.id", ondelete="CASCADE"))
    unmatched: Mapped[list[Any]] = mapped_column(default=list)
    figures: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PeerGroup(Base):
    """Mentor and learner authorities learning one financing scheme together in a cycle."""

    __tablename__ = "peer_group"
    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(
        ForeignKey("learning_cycle.id", ondelete="CASCADE"), index=True
    )
    round_id: Mapped[int | None] = mapped_column(ForeignKey("group_round.id", ondelete="SET NULL"))
    scheme: Mapped[str] = mapped_column(String(32))
    module: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8), default="en")
    score: Mapped[float] = mapped_column(Float, default=0.0)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column()
    introduced_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    close_reason: Mapped[str | None] = mapped_column(String(32))
    last_activity_at: Mapped[datetime | None] = mapped_column()
    """The latest sign of life: a message in a space, a check-in answer, attendance, a note."""
    escalated_at: Mapped[datetime | None] = mapped_column()
    """When coordinators were told the group went silent (cleared when it comes back)."""


class GroupMember(Base):
    """An authority's seat in a group, held by one or more of its officers."""

    __tablename__ = "group_member"
    __table_args__ = (UniqueConstraint("group_id", "officer_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("peer_group.id", ondelete="CASCADE"), index=True
    )
    authority_id: Mapped[int] = mapped_column(ForeignKey("authority.id", ondelete="CASCADE"))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id", ondelete="SET NULL"))
    role: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GroupSpace(Base):
    """Where a group talks on one platform (reserved before the platform call, like pairs)."""

    __tablename__ = "group_space"
    __table_args__ = (UniqueConstraint("group_id", "platform"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("peer_group.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str | None] = mapped_column(String(64))
    thread_id: Mapped[str] = mapped_column(String(64), default="", server_default="")
    invite_link: Mapped[str | None] = mapped_column(String(300))
    """Telegram: a link that lets members join the forum supergroup (a bot cannot add them)."""
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GroupSession(Base):
    """A meeting of a group: slots proposed, members vote, the chosen one gets reminders."""

    __tablename__ = "group_session"
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("peer_group.id", ondelete="CASCADE"), index=True
    )
    slots: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default="voting")
    starts_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SessionVote(Base):
    """One member's yes to one proposed slot of a session."""

    __tablename__ = "session_vote"
    session_id: Mapped[int] = mapped_column(
        ForeignKey("group_session.id", ondelete="CASCADE"), primary_key=True
    )
    officer_id: Mapped[int] = mapped_column(
        ForeignKey("officer.id", ondelete="CASCADE"), primary_key=True
    )
    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class SessionReminder(Base):
    """A reminder due to one member before a scheduled session (sent once, by the job)."""

    __tablename__ = "session_reminder"
    __table_args__ = (
        UniqueConstraint("session_id", "officer_id", "kind"),
        Index("ix_session_reminder_due", "sent_at", "due_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("group_session.id", ondelete="CASCADE"))
    officer_id: Mapped[int] = mapped_column(ForeignKey("officer.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    due_at: Mapped[datetime] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()


class SessionAttendance(Base):
    """Whether one member attended a held session, as the mentor or a coordinator recorded."""

    __tablename__ = "session_attendance"
    session_id: Mapped[int] = mapped_column(
        ForeignKey("group_session.id", ondelete="CASCADE"), primary_key=True
    )
    officer_id: Mapped[int] = mapped_column(
        ForeignKey("officer.id", ondelete="CASCADE"), primary_key=True
    )
    present: Mapped[bool] = mapped_column(Boolean)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("officer.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class GroupNote(Base):
    """Notes or a summary kept with a group (of one session or of the group as a whole)."""

    __tablename__ = "group_note"
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("peer_group.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("group_session.id", ondelete="SET NULL")
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StudyVisit(Base):
    """A member's request for a study visit; the programme's coordinators approve or decline."""

    __tablename__ = "study_visit"
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("peer_group.id", ondelete="CASCADE"), index=True
    )
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id", ondelete="SET NULL"))
    visitors: Mapped[str] = mapped_column(String(300))
    place: Mapped[str] = mapped_column(String(200))
    dates: Mapped[str] = mapped_column(String(100))
    purpose: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="requested")
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("officer.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column()


class GroupCheckIn(Base):
    """One member's check-in of a group for one period; unique so it is asked once."""

    __tablename__ = "group_checkin"
    __table_args__ = (UniqueConstraint("group_id", "officer_id", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("peer_group.id", ondelete="CASCADE"))
    officer_id: Mapped[int] = mapped_column(ForeignKey("officer.id", ondelete="CASCADE"))
    period: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    answer: Mapped[str | None] = mapped_column(String(16))
    answered_at: Mapped[datetime | None] = mapped_column()


class AuditEntry(Base):
    """One coordinator action taken in the console (who, when, what, in which programme);
    kept so a programme can see who imported, approved, sent or answered what."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_programme_created", "programme_id", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="CASCADE"))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officer.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
