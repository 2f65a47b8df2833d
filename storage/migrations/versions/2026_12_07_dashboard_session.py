"""Coordinators' dashboard sessions kept server-side (hashed), so logout and revocation
take effect at once.

Revision ID: dashboard_session
Revises: inbox
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "dashboard_session"
down_revision: str | None = "inbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dashboard_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["dashboard_token.id"],
            name=op.f("fk_dashboard_session_token_id_dashboard_token"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dashboard_session")),
        sa.UniqueConstraint("session_hash", name=op.f("uq_dashboard_session_session_hash")),
    )
    op.create_index(
        op.f("ix_dashboard_session_token_id"), "dashboard_session", ["token_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_dashboard_session_token_id"), table_name="dashboard_session")
    op.drop_table("dashboard_session")
