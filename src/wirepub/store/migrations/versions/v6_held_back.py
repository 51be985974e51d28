"""v6 (partner profiles): the stories a partner profile's rule holds back from one partner, with the rule, so
that status, page and log name it.

After main's v5 (scale); down_revision is main's newest revision at merge time.

Revision ID: v6
Revises: v5
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v6"
down_revision = "v5"
branch_labels = None
depends_on = None


MEDIA = sa.text("kind = 'media'")
KILLS = sa.text("status = 'withdrawn'")


def upgrade() -> None:
    # What a claim asks of pictures: is one of this story's still open here? Only media rows are in it.
    # How many kill notices have had their time, asked at every collect: kills only, never the archive.
    if sa.inspect(op.get_bind()).has_table("story_versions"):   # an old store may lack it (created after)
        op.create_index("ix_story_versions_kills", "story_versions", ["version_created"], sqlite_where=KILLS,
                        postgresql_where=KILLS)
    op.create_index("ix_deliveries_media", "deliveries", ["partner", "destination", "story_id", "state"],
                    sqlite_where=MEDIA, postgresql_where=MEDIA)
    op.create_table(
        "held_back",
        sa.Column("partner", sa.String(128), primary_key=True),
        sa.Column("format", sa.String(32), primary_key=True),
        sa.Column("story_id", sa.String(128), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("since", sa.DateTime, nullable=False),
    )
