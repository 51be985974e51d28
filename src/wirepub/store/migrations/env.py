"""Alembic's entry point for wirepub's store. wirepub runs it online, inside the transaction that
store.migrate opened (handed over in config.attributes["connection"]); there is no alembic.ini."""

from __future__ import annotations

from alembic import context

from wirepub.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, transaction_per_migration=False)
with context.begin_transaction():
    context.run_migrations()
