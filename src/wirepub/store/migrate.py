"""Creating and upgrading the store's tables, with Alembic, online and in one transaction.

A fresh store is created from schema.py and stamped with the newest revision. An existing one is upgraded
one revision at a time (store/migrations/versions). Stores made before Alembic carry their version in
wirepub_meta.schema_version (1, 2 or 3): they are stamped with that revision first, then upgraded. A store
newer than this wirepub is refused, so an old node never writes a shape it does not know. On PostgreSQL an
advisory lock makes the nodes that start together upgrade one at a time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from wirepub.errors import ConfigError
from wirepub.store.schema import meta, metadata

SCHEMA_VERSION = 8           # the newest revision, "v<N>"; also written to wirepub_meta for older wirepubs
UPGRADE_LOCK = 0x77697265    # 'wire': one process upgrades a PostgreSQL store at a time
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


HEAD = f"v{SCHEMA_VERSION}"


def migrate(engine: Engine, shown_url: str) -> None:
    if _at_head(engine):
        return   # the usual case: one query, and Alembic is not even imported
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    with engine.begin() as c:
        if engine.dialect.name == "postgresql":
            c.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": UPGRADE_LOCK})
        config = _alembic(c)
        current = MigrationContext.configure(c).get_current_revision()
        known = {rev.revision for rev in ScriptDirectory.from_config(config).walk_revisions()}
        legacy = _legacy_version(c)
        if legacy is not None and legacy > SCHEMA_VERSION:
            _refuse_if_newer(f"v{legacy}", known, shown_url)
        if current is None:
            if legacy is None and not sa.inspect(c).has_table("deliveries"):
                metadata.create_all(c)
                command.stamp(config, "head")
            else:
                current = f"v{legacy or 1}"
                _refuse_if_newer(current, known, shown_url)
                command.stamp(config, current)
        _refuse_if_newer(current, known, shown_url)
        command.upgrade(config, "head")
        metadata.create_all(c)  # a table an old store never had (its tables are checked first, not changed)
        _write_legacy_version(c)


def _at_head(engine: Engine) -> bool:
    """Is this store at the newest revision, with every table there (no upgrade, nothing to write)?"""
    with engine.connect() as c:
        inspector = sa.inspect(c)
        if not inspector.has_table("alembic_version") or not all(inspector.has_table(t) for t in metadata.tables):
            return False
        revision = c.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        return revision == HEAD and _legacy_version(c) == SCHEMA_VERSION


def revision_of(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as c:
        return MigrationContext.configure(c).get_current_revision()


def _alembic(c: Connection) -> Any:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = c
    return config


def _legacy_version(c: Connection) -> int | None:
    if not sa.inspect(c).has_table(meta.name):
        return None
    value = c.execute(sa.select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
    return int(value) if value is not None else None


def _refuse_if_newer(revision: str | None, known: set[str], shown_url: str) -> None:
    if revision is not None and revision not in known:
        raise ConfigError(f"the store at {shown_url} has schema version {revision.removeprefix('v')}, newer than "
                          f"this wirepub understands ({SCHEMA_VERSION}); upgrade wirepub", key="store.url")


def _write_legacy_version(c: Connection) -> None:
    """Only when it changes: opening a current store writes nothing, so `wirepub status` needs no write lock."""
    value = str(SCHEMA_VERSION)
    have = c.execute(sa.select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
    if have is None:
        c.execute(meta.insert().values(key="schema_version", value=value))
    elif have != value:
        c.execute(meta.update().where(meta.c.key == "schema_version").values(value=value))
