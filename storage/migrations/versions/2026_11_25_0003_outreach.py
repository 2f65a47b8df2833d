"""Schema for announcements, polls, discussions and the bridge.

- announcement: the language of the main text, the recipient count, the expansion cursor
  (`expanded_through`, `expanded_at`) so expansion resumes after a crash, and when the poll
  reminder and the results summary went out.
- outbox: `priority` (0 first: replies and relays; bulk announcements after) and an index on
  (platform, chat_id) for per-chat ordering and the relay echo guard.
- outbox_pace: the next free send slot per platform, shared by every sender process.
- discussion_thread: where a discussion lives on each platform (Slack thread, forum topic).

Revision ID: 0003_outreach
Revises: 0002_matching
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_outreach"
down_revision: str | None = "0002_matching"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox_pace",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("next_slot", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("platform", name=op.f("pk_outbox_pace")),
    )
    op.create_table(
        "discussion_thread",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("discussion_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("thread_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["discussion_id"],
            ["discussion.id"],
            name=op.f("fk_discussion_thread_discussion_id_discussion"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discussion_thread")),
        sa.UniqueConstraint(
            "platform", "chat_id", "thread_id", name=op.f("uq_discussion_thread_platform")
        ),
    )
    op.create_index(
        op.f("ix_discussion_thread_discussion_id"),
        "discussion_thread",
        ["discussion_id"],
        unique=False,
    )
    op.add_column(
        "announcement",
        sa.Column("lang", sa.String(length=8), server_default="en", nullable=False),
    )
    op.add_column(
        "announcement",
        sa.Column("recipients", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("announcement", sa.Column("expanded_through", sa.Integer(), nullable=True))
    op.add_column(
        "announcement", sa.Column("expanded_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "announcement", sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "announcement", sa.Column("results_sent_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("outbox", sa.Column("priority", sa.Integer(), server_default="0", nullable=False))
    op.create_index("ix_outbox_chat", "outbox", ["platform", "chat_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_chat", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("priority")
    with op.batch_alter_table("announcement") as batch:
        for column in (
            "results_sent_at",
            "reminded_at",
            "expanded_at",
            "expanded_through",
            "recipients",
            "lang",
        ):
            batch.drop_column(column)
    op.drop_index(op.f("ix_discussion_thread_discussion_id"), table_name="discussion_thread")
    op.drop_table("discussion_thread")
    op.drop_table("outbox_pace")
