"""Alembic's scripts for the store (env.py, versions/), and what they share.

Stores made before Alembic were created by code that also added whatever table was missing, so an old store
may lack a table its version should have; a step here adds columns only to tables that exist and only those
that are missing (the table itself is created whole after the upgrade, from schema.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def add_columns(table: str, *columns: sa.Column[object]) -> None:
    inspector = sa.inspect(op.get_bind())
    if not inspector.has_table(table):
        return
    have = {c["name"] for c in inspector.get_columns(table)}
    for column in columns:
        if column.name not in have:
            op.add_column(table, column)
