"""Logging: human lines on a terminal, one JSON object per line otherwise (a log collector's input).

wirepub's log messages are written as a short text followed by key=value pairs (story=, version=, partner=,
format=, destination=, error=...). The JSON formatter lifts those pairs into fields, so both outputs carry
the same facts. Secrets never reach a log line in the first place: transports keep them out of their
messages, and URLs with passwords are refused by configuration.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import TextIO

# key=value, the value running until the next " key=" or the end (error texts contain spaces)
_PAIR = re.compile(r"(?:^|\s)([a-z_]+)=(.*?)(?=\s+[a-z_]+=|$)", re.DOTALL)


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        first = _PAIR.search(message)
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": (message[: first.start()] if first else message).strip(),
        }
        for key, value in _PAIR.findall(message):
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


HUMAN = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(level: int, *, stream: TextIO | None = None, json_lines: bool | None = None) -> None:
    """Configure the root logger once. json_lines None: JSON unless the stream is a terminal."""
    stream = stream or sys.stderr
    if json_lines is None:
        json_lines = not stream.isatty()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter() if json_lines else logging.Formatter(HUMAN))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("apscheduler", "botocore", "boto3", "urllib3", "httpx", "httpcore", "paramiko", "watchdog"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
