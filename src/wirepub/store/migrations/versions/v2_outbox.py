"""v2 (the delivery ledger): deliveries become an outbox with attempts and retries; documents keep the bytes
so that every retry sends the same. Documents delivered under v1 stay on record as delivered.

Revision ID: v2
Revises: v1
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from wirepub.store.migrations import add_columns

revision = "v2"
down_revision = "v1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("media_type", sa.String(128), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    add_columns("deliveries",
                sa.Column("kind", sa.String(8), nullable=False, server_default="item"),
                sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
                sa.Column("next_attempt_at", sa.DateTime, nullable=True),
                sa.Column("last_error", sa.Text, nullable=True),
                sa.Column("created_at", sa.DateTime, nullable=True))
    op.create_index("ix_deliveries_due", "deliveries", ["state", "next_attempt_at"])
    op.create_index("ix_deliveries_story", "deliveries", ["story_id", "partner"])
