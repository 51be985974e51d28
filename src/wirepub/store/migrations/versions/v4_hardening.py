"""v4 (nothing jams, leaks or goes stale): a version that cannot be rendered is marked failed (and may be
dropped) instead of being retried for ever; versions carry their headline, for the desk, and their id in
lower case, so ids differing only in case are caught; the ledger says which node delivered a document;
notices tell every node's status page what is wrong (failing collects, misconfigured partners).

Revision ID: v4
Revises: v3
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from wirepub.store.migrations import add_columns

revision = "v4"
down_revision = "v3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_columns("story_versions",
                sa.Column("headline", sa.Text, nullable=True),
                sa.Column("id_lower", sa.String(128), nullable=True),
                sa.Column("failed_at", sa.DateTime, nullable=True),
                sa.Column("failure", sa.Text, nullable=True),
                sa.Column("dropped_at", sa.DateTime, nullable=True))
    add_columns("deliveries", sa.Column("delivered_by", sa.String(128), nullable=True))
    bind = op.get_bind()
    if sa.inspect(bind).has_table("story_versions"):
        _backfill(bind)
        op.create_index("ix_story_versions_id_lower", "story_versions", ["id_lower"])
    op.create_table(
        "notices",
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("subject", sa.String(128), primary_key=True),
        sa.Column("node", sa.String(128), primary_key=True),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("first_at", sa.DateTime, nullable=False),
        sa.Column("last_at", sa.DateTime, nullable=False),
    )


def _backfill(bind: sa.Connection) -> None:
    sv = sa.table("story_versions", sa.column("story_id"), sa.column("version"), sa.column("document"),
                  sa.column("headline"), sa.column("id_lower"))
    rows = bind.execute(sa.select(sv.c.story_id, sv.c.version, sv.c.document)).all()
    updates = []
    for story_id, version, document in rows:
        try:
            headline = json.loads(document).get("headline")
        except (ValueError, AttributeError):
            headline = None
        updates.append({"sid": story_id, "ver": version, "h": headline, "low": story_id.lower()})
    if updates:
        bind.execute(sv.update().where(sv.c.story_id == sa.bindparam("sid"), sv.c.version == sa.bindparam("ver"))
                     .values(headline=sa.bindparam("h"), id_lower=sa.bindparam("low")), updates)
