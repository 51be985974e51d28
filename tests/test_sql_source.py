"""The SQL source (issue 11, item 4) on the PostgreSQL and MariaDB servers at 127.0.0.1 (each case skips, saying
why, where its server does not answer): a table with a column mapping and an updated_at cursor, and a query with a
sequence cursor. A bad row is set aside with source, item and field, and the others go on."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from wirepub import app
from wirepub.config import build_config


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    pymysql = pytest.importorskip("pymysql")
    try:
        admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True,
                                connect_timeout=3)
    except pymysql.MySQLError as exc:
        pytest.skip(f"no MariaDB/MySQL at 127.0.0.1:3306 as root ({exc})")
    name = f"wirepub_src_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield f"mysql+pymysql://root@127.0.0.1:3306/{name}?charset=utf8mb4"
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


@pytest.fixture(params=["postgresql", "mariadb"])
def newsroom_db(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("pg_url" if request.param == "postgresql" else "mariadb_url"))


T0 = datetime(2026, 11, 25, 9, 0)


def test_a_table_with_a_mapping_and_an_updated_at_cursor(tmp_path, newsroom_db, monkeypatch):
    engine = sa.create_engine(newsroom_db)
    with engine.begin() as c:
        c.execute(sa.text("CREATE TABLE articles (article_id INTEGER PRIMARY KEY, title VARCHAR(500), "
                          "text_html TEXT, state VARCHAR(20), tags TEXT, updated_at TIMESTAMP NOT NULL)"))
        c.execute(sa.text("INSERT INTO articles VALUES (:i, :t, :b, :s, :k, :u)"), [
            {"i": 1, "t": "Budget agreed", "b": "<p>One.</p>", "s": "approved", "k": '["budget"]', "u": T0},
            {"i": 2, "t": "Draft only", "b": "<p>Two.</p>", "s": "draft", "k": None, "u": T0},
            {"i": 3, "t": "", "b": "<p>Three.</p>", "s": "approved", "k": None, "u": T0 + timedelta(seconds=1)},
            {"i": 4, "t": "Fire at the harbour", "b": "<p>Four.</p>", "s": "approved", "k": None,
             "u": T0 + timedelta(seconds=1)}])
    url = sa.make_url(newsroom_db)
    monkeypatch.setenv("NEWSROOM_DB", url.render_as_string(hide_password=False))
    raw = {"sources": [{"name": "desk", "kind": "sql", "url_env": "NEWSROOM_DB", "table": "articles",
                        "where": "state = 'approved'", "cursor": "updated_at", "id_prefix": "db-", "batch": 2,
                        "columns": {"id": "article_id", "headline": "title", "body": "text_html",
                                    "keywords": "tags"}}],
           "partners": [{"name": "out", "formats": ["newsml-g2"], "destinations": ["public"]}]}
    config = build_config(raw, base_dir=tmp_path, path=None)
    first = app.push(config)
    second = app.push(config)    # batch 2: the rest at the next pull
    released = sorted(first.released + second.released)
    assert released == [("db-1", 1), ("db-4", 1)], (first, second)
    rejected = first.rejected + second.rejected
    assert [(r.ref, r.error.field) for r in rejected] == [("desk:articles/3", "headline")]
    status = app.status(config)
    assert [(r["source"], r["field"]) for r in status.rejections] == [("desk", "headline")]
    assert "budget" in (tmp_path / "public/items/db-1/v1.xml").read_text()
    assert app.push(config).new == []                                     # nothing new: the cursor held

    with engine.begin() as c:   # corrected, and the first one edited: the next pull has both
        c.execute(sa.text("UPDATE articles SET title = 'Ferry delayed', updated_at = :u WHERE article_id = 3"),
                  {"u": T0 + timedelta(minutes=1)})
        c.execute(sa.text("UPDATE articles SET text_html = '<p>One, corrected.</p>', updated_at = :u "
                          "WHERE article_id = 1"), {"u": T0 + timedelta(minutes=2)})
    report = app.push(config)
    assert sorted(report.released) == [("db-1", 2), ("db-3", 1)], report
    assert app.status(config).rejections == []                            # fixed: no longer rejected
    engine.dispose()


def test_a_query_with_a_sequence_cursor_and_sources_check(tmp_path, newsroom_db, monkeypatch):
    engine = sa.create_engine(newsroom_db)
    with engine.begin() as c:
        c.execute(sa.text("CREATE TABLE wire (seq INTEGER PRIMARY KEY, slug VARCHAR(100), headline VARCHAR(500), "
                          "body TEXT, status VARCHAR(20))"))
        c.execute(sa.text("INSERT INTO wire VALUES (:q, :s, :h, :b, :st)"), [
            {"q": i, "s": f"w{i}", "h": f"Wire {i}", "b": f"Item {i}.", "st": "approved"} for i in range(1, 6)])
    monkeypatch.setenv("NEWSROOM_DB", sa.make_url(newsroom_db).render_as_string(hide_password=False))
    raw = {"sources": [{"name": "wire", "kind": "sql", "url_env": "NEWSROOM_DB", "cursor": "seq",
                        "query": "SELECT seq, slug AS id, headline, body, status FROM wire"}],
           "partners": [{"name": "out", "formats": ["newsml-g2"], "destinations": ["public"]}]}
    config = build_config(raw, base_dir=tmp_path, path=None)
    checked = app.check_sources(config)
    assert checked[0].ok and "connected" in (checked[0].found or ""), checked
    report = app.push(config)
    assert sorted(i for i, _ in report.released) == [f"w{i}" for i in range(1, 6)]
    with engine.begin() as c:   # a kill: the next sequence number says the story is withdrawn
        c.execute(sa.text("UPDATE wire SET seq = 6, status = 'withdrawn' WHERE seq = 2"))
    report = app.push(config)
    assert report.released == [("w2", 2)]
    assert "canceled" in (tmp_path / "public/items/w2/v2.xml").read_text()
    engine.dispose()
