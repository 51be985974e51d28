"""Logging: human lines on a terminal, one JSON object per line otherwise (a log collector's input).

A log call says what happened in a short message and passes its facts as data:

    log.info("story recorded", extra=facts(story=s.id, version=s.version))

The JSON formatter writes the facts as fields of the object; the human formatter appends them as
key=value. Nothing is ever parsed back out of a message, so a partner's reply that happens to contain
"field=id" stays inside the error text it belongs to. Secrets never reach a log line in the first place:
transports keep them out of their messages, and URLs are shown without passwords.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

FACTS = "wirepub_facts"   # the LogRecord attribute facts() sets


def facts(**fields: Any) -> dict[str, Any]:
    """extra= for a log call: its facts, None ones left out."""
    return {FACTS: {k: v for k, v in fields.items() if v is not None}}


def _facts_of(record: logging.LogRecord) -> dict[str, Any]:
    found = getattr(record, FACTS, None)
    return found if isinstance(found, dict) else {}


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in _facts_of(record).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class HumanFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's naming)
        line = super().formatMessage(record)
        pairs = " ".join(f"{k}={v}" for k, v in _facts_of(record).items())
        return f"{line} {pairs}" if pairs else line


NOISY = ("apscheduler", "botocore", "boto3", "urllib3", "httpx", "httpcore", "paramiko", "watchdog", "alembic",
         "uvicorn", "uvicorn.access", "uvicorn.error")


def setup_logging(level: int, *, stream: TextIO | None = None, json_lines: bool | None = None) -> None:
    """Configure the root logger once. json_lines None: JSON unless the stream is a terminal."""
    stream = stream or sys.stderr
    if json_lines is None:
        json_lines = not stream.isatty()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter() if json_lines else HumanFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
