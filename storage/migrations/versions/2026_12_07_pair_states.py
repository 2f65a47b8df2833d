"""Pair states that tell the truth: approval time, introduction reminders, paused officers.

Revision ID: pair_states
Revises: 0005_dashboard
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "pair_states"
down_revision: str | None = "0005_dashboard"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PAIR_TIMES = ("approved_at", "intro_reminded_at", "intro_escalated_at")


def upgrade() -> None:
    with op.batch_alter_table("pair") as batch:
        for column in PAIR_TIMES:
            batch.add_column(sa.Column(column, sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("officer") as batch:
        batch.add_column(sa.Column("paused_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("paused_reason", sa.String(length=32), nullable=True))
    # Pairs approved before this revision: the best known approval time is their introduction.
    op.execute(
        "UPDATE pair SET approved_at = COALESCE(introduced_at, updated_at) "
        "WHERE status IN ('approved', 'introduced', 'active', 'closed')"
    )


def downgrade() -> None:
    with op.batch_alter_table("officer") as batch:
        batch.drop_column("paused_reason")
        batch.drop_column("paused_until")
    with op.batch_alter_table("pair") as batch:
        for column in reversed(PAIR_TIMES):
            batch.drop_column(column)
