"""The words of DESIGN.md's vocabulary that have a fixed set of values, as types.

Each is a StrEnum: it is stored, logged, configured and compared as its plain string value, so the ledger
and wirepub.toml keep the words they always had, and a typo in code is a type error instead of a bug.
"""

from __future__ import annotations

from enum import StrEnum


class StoryStatus(StrEnum):
    APPROVED = "approved"
    WITHDRAWN = "withdrawn"      # killed: reaches every partner that had the story, in each format's own way


class FormatKind(StrEnum):
    ITEM = "item"    # one document per story version (NewsML-G2, ninjs)
    FEED = "feed"    # one document per channel holding its latest items (RSS, Atom, JSON Feed, news sitemap)


class DeliveryKind(StrEnum):
    """What one row of the ledger does at its destination."""

    MEDIA = "media"      # put a local picture, content-addressed, before the documents that show it
    ITEM = "item"        # put a story version's item document
    FEED = "feed"        # put a new copy of a feed
    PING = "ping"        # tell a WebSub hub that a feed changed (hub.mode=publish), after its new copy went
    REPLACE = "replace"  # put a kill notice over an earlier version's item document (on_kill = "replace")
    DELETE = "delete"    # remove an earlier version's item document (on_kill = "delete")

    @property
    def put_kind(self) -> PutKind | None:
        """What the transport is told it carries; None for a removal."""
        return {DeliveryKind.ITEM: PutKind.ITEM, DeliveryKind.REPLACE: PutKind.ITEM, DeliveryKind.MEDIA: PutKind.ITEM,
                DeliveryKind.FEED: PutKind.FEED}.get(self)


class PutKind(StrEnum):
    """What a transport is handed: it decides headers and cache policy by it (S3 Cache-Control, HTTP's
    X-Wirepub-Kind)."""

    ITEM = "item"
    FEED = "feed"
    PROBE = "probe"


class DeliveryState(StrEnum):
    PENDING = "pending"          # waiting for its (first or next) attempt
    DELIVERED = "delivered"
    FAILED = "failed"            # an attempt failed; next_attempt_at says when the next one is
    DEAD = "dead"                # given up on: after the last attempt, past the maximum age, or not retryable
    SUPERSEDED = "superseded"    # a feed copy that a newer copy of the same feed made pointless


OPEN_STATES = (DeliveryState.PENDING, DeliveryState.FAILED)


class OnKill(StrEnum):
    """What a kill does to the item documents of earlier versions at a partner (partners.on_kill)."""

    KEEP = "keep"
    REPLACE = "replace"
    DELETE = "delete"


class OnKillFeed(StrEnum):
    """What a kill does to the story's item in a partner's feeds (partners.on_kill_feed)."""

    NOTICE = "notice"    # the item stays, under the same id, as the kill notice, for kill_notice_hours
    DROP = "drop"        # the item leaves the feed at once


class EmbargoPolicy(StrEnum):
    """How a partner takes embargoed stories (partners.embargo)."""

    HOLD = "hold"                            # nothing before the embargo time
    SEND_WITH_EMBARGO = "send-with-embargo"  # item documents at once, carrying the embargo; feeds at the time


class RouteAction(StrEnum):
    """What a story version means for one partner (routing.route)."""

    SEND = "send"        # released: its item documents, and its place in the partner's feeds
    EARLY = "early"      # still embargoed, to a partner trusted with embargoed copy: item documents only
    KILL = "kill"        # withdrawn, to a partner that had the story: the kill notice, and earlier items handled


class NoticeKind(StrEnum):
    """What a node tells every status page is wrong (store.notices)."""

    COLLECT_FAILING = "collect-failing"      # this node's collects keep failing
    MISCONFIGURED = "misconfigured"          # a partner cannot be used as configured: its deliveries wait
    SOURCE_FAILING = "source-failing"        # a source cannot be read (its server away), while others can


class SourceKind(StrEnum):
    """Where stories come from (sources.kind in wirepub.toml): one module of wirepub.sources each."""

    FOLDER = "folder"          # the hot folder: .json, .md, .txt files
    API = "api"                # the ingest API: POST /api/v1/stories (the story contract or ninjs)
    SUPERDESK = "superdesk"    # Superdesk's HTTP push: ninjs, signed with HMAC-SHA1, and its assets
    WORDPRESS = "wordpress"    # a WordPress site's REST API, pulled
    SQL = "sql"                # a table or query of any SQLAlchemy database, pulled
    S3 = "s3"                  # story files in an S3 bucket prefix, pulled


class InboxState(StrEnum):
    """A story the ingest API accepted (store.inbox): recorded in the store before its 201, then taken up by the
    collect like any source's story."""

    QUEUED = "queued"          # accepted (201), not yet taken up by a collect
    RECORDED = "recorded"      # a story version now, released as the flow decides
    REJECTED = "rejected"      # the collect could not record it (the reason is kept)


class ClaimState(StrEnum):
    """An object of an S3 inbox taken by one node (store.claims)."""

    CLAIMED = "claimed"        # a node is reading it; others leave it until the claim runs out
    DONE = "done"              # recorded: never read again (unless it changes: another ETag)
    REJECTED = "rejected"      # moved to rejected/ with its .error.txt


class Submission(StrEnum):
    """What became of one story sent to the ingest API; each is one HTTP answer (web/ingest.py)."""

    CREATED = "created"        # 201: recorded in the store (the inbox), to be collected
    REPEATED = "repeated"      # 200: this id and version were accepted before with the same content
    CONFLICT = "conflict"      # 409: this id and version were accepted before with other content
    INVALID = "invalid"        # 422: not a story (every contract error listed)
    FORBIDDEN = "forbidden"    # 403: the story belongs to another source
    FULL = "full"              # 429: the source's intake queue is full
