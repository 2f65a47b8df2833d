"""A join invite may name the programme it joins (invites made in the coordinators' console).

Revision ID: console_people_invite_programme
Revises: s13_outcomes_chat_figures
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "console_people_invite_programme"
down_revision: str | None = "s13_outcomes_chat_figures"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("invite") as batch:
        batch.add_column(sa.Column("programme_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_invite_programme_id_programme"),
            "programme",
            ["programme_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("invite") as batch:
        batch.drop_constraint(op.f("fk_invite_programme_id_programme"), type_="foreignkey")
        batch.drop_column("programme_id")
