"""Schema for matching, introductions and check-ins.

- pair: when it was introduced, accepted by each side, activated and closed (and why).
- pair_space: a pair's shared space per platform (Slack private channel, Telegram forum topic),
  reserved before it is created so two processes never create it twice; looked up by
  (platform, chat_id, thread_id) to relay messages across platforms.
- check_in: each officer's answer (`answers`, keyed by officer id).
- good_practice: who reviewed it and when.

Revision ID: 0002_matching
Revises: 6f861eb408b8
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_matching"
down_revision: str | None = "6f861eb408b8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PAIR_TIMES = ("introduced_at", "learner_accepted_at", "mentor_accepted_at", "activated_at")


def upgrade() -> None:
    for column in (*PAIR_TIMES, "closed_at"):
        op.add_column("pair", sa.Column(column, sa.DateTime(timezone=True), nullable=True))
    op.add_column("pair", sa.Column("close_reason", sa.String(length=32), nullable=True))
    op.create_table(
        "pair_space",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=True),
        sa.Column("thread_id", sa.String(length=64), server_default="", nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pair_id"], ["pair.id"], name=op.f("fk_pair_space_pair_id_pair"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pair_space")),
        sa.UniqueConstraint("pair_id", "platform", name=op.f("uq_pair_space_pair_id")),
    )
    op.create_index(
        "ix_pair_space_chat", "pair_space", ["platform", "chat_id", "thread_id"], unique=False
    )
    op.add_column("check_in", sa.Column("answers", sa.JSON(), nullable=True))
    op.add_column(
        "good_practice", sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True)
    )
    with op.batch_alter_table("good_practice") as batch:
        batch.add_column(sa.Column("reviewed_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_good_practice_reviewed_by_id_officer"),
            "officer",
            ["reviewed_by_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("good_practice") as batch:
        batch.drop_constraint(op.f("fk_good_practice_reviewed_by_id_officer"), type_="foreignkey")
        batch.drop_column("reviewed_by_id")
        batch.drop_column("reviewed_at")
    with op.batch_alter_table("check_in") as batch:
        batch.drop_column("answers")
    op.drop_index("ix_pair_space_chat", table_name="pair_space")
    op.drop_table("pair_space")
    with op.batch_alter_table("pair") as batch:
        for column in (*PAIR_TIMES, "closed_at", "close_reason"):
            batch.drop_column(column)
