"""v1 (wirepub 0.1, core): story versions and a record of delivered documents.

Revision ID: v1
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v1"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wirepub_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
    )
    op.create_table(
        "story_versions",
        sa.Column("story_id", sa.String(128), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("version_created", sa.DateTime, nullable=False),
        sa.Column("embargo", sa.DateTime, nullable=True),
        sa.Column("seen_at", sa.DateTime, nullable=False),
        sa.Column("released_at", sa.DateTime, nullable=True),
    )
    op.create_index("ix_story_versions_pending", "story_versions", ["released_at", "embargo"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("partner", sa.String(128), nullable=False),
        sa.Column("destination", sa.Text, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("story_id", sa.String(128), nullable=True),
        sa.Column("version", sa.Integer, nullable=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("delivered_at", sa.DateTime, nullable=True),
        sa.UniqueConstraint("partner", "destination", "path", "sha256", name="uq_delivery_document"),
    )
    op.create_index("ix_deliveries_path", "deliveries", ["partner", "destination", "path"])
