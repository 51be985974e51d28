"""v3 (several nodes): deliveries are leased to the node attempting them; embargoed versions remember
when they were sent early to partners trusted with embargoed copy.

Revision ID: v3
Revises: v2
"""

from __future__ import annotations

import sqlalchemy as sa

from wirepub.store.migrations import add_columns

revision = "v3"
down_revision = "v2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_columns("deliveries",
                sa.Column("lease_owner", sa.String(128), nullable=True),
                sa.Column("lease_until", sa.DateTime, nullable=True))
    add_columns("story_versions", sa.Column("embargo_sent_at", sa.DateTime, nullable=True))
