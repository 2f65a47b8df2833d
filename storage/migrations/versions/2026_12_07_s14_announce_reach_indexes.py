"""Indexes for an announcement's audience in SQL: each officer's accounts are looked up to pick
the one to write to, and each officer's newest finished delivery to tell who blocked the bot;
without them both scanned the whole table once per officer.

Revision ID: s14_announce_reach_indexes
Revises: groups_spaces_sessions
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "s14_announce_reach_indexes"
down_revision: str | None = "groups_spaces_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_identity_officer", "identity", ["officer_id"], unique=False)
    op.create_index("ix_outbox_officer", "outbox", ["officer_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_officer", table_name="outbox")
    op.drop_index("ix_identity_officer", table_name="identity")
