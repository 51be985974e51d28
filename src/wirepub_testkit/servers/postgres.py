"""A PostgreSQL of the test's own that checks passwords (scram-sha-256), on a free port of 127.0.0.1.

The machine's PostgreSQL trusts local connections, so it can never say "wrong password"; this one can.
It is made with Debian's initdb and pg_ctl, run as the `postgres` user (PostgreSQL refuses to run as root),
in a temporary folder, and stopped (immediately) on leaving. ServerUnavailable where that cannot be done.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from wirepub_testkit.ports import LOCALHOST, free_port
from wirepub_testkit.servers import ServerUnavailable

USER = "wirepub"
PASSWORD = "right-password"


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise ServerUnavailable(f"no {name}: install Debian's postgresql package")
    return found[-1]


def _as_postgres(*args: str) -> list[str]:
    if os.geteuid() != 0:
        return list(args)
    if shutil.which("runuser") is None:
        raise ServerUnavailable("running as root without runuser: cannot start PostgreSQL as another user")
    return ["runuser", "-u", "postgres", "--", *args]


@contextmanager
def password_postgres() -> Iterator[str]:
    """Yields the server's URL without a password: postgresql+psycopg://wirepub@127.0.0.1:PORT/postgres."""
    folder = Path(tempfile.mkdtemp(prefix="wirepub-pg-"))
    data, port = folder / "data", free_port()
    try:
        (folder / "pw").write_text(PASSWORD)
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres")
            shutil.chown(folder / "pw", "postgres")
        made = subprocess.run(_as_postgres(_bin("initdb"), "-D", str(data), "-U", USER, "--auth=scram-sha-256",
                                           f"--pwfile={folder / 'pw'}", "-E", "UTF8"), capture_output=True, timeout=120)
        if made.returncode != 0:
            raise ServerUnavailable(f"initdb failed: {made.stderr.decode(errors='replace')[-300:]}")
        started = subprocess.run(_as_postgres(
            _bin("pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-t", "60", "-o",
            f"-p {port} -k {folder} -c listen_addresses={LOCALHOST}", "start"), capture_output=True, timeout=90)
        if started.returncode != 0:
            raise ServerUnavailable(f"pg_ctl start failed: {started.stderr.decode(errors='replace')[-300:]}")
        yield f"postgresql+psycopg://{USER}@{LOCALHOST}:{port}/postgres"
    finally:
        if data.exists():
            subprocess.run(_as_postgres(_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"),
                           capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
