"""file:// destinations: atomic writes, and no way out of the folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wirepub.errors import DestinationError
from wirepub.transports import Destination, Put, open_transport
from wirepub.transports.file import FileTransport, folder_of


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
    with pytest.raises(DestinationError, match="No space left"):
        t.put(Put("f.xml", b"new", "application/xml"))
    assert (tmp_path / "out/f.xml").read_bytes() == b"old"
    assert os.listdir(tmp_path / "out") == ["f.xml"]


@pytest.mark.parametrize("path", ["../escape.xml", "items/../../escape.xml", "/etc/passwd", ""])
def test_paths_cannot_leave_the_folder(tmp_path, path):
    t = FileTransport(Destination("out"), base_dir=tmp_path)
    with pytest.raises(DestinationError, match="would leave the folder"):
        t.put(Put(path, b"x", "text/plain"))
    assert not (tmp_path / "escape.xml").exists()


def test_unknown_schemes_are_a_clear_error(tmp_path):
    from wirepub.errors import ConfigError

    with pytest.raises(ConfigError, match="gopher"):
        open_transport("gopher://x/", base_dir=tmp_path)


def test_a_killed_writers_old_temporary_file_is_swept_and_a_young_one_left(tmp_path):
    import os
    import time

    from wirepub.transports import Destination, Put
    from wirepub.transports.file import FileTransport

    folder = tmp_path / "out/items/a"
    folder.mkdir(parents=True)
    old, young = folder / ".v1.xml.abc123.tmp", folder / ".v2.xml.def456.tmp"
    old.write_bytes(b"half a docu")
    young.write_bytes(b"being writt")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    FileTransport(Destination("out"), base_dir=tmp_path).put(Put("items/a/v3.xml", b"<x/>", "application/xml"))
    assert not old.exists() and young.exists()
    assert (folder / "v3.xml").read_bytes() == b"<x/>"
