"""v5 (costs that do not grow with the archive, work shared between nodes): a version due for release is
leased to the node rendering it, so several nodes release at once; what each source has read, by
fingerprint, so an unchanged file is never read again, also by the next process; indexes that match the
queries run most often (the open deliveries a claim looks at, the leases a starting node looks for, the old
feed copies pruning finds).

Revision ID: v5
Revises: v4
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from wirepub.store.migrations import add_columns

revision = "v5"
down_revision = "v4"
branch_labels = None
depends_on = None

OPEN = sa.text("state IN ('pending', 'failed')")
LEASED = sa.text("lease_owner IS NOT NULL")
FEED = sa.text("kind = 'feed'")


def upgrade() -> None:
    add_columns("story_versions",
                sa.Column("release_owner", sa.String(128), nullable=True),
                sa.Column("release_until", sa.DateTime, nullable=True))
    op.create_table(
        "source_items",
        sa.Column("source", sa.String(128), primary_key=True),
        sa.Column("ref", sa.Text, primary_key=True),
        sa.Column("fingerprint", sa.BigInteger, nullable=False),
        sa.Column("seen_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_source_items_fingerprint", "source_items", ["source", "fingerprint"])
    op.create_index("ix_deliveries_open", "deliveries", ["partner", "id"], sqlite_where=OPEN, postgresql_where=OPEN)
    op.create_index("ix_deliveries_leased", "deliveries", ["lease_owner"], sqlite_where=LEASED,
                    postgresql_where=LEASED)
    op.create_index("ix_deliveries_sha", "deliveries", ["sha256"])
    op.create_index("ix_deliveries_feed_copies", "deliveries", ["created_at", "id"], sqlite_where=FEED,
                    postgresql_where=FEED)
