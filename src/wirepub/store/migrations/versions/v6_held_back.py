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


def upgrade() -> None:
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
