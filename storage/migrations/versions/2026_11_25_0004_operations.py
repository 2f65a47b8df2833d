"""Schema for programmes, dashboard and hardening (reserved; filled by that area's work).

Revision ID: 0004_operations
Revises: 0003_outreach
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_operations"
down_revision: str | None = "0003_outreach"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "membership",
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum("officer", "coordinator", name="role", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["officer_id"],
            ["officer.id"],
            name=op.f("fk_membership_officer_id_officer"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"],
            ["programme.id"],
            name=op.f("fk_membership_programme_id_programme"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("officer_id", "programme_id", name=op.f("pk_membership")),
    )


def downgrade() -> None:
    op.drop_table("membership")
