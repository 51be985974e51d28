"""Sites for the scale benchmarks: a hot folder of story files, and a published site of any size built through
the store's own batch API (not by 100,000 pushes): story versions recorded and released, their item
deliveries delivered, and the hot folder's files remembered by fingerprint, as a push would leave them."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from wirepub.intake import stored_document
from wirepub.sources.hotfolder import fingerprint
from wirepub.store import NewDelivery, NewVersion, Store, story_versions
from wirepub.story import story_from_document
from wirepub.vocabulary import DeliveryKind

BASE = datetime(2026, 11, 1, tzinfo=UTC)
PARAGRAPH = ("<p>Firefighters fought for hours on Tuesday to contain a blaze at the harbour, officials said, as "
             "residents of the port district were told to keep their windows shut and stay indoors.</p>")


def story_document(i: int, corpus: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Story i: a corpus story (its text, a new id) where there is a corpus, else a typical wire story."""
    when = (BASE + timedelta(seconds=i)).isoformat()
    if corpus:
        doc = dict(corpus[i % len(corpus)])
        doc.update(id=f"s{i:07d}-{doc['id'][:40]}", version_created=when, first_created=when)
        return doc
    return {"id": f"s{i:07d}", "headline": f"Harbour fire {i} forces the evacuation of the port district",
            "body": PARAGRAPH * 6, "byline": "Harbour desk", "language": "en", "keywords": ["fire", "harbour"],
            "subjects": [{"name": "disaster", "code": "medtop:03000000"}], "version_created": when}


def write_stories(folder: Path, start: int, count: int, corpus: list[dict[str, Any]] | None = None) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + count):
        path = folder / f"story-{i:07d}.json"
        path.write_text(json.dumps(story_document(i, corpus)), encoding="utf-8")
        paths.append(path)
    return paths


def config_text(store_url: str, *, settle: float = 0, extra: str = "") -> str:
    return (f'[source]\nsettle = {settle}\n\n[store]\nurl = "{store_url}"\n\n'
            '[[partners]]\nname = "site"\ndestinations = ["public"]\nformats = ["newsml-g2", "rss"]\n' + extra)


def build_published_site(root: Path, count: int, *, keep_files: bool, batch: int = 2000) -> Path:
    """A site of `count` published stories at root (wirepub.toml, stories/, store), built through the store's
    batch API. keep_files: the hot folder still holds every published file (remembered by fingerprint)."""
    root.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{root}/wirepub.db"
    (root / "wirepub.toml").write_text(config_text(url))
    stories = root / "stories"
    stories.mkdir(exist_ok=True)
    store = Store(url)
    try:
        for start in range(0, count, batch):
            n = min(batch, count - start)
            _publish_batch(store, stories, start, n, keep_files=keep_files)
    finally:
        store.close()
    return root


def _publish_batch(store: Store, stories: Path, start: int, n: int, *, keep_files: bool) -> None:
    now = BASE + timedelta(days=1)
    docs = [story_document(i) for i in range(start, start + n)]
    paths = write_stories(stories, start, n) if keep_files else [stories / f"story-{i:07d}.json"
                                                                 for i in range(start, start + n)]
    parsed = [story_from_document(d, origin=str(p)) for d, p in zip(docs, paths, strict=True)]
    store.versions.record_many([NewVersion(s.id, s.version, s.status, s.content_hash, stored_document(s), s.origin,
                                           s.version_created, s.embargo) for s in parsed], now)
    rows = []
    for s in parsed:
        body = f"<newsItem guid='{s.id}'/>".encode()
        rows.append(NewDelivery("site", "public", f"items/{s.id}/v1.xml", "newsml-g2", DeliveryKind.ITEM,
                                "application/xml", body, hashlib.sha256(body).hexdigest(), s.id, 1))
    with store.ledger.batch(now) as b:
        b.add(rows)
        b.released([(s.id, s.version) for s in parsed])
    with store.engine.begin() as c:
        c.execute(sa.text("UPDATE deliveries SET state = 'delivered', delivered_at = created_at "
                          "WHERE state = 'pending'"))
    if keep_files:
        store.source_items.remember(f"folder:{stories}", [(str(p), fingerprint(p.name, os.stat(p))) for p in paths],
                                    now)


def published_count(root: Path) -> int:
    store = Store(f"sqlite:///{root}/wirepub.db")
    try:
        with store.engine.connect() as c:
            return int(c.execute(sa.select(sa.func.count()).select_from(story_versions)).scalar_one())
    finally:
        store.close()
