"""Learning cycles, applications, peer-learning groups with their members and spaces, group
sessions with votes and due reminders, group check-ins.

Revision ID: groups_cycles
Revises: drop_issued_choice
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "groups_cycles"
down_revision: str | None = "drop_issued_choice"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "learning_cycle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        _when("starts_on"),
        _when("ends_on"),
        sa.Column("modules", sa.JSON(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _when("created_at"),
        _fk("learning_cycle", "programme_id", "programme", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_cycle")),
    )
    op.create_index(
        op.f("ix_learning_cycle_programme_id"), "learning_cycle", ["programme_id"], unique=False
    )
    op.create_table(
        "cycle_application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("wants", sa.JSON(), nullable=False),
        sa.Column("offers", sa.JSON(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        _fk("cycle_application", "cycle_id", "learning_cycle", "CASCADE"),
        _fk("cycle_application", "officer_id", "officer", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cycle_application")),
        sa.UniqueConstraint("cycle_id", "officer_id", name=op.f("uq_cycle_application_cycle_id")),
    )
    op.create_table(
        "group_round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("unmatched", sa.JSON(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        _when("created_at"),
        _fk("group_round", "cycle_id", "learning_cycle", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_round")),
    )
    op.create_table(
        "peer_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("scheme", sa.String(length=32), nullable=False),
        sa.Column("module", sa.String(length=32), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _when("created_at"),
        _when("approved_at", True),
        _when("introduced_at", True),
        _when("closed_at", True),
        sa.Column("close_reason", sa.String(length=32), nullable=True),
        _fk("peer_group", "cycle_id", "learning_cycle", "CASCADE"),
        _fk("peer_group", "round_id", "group_round", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_peer_group")),
    )
    op.create_index(op.f("ix_peer_group_cycle_id"), "peer_group", ["cycle_id"], unique=False)
    op.create_table(
        "group_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("authority_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        _when("created_at"),
        _fk("group_member", "group_id", "peer_group", "CASCADE"),
        _fk("group_member", "authority_id", "authority", "CASCADE"),
        _fk("group_member", "officer_id", "officer", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_member")),
        sa.UniqueConstraint("group_id", "officer_id", name=op.f("uq_group_member_group_id")),
    )
    op.create_index(op.f("ix_group_member_group_id"), "group_member", ["group_id"], unique=False)
    op.create_table(
        "group_space",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=True),
        sa.Column("thread_id", sa.String(length=64), server_default="", nullable=False),
        _when("claimed_at"),
        _when("created_at"),
        _fk("group_space", "group_id", "peer_group", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_space")),
        sa.UniqueConstraint("group_id", "platform", name=op.f("uq_group_space_group_id")),
    )
    op.create_table(
        "group_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("slots", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _when("starts_at", True),
        _when("created_at"),
        _fk("group_session", "group_id", "peer_group", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_session")),
    )
    op.create_index(op.f("ix_group_session_group_id"), "group_session", ["group_id"], unique=False)
    op.create_table(
        "session_vote",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        _fk("session_vote", "session_id", "group_session", "CASCADE"),
        _fk("session_vote", "officer_id", "officer", "CASCADE"),
        sa.PrimaryKeyConstraint("session_id", "officer_id", "slot", name=op.f("pk_session_vote")),
    )
    op.create_table(
        "session_reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        _when("due_at"),
        _when("sent_at", True),
        _fk("session_reminder", "session_id", "group_session", "CASCADE"),
        _fk("session_reminder", "officer_id", "officer", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_reminder")),
        sa.UniqueConstraint(
            "session_id", "officer_id", "kind", name=op.f("uq_session_reminder_session_id")
        ),
    )
    op.create_index("ix_session_reminder_due", "session_reminder", ["sent_at", "due_at"])
    op.create_table(
        "group_checkin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        _when("due_at"),
        _when("sent_at", True),
        sa.Column("answer", sa.String(length=16), nullable=True),
        _when("answered_at", True),
        _fk("group_checkin", "group_id", "peer_group", "CASCADE"),
        _fk("group_checkin", "officer_id", "officer", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_checkin")),
        sa.UniqueConstraint(
            "group_id", "officer_id", "period", name=op.f("uq_group_checkin_group_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("group_checkin")
    op.drop_index("ix_session_reminder_due", table_name="session_reminder")
    op.drop_table("session_reminder")
    op.drop_table("session_vote")
    op.drop_index(op.f("ix_group_session_group_id"), table_name="group_session")
    op.drop_table("group_session")
    op.drop_table("group_space")
    op.drop_index(op.f("ix_group_member_group_id"), table_name="group_member")
    op.drop_table("group_member")
    op.drop_index(op.f("ix_peer_group_cycle_id"), table_name="peer_group")
    op.drop_table("peer_group")
    op.drop_table("group_round")
    op.drop_table("cycle_application")
    op.drop_index(op.f("ix_learning_cycle_programme_id"), table_name="learning_cycle")
    op.drop_table("learning_cycle")
