"""`wirepub run` in a real process, for the daemon tests and the latency benchmark: start one, read its JSON
log lines, ask its web server, stop it with SIGTERM or SIGKILL; and drop a story into its hot folder the way a
CMS should. Every wait is bounded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wirepub_testkit.waiting import WAIT_SECONDS, WaitTimeout, wait_until


class Running:
    """`wirepub run` in a subprocess (cwd `root`, environment `env`), its JSON log lines collected from a file
    in `root`. Returns once the daemon has logged that it is running; `health` is its health URL."""

    def __init__(self, root: Path, env: dict[str, str], *, wait_seconds: float = WAIT_SECONDS) -> None:
        self.root = root
        self.wait_seconds = wait_seconds
        self.log = root / f"daemon-{time.monotonic_ns()}.log"
        self._log_handle = self.log.open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "wirepub.cli", "run"], cwd=root, env=env,
                                     stdout=subprocess.DEVNULL, stderr=self._log_handle)
        try:
            line = self.wait_for_line(lambda e: e.get("msg") == "running")
        except BaseException:
            self.kill()
            raise
        self.health: str = line["health"]

    def lines(self) -> list[dict[str, Any]]:
        out = []
        for raw in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                out.append(json.loads(raw))
            except json.JSONDecodeError:
                out.append({"msg": raw})
        return out

    def wait_for_line(self, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first log line that match() accepts, waiting for it (bounded); fails at once if the daemon
        exits first."""

        def found() -> dict[str, Any] | None:
            for entry in self.lines():
                if match(entry):
                    return entry
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            return None

        try:
            return wait_until(found, "such a log line", timeout=self.wait_seconds)
        except WaitTimeout:
            raise WaitTimeout(f"no such log line within {self.wait_seconds:g} s:\n"
                              f"{self.log.read_text()[-3000:]}") from None

    def get(self, path: str) -> tuple[int, bytes]:
        url = self.health.rsplit("/", 1)[0] + path
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                status: int = answer.status
                return status, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def terminate(self) -> int:
        """SIGTERM, and its exit code once it has stopped; SIGKILL (and TimeoutExpired) if it does not stop
        within the bound."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(self.wait_seconds)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(self.wait_seconds)
            raise
        finally:
            self._log_handle.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(self.wait_seconds)
        self._log_handle.close()


def drop_atomically(folder_path: Path, name: str, doc: dict[str, Any]) -> float:
    """Write a story under a dot-name, then rename it into place, as a CMS export should; returns the time
    (time.time()) of the rename."""
    temp = folder_path / f".{name}.tmp"
    temp.write_text(json.dumps(doc), encoding="utf-8")
    os.replace(temp, folder_path / name)
    return time.time()
