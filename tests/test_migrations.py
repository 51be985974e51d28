"""The store upgrades itself with Alembic, online, from every released schema version (1, 2, 3: stores made
before Alembic, which say their version in wirepub_meta), on SQLite and on a real PostgreSQL; what it keeps
is kept; a store newer than this wirepub is refused; and the migrations build exactly schema.py's shape."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from conftest import Workspace
from wirepub.errors import ConfigError
from wirepub.store import SCHEMA_VERSION, Store
from wirepub.store.migrate import migrate, revision_of
from wirepub.store.schema import metadata

T = datetime(2026, 11, 1, 10, 0)
DOCUMENT = ('{"id": "a", "version": 1, "headline": "Kept", "body": "Kept.", "language": "en", '
            '"version_created": "2026-11-01T10:00:00+00:00", "first_created": "2026-11-01T10:00:00+00:00"}')


def released_schema(version: int) -> sa.MetaData:
    """The tables as wirepub release `version` created them (before Alembic)."""
    m = sa.MetaData()
    sa.Table("wirepub_meta", m, sa.Column("key", sa.String(64), primary_key=True),
             sa.Column("value", sa.String(256), nullable=False))
    story = [sa.Column("story_id", sa.String(128), primary_key=True),
             sa.Column("version", sa.Integer, primary_key=True), sa.Column("status", sa.String(16), nullable=False),
             sa.Column("content_hash", sa.String(64), nullable=False),
             sa.Column("document", sa.Text, nullable=False), sa.Column("origin", sa.Text, nullable=False),
             sa.Column("version_created", sa.DateTime, nullable=False), sa.Column("embargo", sa.DateTime),
             sa.Column("seen_at", sa.DateTime, nullable=False), sa.Column("released_at", sa.DateTime)]
    delivery = [sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                sa.Column("partner", sa.String(128), nullable=False), sa.Column("destination", sa.Text, nullable=False),
                sa.Column("path", sa.Text, nullable=False), sa.Column("format", sa.String(32), nullable=False),
                sa.Column("story_id", sa.String(128)), sa.Column("version", sa.Integer),
                sa.Column("sha256", sa.String(64), nullable=False), sa.Column("state", sa.String(16), nullable=False),
                sa.Column("delivered_at", sa.DateTime)]
    if version >= 2:
        sa.Table("documents", m, sa.Column("sha256", sa.String(64), primary_key=True),
                 sa.Column("media_type", sa.String(128), nullable=False),
                 sa.Column("body", sa.LargeBinary, nullable=False),
                 sa.Column("created_at", sa.DateTime, nullable=False))
        delivery += [sa.Column("kind", sa.String(8), nullable=False, server_default="item"),
                     sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
                     sa.Column("next_attempt_at", sa.DateTime), sa.Column("last_error", sa.Text),
                     sa.Column("created_at", sa.DateTime)]
    if version >= 3:
        delivery += [sa.Column("lease_owner", sa.String(128)), sa.Column("lease_until", sa.DateTime)]
        story += [sa.Column("embargo_sent_at", sa.DateTime)]
    sa.Table("story_versions", m, *story)
    sa.Table("deliveries", m, *delivery, sa.UniqueConstraint("partner", "destination", "path", "sha256",
                                                              name="uq_delivery_document"))
    return m


def make_released_store(url: str, version: int) -> None:
    engine = sa.create_engine(url)
    m = released_schema(version)
    with engine.begin() as c:
        m.create_all(c)
        c.execute(m.tables["wirepub_meta"].insert().values(key="schema_version", value=str(version)))
        c.execute(m.tables["story_versions"].insert().values(
            story_id="a", version=1, status="approved", content_hash="h", document=DOCUMENT, origin="a.json",
            version_created=T, seen_at=T, released_at=T))
        c.execute(m.tables["deliveries"].insert().values(
            partner="p", destination="public", path="items/a/v1.xml", format="newsml-g2", story_id="a", version=1,
            sha256="x", state="delivered", delivered_at=T))
    engine.dispose()


@pytest.mark.parametrize("version", [1, 2, 3])
def test_a_released_store_upgrades_itself_and_keeps_what_it_had(store_url, version):
    make_released_store(store_url, version)
    store = Store(store_url)
    assert revision_of(store.engine) == f"v{SCHEMA_VERSION}"
    assert store.ledger.delivered(partner="p", destination="public", path="items/a/v1.xml")
    assert store.ledger.received("p", "a")
    latest = store.versions.latest("a")
    assert latest is not None and latest.released_at == T.replace(tzinfo=UTC)
    columns = {c["name"] for c in sa.inspect(store.engine).get_columns("deliveries")}
    assert {"attempts", "next_attempt_at", "kind", "lease_owner", "lease_until"} <= columns
    with store.engine.connect() as c:
        assert c.execute(sa.text("SELECT value FROM wirepub_meta")).scalar() == str(SCHEMA_VERSION)
    store.close()
    Store(store_url).close()  # opening again changes nothing


def test_an_upgraded_store_publishes(tmp_path, story_doc):
    url = f"sqlite:///{tmp_path}/old.db"
    make_released_store(url, 1)
    ws = Workspace(tmp_path, {"store": {"url": url}})
    ws.drop("b.json", story_doc(id="b"))
    assert ws.push().ok
    assert (ws.public / "items/b/v1.xml").is_file()
    assert b"urn:newsml:wirepub.example:a" in (ws.public / "feeds/rss.xml").read_bytes()  # the old story is kept
    ws.store.close()


def test_migrations_from_nothing_build_exactly_the_current_schema(store_url):
    """Every revision together gives what schema.py describes: no column, index or constraint missing."""
    engine = sa.create_engine(store_url)
    from alembic import command

    from wirepub.store.migrate import _alembic

    with engine.begin() as c:
        command.upgrade(_alembic(c), "head")
    with engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c, opts={"compare_type": False}), metadata)
    assert diff == []
    engine.dispose()


def test_a_store_of_an_unknown_revision_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path}/new.db"
    Store(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as c:
        c.execute(sa.text("UPDATE alembic_version SET version_num = 'v99'"))
    with pytest.raises(ConfigError, match="newer than this wirepub"):
        migrate(engine, url)
    engine.dispose()
