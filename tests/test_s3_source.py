"""The S3 inbox (issue 11, item 5) on moto's S3 server: the hot folder's kinds and rules, rejected objects moved
to rejected/ with their reason, a replaced object read again, and each object claimed once across nodes through
the store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from wirepub import app
from wirepub.config import build_config
from wirepub.store import Store
from wirepub.vocabulary import ClaimState
from wirepub_testkit.servers.s3 import admin_client


def test_an_s3_inbox_like_a_hot_folder(tmp_path, s3_server, s3_bucket):
    s3 = admin_client(s3_server)
    put = lambda key, body: s3.put_object(Bucket=s3_bucket, Key=key, Body=body.encode())  # noqa: E731
    put("incoming/a.json", json.dumps({"id": "a", "headline": "From JSON", "body": "<p>A.</p>"}))
    put("incoming/b.md", "---\nid: b\nheadline: From Markdown\n---\nHello *there*.\n")
    put("incoming/harbour-fire.txt", "Fire at the harbour\n\nHAMBURG (dpa) — A fire broke out at dawn.\n")
    put("incoming/bad.json", json.dumps({"id": "bad", "headline": "", "body": "x"}))
    put("incoming/.uploading.json", "{")
    put("incoming/archive/old.json", json.dumps({"id": "old", "headline": "Old", "body": "x"}))
    put("elsewhere.json", json.dumps({"id": "else", "headline": "Else", "body": "x"}))
    raw = {"sources": [{"name": "inbox", "kind": "s3", "bucket": s3_bucket, "prefix": "incoming",
                        "endpoint_url": s3_server, "region": "us-east-1"}],
           "partners": [{"name": "out", "formats": ["newsml-g2"], "destinations": ["public"]}]}
    config = build_config(raw, base_dir=tmp_path, path=None)

    report = app.push(config)
    assert sorted(i for i, _ in report.released) == ["a", "b", "harbour-fire"], report
    assert [(r.ref, r.error.field) for r in report.rejected] == [(f"s3://{s3_bucket}/incoming/bad.json", "headline")]
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=s3_bucket)["Contents"]}
    assert "incoming/bad.json" not in keys and "incoming/rejected/bad.json" in keys     # moved, never deleted
    note = s3.get_object(Bucket=s3_bucket, Key="incoming/rejected/bad.json.error.txt")["Body"].read().decode()
    assert "headline" in note and "bad.json" in note
    assert [r["source"] for r in app.status(config).rejections] == ["inbox"]
    assert app.push(config).new == []                                     # each object read once

    put("incoming/a.json", json.dumps({"id": "a", "headline": "From JSON, corrected", "body": "<p>A.</p>"}))
    assert app.push(config).released == [("a", 2)]                        # replaced: another ETag, next version
    checked = app.check_sources(config)
    assert checked[0].ok and "0 not yet read" in (checked[0].found or ""), checked


def test_an_object_is_claimed_by_one_node_at_a_time(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/w.db")
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    try:
        assert store.claims.claim("inbox", "k.json", "e1", "node-a", now, seconds=60)
        assert not store.claims.claim("inbox", "k.json", "e1", "node-b", now, seconds=60)     # a's, for now
        later = now + timedelta(seconds=61)
        assert store.claims.claim("inbox", "k.json", "e1", "node-b", later, seconds=60)      # a died: b takes it
        store.claims.settle("inbox", "k.json", "e1", ClaimState.DONE, later)
        assert not store.claims.claim("inbox", "k.json", "e1", "node-a", later + timedelta(hours=1), seconds=60)
        assert store.claims.claim("inbox", "k.json", "e2", "node-a", later, seconds=60)       # replaced: new ETag
    finally:
        store.close()
