"""v7 (stories from everywhere, issue 11): pull sources keep their cursor in the store; the ingest API records
what it accepts in an inbox before answering 201; an S3 inbox's objects are claimed once across nodes;
rejections are kept per source and item for the desk; Superdesk's pictures are kept as assets.

Revision ID: v7
Revises: v6
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v7"
down_revision = "v6"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "source_cursors",
        sa.Column("source", sa.String(128), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("story_id", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("settled_at", sa.DateTime, nullable=True),
        sa.UniqueConstraint("story_id", "version", name="uq_inbox_story_version"),
    )
    op.create_index("ix_inbox_waiting", "inbox", ["state", "source", "id"])
    op.create_table(
        "object_claims",
        sa.Column("source", sa.String(128), primary_key=True),
        sa.Column("key", sa.String(1024), primary_key=True),
        sa.Column("etag", sa.String(128), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("node", sa.String(128), nullable=False),
        sa.Column("claimed_until", sa.DateTime, nullable=False),
        sa.Column("settled_at", sa.DateTime, nullable=True),
    )
    op.create_table(
        "rejections",
        sa.Column("source", sa.String(128), primary_key=True),
        sa.Column("ref", sa.String(1024), primary_key=True),
        sa.Column("field", sa.String(256), nullable=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_rejections_at", "rejections", ["at"])
    op.create_table(
        "assets",
        sa.Column("source", sa.String(128), primary_key=True),
        sa.Column("media_id", sa.String(256), primary_key=True),
        sa.Column("media_type", sa.String(128), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("received_at", sa.DateTime, nullable=False),
    )
