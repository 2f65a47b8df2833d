"""Applications can be declined with a reason, and remember the programme whose coordinator
decided them in the console.

Revision ID: application_decision
Revises: console_audit_log
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "application_decision"
down_revision: str | None = "console_audit_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("application") as batch:
        batch.add_column(sa.Column("declined_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("decline_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("programme_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_application_programme_id_programme"),
            "programme",
            ["programme_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index(op.f("ix_application_programme_id"), ["programme_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("application") as batch:
        batch.drop_index(op.f("ix_application_programme_id"))
        batch.drop_constraint(op.f("fk_application_programme_id_programme"), type_="foreignkey")
        batch.drop_column("programme_id")
        batch.drop_column("decline_reason")
        batch.drop_column("declined_at")
