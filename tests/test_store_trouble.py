"""Store trouble gets one sentence and exit status 2, not a traceback (issue 10, item 10); reading the status
needs no write lock."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

WIREPUB = [sys.executable, "-m", "wirepub.cli"]
STORY = {"id": "a", "headline": "H", "body": "B", "version_created": "2026-11-25T10:00:00Z"}


def wirepub(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("WIREPUB_")} | (env or {})
    return subprocess.run([*WIREPUB, *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=120)


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return json.loads(lines[0])["msg"]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "stories").mkdir()
    (tmp_path / "stories/a.json").write_text(json.dumps(STORY))
    assert wirepub("push", cwd=tmp_path).returncode == 0
    return tmp_path


def test_a_locked_store_gets_a_sentence_and_status_still_reads(site):
    db = site / ".wirepub/wirepub.db"
    holder = sqlite3.connect(db, timeout=1)
    holder.execute("BEGIN IMMEDIATE")               # another writer holding the store
    try:
        (site / "stories/b.json").write_text(json.dumps({**STORY, "id": "b"}))
        done = wirepub("push", cwd=site)
        assert done.returncode == 2 and "is locked" in one_line(done)
        status = wirepub("status", "--json", cwd=site)
        assert status.returncode == 0, status.stderr      # reading needs no write lock
        assert json.loads(status.stdout)[0]["delivered"] == 3
    finally:
        holder.rollback()
        holder.close()


@pytest.mark.parametrize(("damage", "words"), [
    (lambda db: db.write_bytes(b"this is not a database at all" * 100), "not a SQLite database"),
    (lambda db: db.write_bytes(db.read_bytes()[: len(db.read_bytes()) // 3]), "damaged"),
])
def test_a_damaged_store_gets_a_sentence(site, damage, words):
    db = site / ".wirepub/wirepub.db"
    for extra in (db.with_name("wirepub.db-wal"), db.with_name("wirepub.db-shm")):
        extra.unlink(missing_ok=True)
    damage(db)
    for command in (["push"], ["status"]):
        done = wirepub(*command, cwd=site)
        assert done.returncode == 2 and words in one_line(done), done.stderr


def test_a_full_disk_gets_a_sentence(tmp_path):
    disk = tmp_path / "small-disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here to fill ({mounted.stderr.decode().strip()})")
    try:
        (tmp_path / "stories").mkdir()
        (tmp_path / "wirepub.toml").write_text(f'[store]\nurl = "sqlite:///{disk}/wirepub.db"\n')
        for i in range(40):
            (tmp_path / f"stories/s{i}.json").write_text(json.dumps({**STORY, "id": f"s{i}", "body": "x" * 20_000}))
        done = wirepub("push", cwd=tmp_path)
        assert done.returncode == 2 and "is full" in one_line(done), done.stderr
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_a_wrong_postgresql_password_gets_a_sentence(tmp_path):
    from wirepub_testkit.servers import ServerUnavailable
    from wirepub_testkit.servers.postgres import PASSWORD, password_postgres

    try:
        server = password_postgres()
        url = server.__enter__()
    except ServerUnavailable as exc:
        pytest.skip(str(exc))
    try:
        wrong = url.replace("wirepub@", "wirepub:not-the-password@")
        done = wirepub("status", cwd=tmp_path, env={"WIREPUB_STORE_URL": wrong})
        said = one_line(done)
        assert done.returncode == 2 and "refused the password" in said and "not-the-password" not in said
        right = url.replace("wirepub@", f"wirepub:{PASSWORD}@")
        assert wirepub("status", cwd=tmp_path, env={"WIREPUB_STORE_URL": right}).returncode == 0
    finally:
        server.__exit__(None, None, None)
