"""Group life: space invite links, activity and escalation, attendance, notes, study visits.

Revision ID: groups_spaces_sessions
Revises: console_people_invite_programme
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "groups_spaces_sessions"
down_revision: str | None = "console_people_invite_programme"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("peer_group") as batch:
        batch.add_column(sa.Column("last_activity_at", TS, nullable=True))
        batch.add_column(sa.Column("escalated_at", TS, nullable=True))
    with op.batch_alter_table("group_space") as batch:
        batch.add_column(sa.Column("invite_link", sa.String(length=300), nullable=True))
    op.create_table(
        "session_attendance",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["group_session.id"],
            name=op.f("fk_session_attendance_session_id_group_session"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["officer_id"],
            ["officer.id"],
            name=op.f("fk_session_attendance_officer_id_officer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"],
            ["officer.id"],
            name=op.f("fk_session_attendance_recorded_by_officer"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("session_id", "officer_id", name=op.f("pk_session_attendance")),
    )
    op.create_table(
        "group_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["peer_group.id"],
            name=op.f("fk_group_note_group_id_peer_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["group_session.id"],
            name=op.f("fk_group_note_session_id_group_session"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["officer.id"],
            name=op.f("fk_group_note_author_id_officer"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_note")),
    )
    op.create_index(op.f("ix_group_note_group_id"), "group_note", ["group_id"], unique=False)
    op.create_table(
        "study_visit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        sa.Column("visitors", sa.String(length=300), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("dates", sa.String(length=100), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("decided_at", TS, nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["peer_group.id"],
            name=op.f("fk_study_visit_group_id_peer_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["officer_id"],
            ["officer.id"],
            name=op.f("fk_study_visit_officer_id_officer"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["officer.id"],
            name=op.f("fk_study_visit_decided_by_officer"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study_visit")),
    )
    op.create_index(op.f("ix_study_visit_group_id"), "study_visit", ["group_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_study_visit_group_id"), table_name="study_visit")
    op.drop_table("study_visit")
    op.drop_index(op.f("ix_group_note_group_id"), table_name="group_note")
    op.drop_table("group_note")
    op.drop_table("session_attendance")
    with op.batch_alter_table("group_space") as batch:
        batch.drop_column("invite_link")
    with op.batch_alter_table("peer_group") as batch:
        batch.drop_column("escalated_at")
        batch.drop_column("last_activity_at")
