"""An index for the questions rate limit: an account's recent FAQ questions are counted on
every question, which scanned the whole faq_query table.

Revision ID: perf_faq_query_identity
Revises: groups_cycles
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "perf_faq_query_identity"
down_revision: str | None = "groups_cycles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_faq_query_identity_created", "faq_query", ["identity_id", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_faq_query_identity_created", table_name="faq_query")
