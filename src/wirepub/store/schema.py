"""The store's tables, as SQLAlchemy Core: what every other store module reads and writes.

Alembic (store/migrations) changes a database from one released shape to the next; this module is the
shape of the newest one, and what a fresh store is created from.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; stored as naive UTC so every database compares alike."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the store only takes timezone-aware datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


metadata = sa.MetaData()

# schema_version: what wirepub releases before Alembic read to refuse a store newer than themselves.
meta = sa.Table(
    "wirepub_meta", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(256), nullable=False),
)

story_versions = sa.Table(
    "story_versions", metadata,
    sa.Column("story_id", sa.String(128), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("document", sa.Text, nullable=False),       # the story document, defaults filled in
    sa.Column("origin", sa.Text, nullable=False),
    sa.Column("version_created", UTCDateTime, nullable=False),
    sa.Column("embargo", UTCDateTime, nullable=True),
    sa.Column("seen_at", UTCDateTime, nullable=False),
    sa.Column("released_at", UTCDateTime, nullable=True),  # set once every item document is out
    sa.Column("embargo_sent_at", UTCDateTime, nullable=True),  # sent early to partners trusted with embargoes
    sa.Column("headline", sa.Text, nullable=True),                # for the desk's views
    sa.Column("id_lower", sa.String(128), nullable=True),         # ids differing only in case collide somewhere
    sa.Column("failed_at", UTCDateTime, nullable=True),           # could not be rendered: held until fixed ...
    sa.Column("failure", sa.Text, nullable=True),                 # ... for this reason
    sa.Column("dropped_at", UTCDateTime, nullable=True),          # wirepub drop: never to be released
    sa.Column("release_owner", sa.String(128), nullable=True),    # the node rendering it for release ...
    sa.Column("release_until", UTCDateTime, nullable=True),       # ... until then; after that any node may
)
sa.Index("ix_story_versions_pending", story_versions.c.released_at, story_versions.c.embargo)
sa.Index("ix_story_versions_id_lower", story_versions.c.id_lower)
_KILLS = sa.text("status = 'withdrawn'")
sa.Index("ix_story_versions_kills", story_versions.c.version_created, sqlite_where=_KILLS, postgresql_where=_KILLS)
_RELEASED = sa.text("released_at IS NOT NULL")   # what feeds hold, newest first (Versions.latest_released)
sa.Index("ix_story_versions_released", story_versions.c.version_created, story_versions.c.story_id,
         sqlite_where=_RELEASED, postgresql_where=_RELEASED)

documents = sa.Table(
    "documents", metadata,
    sa.Column("sha256", sa.String(64), primary_key=True),   # the bytes, kept so every retry sends the same
    sa.Column("media_type", sa.String(128), nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

# The outbox: one row per document and destination. pending -> delivered, or failed (with the time of its
# next attempt) -> ... -> dead. A feed copy that a newer copy made pointless is 'superseded'.
deliveries = sa.Table(
    "deliveries", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("partner", sa.String(128), nullable=False),
    sa.Column("destination", sa.Text, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("format", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False, server_default="item"),   # vocabulary.DeliveryKind
    sa.Column("story_id", sa.String(128), nullable=True),   # None for a feed document
    sa.Column("version", sa.Integer, nullable=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),      # vocabulary.DeliveryState
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=True),
    sa.Column("delivered_at", UTCDateTime, nullable=True),
    sa.Column("lease_owner", sa.String(128), nullable=True),  # the node attempting it now ...
    sa.Column("lease_until", UTCDateTime, nullable=True),     # ... until then; after that any node may take it
    sa.Column("delivered_by", sa.String(128), nullable=True),  # the node whose attempt delivered it
    sa.UniqueConstraint("partner", "destination", "path", "sha256", name="uq_delivery_document"),
)
sa.Index("ix_deliveries_path", deliveries.c.partner, deliveries.c.destination, deliveries.c.path)
sa.Index("ix_deliveries_due", deliveries.c.state, deliveries.c.next_attempt_at)
sa.Index("ix_deliveries_story", deliveries.c.story_id, deliveries.c.partner)
# What a claim reads: a partner's open deliveries, oldest first; it never touches the delivered archive.
_OPEN = sa.text("state IN ('pending', 'failed')")
sa.Index("ix_deliveries_open", deliveries.c.partner, deliveries.c.id, sqlite_where=_OPEN, postgresql_where=_OPEN)
_LEASED = sa.text("lease_owner IS NOT NULL")
sa.Index("ix_deliveries_leased", deliveries.c.lease_owner, sqlite_where=_LEASED, postgresql_where=_LEASED)
sa.Index("ix_deliveries_sha", deliveries.c.sha256)   # which rows still need a document's bytes
# A claim's question of pictures (is one of this story's still open at this destination?): media rows only.
_MEDIA = sa.text("kind = 'media'")
sa.Index("ix_deliveries_media", deliveries.c.partner, deliveries.c.destination, deliveries.c.story_id,
         deliveries.c.state, sqlite_where=_MEDIA, postgresql_where=_MEDIA)
_FEED = sa.text("kind = 'feed'")
sa.Index("ix_deliveries_feed_copies", deliveries.c.created_at, deliveries.c.id, sqlite_where=_FEED,
         postgresql_where=_FEED)

# What is wrong, said by a node for every node's status page: a collect that keeps failing, a partner that
# cannot be used as configured. A row is replaced while the trouble lasts and removed when it is over.
notices = sa.Table(
    "notices", metadata,
    sa.Column("kind", sa.String(32), primary_key=True),        # vocabulary.NoticeKind
    sa.Column("subject", sa.String(128), primary_key=True),    # the partner, or "-"
    sa.Column("node", sa.String(128), primary_key=True),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("first_at", UTCDateTime, nullable=False),
    sa.Column("last_at", UTCDateTime, nullable=False),
)

# What a source has read and recorded: a file's (or an object's) fingerprint (name, size, modification time,
# inode), so that an unchanged one is never read again, by this process or the next.
source_items = sa.Table(
    "source_items", metadata,
    sa.Column("source", sa.String(128), primary_key=True),
    sa.Column("ref", sa.Text, primary_key=True),
    sa.Column("fingerprint", sa.BigInteger, nullable=False),
    sa.Column("seen_at", UTCDateTime, nullable=False),
)
sa.Index("ix_source_items_fingerprint", source_items.c.source, source_items.c.fingerprint)
# Stories a partner profile's rule holds back from one partner's format (rendering.Held): replaced at every
# rebuild of that partner's feeds, so a story that keeps the rules again leaves it.
held_back = sa.Table(
    "held_back", metadata,
    sa.Column("partner", sa.String(128), primary_key=True),
    sa.Column("format", sa.String(32), primary_key=True),
    sa.Column("story_id", sa.String(128), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("rule", sa.String(64), nullable=False),          # e.g. msn.title-length
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("since", UTCDateTime, nullable=False),
)

# --- sources (v7) ---

# Where a pull source got to (a WordPress site's last modified time, a SQL table's cursor column): one value per
# source, written by the flow once what came before it is recorded.
source_cursors = sa.Table(
    "source_cursors", metadata,
    sa.Column("source", sa.String(128), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# What the ingest API accepted: recorded here before its 201 goes out, so a crash after it loses nothing; any
# node's collect takes it up. One row per story id and version, whatever the source: a retry finds its row.
inbox = sa.Table(
    "inbox", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(128), nullable=False),
    sa.Column("story_id", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("document", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),       # vocabulary.InboxState
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("received_at", UTCDateTime, nullable=False),
    sa.Column("settled_at", UTCDateTime, nullable=True),      # recorded or rejected
    sa.UniqueConstraint("story_id", "version", name="uq_inbox_story_version"),
)
sa.Index("ix_inbox_waiting", inbox.c.state, inbox.c.source, inbox.c.id)

# Objects of an S3 inbox: claimed by one node at a time (until claimed_until), then done or rejected. An object
# replaced under the same key has another ETag, and is a new claim.
object_claims = sa.Table(
    "object_claims", metadata,
    sa.Column("source", sa.String(128), primary_key=True),
    sa.Column("key", sa.String(1024), primary_key=True),
    sa.Column("etag", sa.String(128), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False),        # vocabulary.ClaimState
    sa.Column("node", sa.String(128), nullable=False),
    sa.Column("claimed_until", UTCDateTime, nullable=False),
    sa.Column("settled_at", UTCDateTime, nullable=True),
)

# Stories a source offered that could not be published, for `wirepub status` and the status page: source, the
# item as the source calls it, field and reason. Cleared when the same item is recorded later.
rejections = sa.Table(
    "rejections", metadata,
    sa.Column("source", sa.String(128), primary_key=True),
    sa.Column("ref", sa.String(1024), primary_key=True),
    sa.Column("field", sa.String(256), nullable=True),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
)
sa.Index("ix_rejections_at", rejections.c.at)

# Pictures a Superdesk pushed to its assets endpoint, served back to whoever reads the stories' media URLs.
assets = sa.Table(
    "assets", metadata,
    sa.Column("source", sa.String(128), primary_key=True),
    sa.Column("media_id", sa.String(256), primary_key=True),
    sa.Column("media_type", sa.String(128), nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("received_at", UTCDateTime, nullable=False),
)
