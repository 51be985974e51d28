"""v8: what a feed holds, read newest first from an index of released versions, not by grouping the whole
archive: a one-story push into a site of 100,000 stories spent 0.4 s grouping every released version to find
the newest 50 (bench/scale_bench.py, archive).

Revision ID: v8
Revises: v7
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "v8"
down_revision = "v7"
branch_labels = None
depends_on = None


RELEASED = sa.text("released_at IS NOT NULL")


def upgrade() -> None:
    if not sa.inspect(op.get_bind()).has_table("story_versions"):   # an old store may lack it (created after)
        return
    op.create_index("ix_story_versions_released", "story_versions", ["version_created", "story_id"],
                    sqlite_where=RELEASED, postgresql_where=RELEASED)


def downgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("story_versions"):
        op.drop_index("ix_story_versions_released", table_name="story_versions")
