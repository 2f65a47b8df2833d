"""Drop `issued_choice`: buttons are signed (handlers/core/choices.py), nothing reads the table.

Revision ID: drop_issued_choice
Revises: outcomes_tables
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "drop_issued_choice"
down_revision: str | None = "outcomes_tables"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("issued_choice")


def downgrade() -> None:
    op.create_table(
        "issued_choice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=True),
        sa.Column("value", sa.String(length=512), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identity.id"],
            name=op.f("fk_issued_choice_identity_id_identity"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issued_choice")),
        sa.UniqueConstraint("token", name=op.f("uq_issued_choice_token")),
    )
