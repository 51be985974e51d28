"""docs/troubleshooting.md describes only errors wirepub really raises: each entry's heading is a literal
piece of a message in src/wirepub/ (or in schemas/, whose descriptions the story and config errors quote),
and every transport has entries."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "troubleshooting.md"
SOURCES = {p.relative_to(REPO / "src" / "wirepub").as_posix(): p.read_text(encoding="utf-8")
           for p in (REPO / "src" / "wirepub").rglob("*.py")}
SOURCES.update({f"schemas/{p.name}": p.read_text(encoding="utf-8") for p in (REPO / "schemas").glob("*.json")})


def entries() -> list[str]:
    return re.findall(r"^### `(.+)`$", DOC.read_text(encoding="utf-8"), flags=re.MULTILINE)


def where(fragment: str) -> list[str]:
    return [name for name, text in SOURCES.items() if fragment in text]


def test_every_entry_is_a_message_the_code_raises() -> None:
    found = entries()
    assert len(found) >= 25
    missing = [f for f in found if not where(f)]
    assert not missing, f"docs/troubleshooting.md describes messages no longer in src/wirepub or schemas: {missing}"


def test_every_transport_and_the_daemon_have_entries() -> None:
    covered = {name for fragment in entries() for name in where(fragment)}
    for module in ("transports/file.py", "transports/http.py", "transports/s3.py", "transports/sftp.py",
                   "transports/ftp.py", "delivery.py", "daemon.py", "publisher.py", "config.py"):
        assert module in covered, f"docs/troubleshooting.md has no entry for a message from {module}"
