"""`wirepub run` in real processes, for the daemon tests: start one, read its JSON log lines, ask its web
server, stop it with SIGTERM or SIGKILL. Every wait is bounded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

WAIT_SECONDS = 60.0   # bound on every wait for a real process; the work takes a few seconds


class Running:
    """`wirepub run` in a subprocess, its JSON log lines collected from a file."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root = root
        self.log = root / f"daemon-{time.monotonic_ns()}.log"
        self._log_handle = self.log.open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "wirepub.cli", "run"], cwd=root, env=env,
                                     stdout=subprocess.DEVNULL, stderr=self._log_handle)
        line = self.wait_for_line(lambda e: e.get("msg") == "running")
        self.health = line["health"]

    def lines(self) -> list[dict[str, Any]]:
        out = []
        for raw in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                out.append(json.loads(raw))
            except json.JSONDecodeError:
                out.append({"msg": raw})
        return out

    def wait_for_line(self, match: Any) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            for entry in self.lines():
                if match(entry):
                    return entry
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.05)
        raise AssertionError(f"no such log line within {WAIT_SECONDS}s:\n{self.log.read_text()[-3000:]}")

    def get(self, path: str) -> tuple[int, bytes]:
        url = self.health.rsplit("/", 1)[0] + path
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def terminate(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(WAIT_SECONDS)
        finally:
            self._log_handle.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(WAIT_SECONDS)
        self._log_handle.close()


def wait_until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {WAIT_SECONDS}s: {what}")


def drop_atomically(folder_path: Path, name: str, doc: dict[str, Any]) -> None:
    temp = folder_path / f".{name}.tmp"
    temp.write_text(json.dumps(doc), encoding="utf-8")
    os.replace(temp, folder_path / name)
