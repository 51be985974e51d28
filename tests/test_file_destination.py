"""file:// destinations: atomic writes, and no way out of the folder."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from wirepub.clock import FixedClock
from wirepub.errors import DestinationError
from wirepub.transports import Destination, Put, Refused, Unreachable, open_transport
from wirepub.transports.file import FileTransport, folder_of

XML = "application/xml"


def test_urls_and_plain_paths(tmp_path):
    assert folder_of("public", tmp_path) == tmp_path / "public"
    assert folder_of("file:out/x", tmp_path) == tmp_path / "out/x"
    assert folder_of("file://./out", tmp_path) == tmp_path / "out"
    assert folder_of(f"file://{tmp_path}/abs", Path("/elsewhere")) == tmp_path / "abs"
    with pytest.raises(DestinationError):
        folder_of("file://remotehost/x", tmp_path)


def test_write_is_atomic_and_leaves_no_temporary_files(tmp_path):
    t = FileTransport(Destination("out"), base_dir=tmp_path)
    t.put(Put("items/a/v1.xml", b"one", "application/xml"))
    target = tmp_path / "out/items/a/v1.xml"
    inode_before = target.stat().st_ino
    t.put(Put("items/a/v1.xml", b"two", "application/xml"))
    assert target.read_bytes() == b"two"
    assert target.stat().st_ino != inode_before  # replaced by rename, not rewritten in place
    assert os.listdir(target.parent) == ["v1.xml"]


def test_a_failed_write_leaves_the_old_document(tmp_path, monkeypatch):
    # Unit test with one boundary replaced: os.replace failing is hard to provoke for real on tmpfs.
    t = FileTransport(Destination("out"), base_dir=tmp_path)
    t.put(Put("f.xml", b"old", "application/xml"))

    def refuse(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(DestinationError, match="No space left") as caught:
        t.put(Put("f.xml", b"new", "application/xml"))
    assert isinstance(caught.value, Unreachable) and caught.value.retryable
    assert (tmp_path / "out/f.xml").read_bytes() == b"old"
    assert os.listdir(tmp_path / "out") == ["f.xml"]


@pytest.mark.parametrize("path", ["../escape.xml", "items/../../escape.xml", "/etc/passwd", ""])
def test_paths_cannot_leave_the_folder(tmp_path, path):
    t = FileTransport(Destination("out"), base_dir=tmp_path)
    with pytest.raises(DestinationError, match="would leave the folder") as caught:
        t.put(Put(path, b"x", "text/plain"))
    assert isinstance(caught.value, Refused) and not caught.value.retryable
    assert not (tmp_path / "escape.xml").exists()


def test_unknown_schemes_are_a_clear_error(tmp_path):
    from wirepub.errors import ConfigError

    with pytest.raises(ConfigError, match="gopher"):
        open_transport("gopher://x/", base_dir=tmp_path)


WRITTEN = datetime(2020, 3, 1, 9, 0, tzinfo=UTC)  # years ago by the wall clock: only the transport's clock says


def _leftovers(tmp_path: Path) -> tuple[Path, Path]:
    """A killed writer's temporary file written at WRITTEN, and another writer's 50 minutes later."""
    folder = tmp_path / "out/items/a"
    folder.mkdir(parents=True)
    old, young = folder / ".v1.xml.abc123.tmp", folder / ".v2.xml.def456.tmp"
    old.write_bytes(b"half a docu")
    young.write_bytes(b"being writt")
    for path, at in ((old, WRITTEN), (young, WRITTEN + timedelta(minutes=50))):
        os.utime(path, (at.timestamp(), at.timestamp()))
    return old, young


def test_a_killed_writers_old_temporary_file_is_swept_and_a_young_one_left(tmp_path):
    old, young = _leftovers(tmp_path)
    clock = FixedClock(WRITTEN + timedelta(minutes=90))  # the old one is 90 minutes old, the young one 40
    FileTransport(Destination("out"), base_dir=tmp_path, clock=clock).put(Put("items/a/v3.xml", b"<x/>", XML))
    assert not old.exists() and young.exists()
    assert (old.parent / "v3.xml").read_bytes() == b"<x/>"


def test_staleness_is_by_the_transports_clock(tmp_path):
    old, young = _leftovers(tmp_path)
    clock = FixedClock(WRITTEN + timedelta(minutes=30))  # by this clock neither is an hour old
    t = open_transport(Destination("out"), base_dir=tmp_path, clock=clock)
    t.put(Put("items/a/v3.xml", b"<x/>", XML))
    assert old.exists() and young.exists()


def test_a_file_destination_takes_no_options(tmp_path):
    from wirepub.errors import ConfigError

    with pytest.raises(ConfigError, match=r"unknown option\(s\) mode: a file:// destination takes no options"):
        FileTransport(Destination("out", {"mode": "0644"}), base_dir=tmp_path)


# ---- leftovers swept where they were left, when the transport is opened --------------------------------

HOUR = 3600.0


def _aged(path: Path, seconds: float, data: bytes = b"half a docu") -> Path:
    """A file written `seconds` ago by the wall clock (the pool's transports use the system clock)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    at = datetime.now(UTC).timestamp() - seconds
    os.utime(path, (at, at))
    return path


def test_opening_sweeps_the_whole_tree_of_old_leftovers_and_nothing_else(tmp_path, caplog):
    out, outside = tmp_path / "out", tmp_path / "outside"
    old = [_aged(out / ".rss.xml.k3j9x_2a.tmp", 2 * HOUR),
           _aged(out / "items/2024/05/gone/.v1.xml.abcdefgh.tmp", 3 * HOUR)]       # a folder no one writes again
    kept = [_aged(out / "items/a/.v2.xml.young123.tmp", 10 * 60),                  # another node at work
            _aged(out / "items/a/.notes.tmp", 5 * HOUR),                           # not a name wirepub makes
            _aged(out / "items/a/v1.xml", 5 * HOUR, b"<x/>"),
            _aged(outside / ".v1.xml.abcdefgh.tmp", 5 * HOUR),                     # behind symlinks below
            _aged(outside / "deep/.v1.xml.abcdefgh.tmp", 5 * HOUR)]
    (out / "items/.v9.xml.linked12.tmp").symlink_to(outside / ".v1.xml.abcdefgh.tmp")
    (out / "items/linked").symlink_to(outside / "deep", target_is_directory=True)
    caplog.set_level("INFO", logger="wirepub.transports.file")

    FileTransport(Destination("out"), base_dir=tmp_path)   # opened, nothing written

    assert [p.exists() for p in old] == [False, False]
    assert all(p.exists() for p in kept) and (out / "items/.v9.xml.linked12.tmp").is_symlink()
    [line] = [r for r in caplog.records if r.getMessage() == "removed stale temporary files"]
    said = line.wirepub_facts  # type: ignore[attr-defined]
    assert said["count"] == 2 and sorted(said["files"]) == [".rss.xml.k3j9x_2a.tmp",
                                                             "items/2024/05/gone/.v1.xml.abcdefgh.tmp"]


def test_the_sweep_is_bounded_and_looks_at_recently_changed_folders_first(tmp_path):
    from wirepub.transports.file import sweep_tree

    leftovers = {}
    for age_hours in (5, 4, 3, 2):                       # folder f2 changed last, f5 first
        folder = tmp_path / f"f{age_hours}"
        leftovers[age_hours] = _aged(folder / ".v1.xml.abcdefgh.tmp", 2 * HOUR)
        at = datetime.now(UTC).timestamp() - age_hours * HOUR
        os.utime(folder, (at, at))
    swept = sweep_tree(tmp_path, datetime.now(UTC).timestamp() - HOUR, max_folders=3)
    assert not swept.complete and swept.folders == 3
    assert [leftovers[h].exists() for h in (2, 3, 4, 5)] == [False, False, True, True]
    entries = sweep_tree(tmp_path, datetime.now(UTC).timestamp() - HOUR, max_entries=2)
    assert not entries.complete and entries.entries == 2


def test_a_push_sweeps_a_folder_it_does_not_write_into(workspace, story_doc):
    leftover = _aged(workspace.public / "items/old-story/.v1.xml.abcdefgh.tmp", 2 * HOUR)
    young = _aged(workspace.public / "items/old-story/.v2.xml.young123.tmp", 60)
    workspace.drop("new.json", story_doc(id="new-story"))
    report = workspace.push()
    assert report.ok and report.written
    assert not leftover.exists() and young.exists()
