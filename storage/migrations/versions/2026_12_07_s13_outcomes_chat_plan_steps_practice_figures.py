"""Plan steps answered at check-ins, and good practices with figures.

`learning_plan` keeps how its next step stands (done, under way, stuck) and when it was last
asked; `good_practice` gets the investment, the instrument mix and the yearly results as
columns, so the FAQ can select and cite them. Amounts already typed into `figures.amount_eur`
are copied into `investment_eur`.

Revision ID: s13_outcomes_chat_figures
Revises: application_decision
Create Date: 2026-12-07
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "s13_outcomes_chat_figures"
down_revision: str | None = "application_decision"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("learning_plan") as batch:
        batch.add_column(sa.Column("step_status", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("step_checked_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("good_practice") as batch:
        batch.add_column(sa.Column("investment_eur", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("instrument_mix", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("savings_mwh", sa.Float(), nullable=True))
        batch.add_column(sa.Column("renewable_mwh", sa.Float(), nullable=True))
        batch.add_column(sa.Column("co2_t", sa.Float(), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, figures FROM good_practice")).all()
    for practice_id, figures in rows:
        data = json.loads(figures) if isinstance(figures, str) else (figures or {})
        amount = data.get("amount_eur") if isinstance(data, dict) else None
        if isinstance(amount, int | float) and amount > 0:
            bind.execute(
                sa.text("UPDATE good_practice SET investment_eur = :a WHERE id = :i"),
                {"a": int(amount), "i": practice_id},
            )


def downgrade() -> None:
    with op.batch_alter_table("good_practice") as batch:
        for column in ("co2_t", "renewable_mwh", "savings_mwh", "instrument_mix", "investment_eur"):
            batch.drop_column(column)
    with op.batch_alter_table("learning_plan") as batch:
        batch.drop_column("step_checked_at")
        batch.drop_column("step_status")
