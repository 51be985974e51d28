"""Log facts travel as data: the JSON line has them as fields, the human line as key=value, and nothing is
ever parsed back out of a message."""

from __future__ import annotations

import io
import json
import logging

from wirepub.logs import facts, setup_logging


def log_once(json_lines: bool, message: str, **fields: object) -> str:
    stream = io.StringIO()
    setup_logging(logging.INFO, stream=stream, json_lines=json_lines)
    logging.getLogger("wirepub.test").warning(message, extra=facts(**fields))
    setup_logging(logging.WARNING)
    return stream.getvalue()


def test_a_partner_reply_that_looks_like_a_fact_stays_inside_its_error():
    """A receiver answered 'missing field=id'; the old formatter lifted field=id into a key of its own."""
    line = json.loads(log_once(True, "delivery failed", partner="p", story="s", version=2,
                               error="HTTP 400 Bad Request: missing field=id"))
    assert line["msg"] == "delivery failed"
    assert line["error"] == "HTTP 400 Bad Request: missing field=id"
    assert line["partner"] == "p" and line["version"] == 2
    assert "field" not in line


def test_the_human_line_carries_the_same_facts():
    line = log_once(False, "story recorded", story="s", version=1, origin=None)
    assert line.rstrip().endswith("story recorded story=s version=1")  # None facts are left out
