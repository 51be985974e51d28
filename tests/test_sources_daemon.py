"""Every kind of source end to end through `wirepub run` (issue 11, done when): the ingest API, an S3 inbox, a
SQL table and WordPress, each to a folder partner and to an S3 partner (moto's server), on their own schedules;
a story one source cannot publish shows on the status page and in /api/status, naming source, item and field."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import httpx

from wirepub_testkit.daemon import Running
from wirepub_testkit.servers.s3 import admin_client
from wirepub_testkit.servers.wordpress import WordPress
from wirepub_testkit.waiting import wait_until

TOKEN = "daemon-token"


def partners(s3_server: str, bucket: str) -> str:
    return f"""
[[partners]]
name = "folder"
formats = ["newsml-g2"]
destinations = ["public"]

[[partners]]
name = "bucket"
formats = ["newsml-g2"]
[[partners.destinations]]
url = "s3://{bucket}/wire"
endpoint_url = "{s3_server}"
region = "us-east-1"
"""


def delivered(root: Path, s3: object, bucket: str, story_id: str) -> bool:
    if not (root / "public/items" / story_id / "v1.xml").is_file():
        return False
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"wire/items/{story_id}/")  # type: ignore[attr-defined]
    return bool(listed.get("Contents"))


def test_api_s3_inbox_and_sql_sources_through_the_daemon(tmp_path, s3_server, s3_bucket, aws_env):
    s3 = admin_client(s3_server)
    inbox = f"{s3_bucket}-in"
    s3.create_bucket(Bucket=inbox)
    db = tmp_path / "newsroom.db"
    with sqlite3.connect(db) as c:
        c.execute("CREATE TABLE articles (id TEXT, headline TEXT, body TEXT, updated_at INTEGER)")
        c.execute("INSERT INTO articles VALUES ('from-sql', 'From the database', '<p>SQL.</p>', 1)")
    (tmp_path / "wirepub.toml").write_text(f"""
[daemon]
listen = "127.0.0.1:0"
interval = 0.5

[[sources]]
name = "cms"
kind = "api"
tokens_env = ["CMS_TOKEN"]

[[sources]]
name = "inbox"
kind = "s3"
bucket = "{inbox}"
endpoint_url = "{s3_server}"
region = "us-east-1"
interval = 0.5

[[sources]]
name = "db"
kind = "sql"
url = "sqlite:///{db}"
table = "articles"
cursor = "updated_at"
interval = 0.5
""" + partners(s3_server, s3_bucket), encoding="utf-8")
    env = {**os.environ, "CMS_TOKEN": TOKEN}
    for name in ("WIREPUB_CONFIG", "WIREPUB_STORE_URL", "WIREPUB_STATUS_TOKEN"):
        env.pop(name, None)
    daemon = Running(tmp_path, env)
    try:
        base = daemon.health.rsplit("/", 1)[0]
        answer = httpx.post(f"{base}/api/v1/stories", headers={"Authorization": f"Bearer {TOKEN}"}, trust_env=False,
                            json={"id": "from-api", "headline": "From the API", "body": "<p>API.</p>"})
        assert answer.status_code == 201
        s3.put_object(Bucket=inbox, Key="from-s3.json",
                      Body=json.dumps({"id": "from-s3", "headline": "From the inbox", "body": "<p>S3.</p>"}).encode())
        s3.put_object(Bucket=inbox, Key="broken.json", Body=b'{"id": "broken", "headline": "No body"}')
        for story_id in ("from-api", "from-s3", "from-sql"):
            wait_until(lambda sid=story_id: delivered(tmp_path, s3, s3_bucket, sid), f"{story_id} at both partners")
        with sqlite3.connect(db) as c:   # a row added while the daemon runs: the next pull has it
            c.execute("INSERT INTO articles VALUES ('later', 'Later', '<p>Later.</p>', 2)")
        wait_until(lambda: delivered(tmp_path, s3, s3_bucket, "later"), "the later row at both partners")

        def rejected() -> list[dict[str, object]]:
            return list(json.loads(daemon.get("/api/status")[1])["rejections"])

        found = wait_until(rejected, "the broken inbox object among the rejections")
        assert [(r["source"], r["item"], r["field"]) for r in found] == [
            ("inbox", f"s3://{inbox}/broken.json", "body")]
        page = daemon.get("/")[1].decode()
        assert "Rejected" in page and "broken.json" in page and "inbox" in page
        assert daemon.terminate() == 0
    finally:
        daemon.kill()


def test_wordpress_through_the_daemon(tmp_path, wordpress: WordPress, s3_server, s3_bucket, aws_env):
    s3 = admin_client(s3_server)
    (tmp_path / "wirepub.toml").write_text(f"""
[daemon]
listen = "127.0.0.1:0"
interval = 0.5

[[sources]]
name = "site"
kind = "wordpress"
url = "{wordpress.url}"
user = "{wordpress.user}"
password_env = "WP_APP_PASSWORD"
id_prefix = "daemon-wp-"
interval = 0.5
""" + partners(s3_server, s3_bucket), encoding="utf-8")
    env = {**os.environ, "WP_APP_PASSWORD": wordpress.password}
    for name in ("WIREPUB_CONFIG", "WIREPUB_STORE_URL", "WIREPUB_STATUS_TOKEN"):
        env.pop(name, None)
    daemon = Running(tmp_path, env)
    try:
        post = wordpress.post(title="Through the daemon", content="<p>Pulled on its own schedule.</p>")
        sid = f"daemon-wp-{post['id']}"
        wait_until(lambda: delivered(tmp_path, s3, s3_bucket, sid), "the post at both partners")
        wordpress.trash(post["id"])
        wait_until(lambda: (tmp_path / "public/items" / sid / "v2.xml").is_file(), "the kill at the folder partner")
        assert "canceled" in (tmp_path / "public/items" / sid / "v2.xml").read_text()
        assert daemon.terminate() == 0
    finally:
        daemon.kill()
