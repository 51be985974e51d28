"""The one bounded wait: poll a condition until it holds, or give up after a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

WAIT_SECONDS = 60.0   # the default bound: real processes and servers do the work in a few seconds


class WaitTimeout(AssertionError):
    """A condition did not hold in time. An AssertionError, so that pytest reports a failed test (not an
    error in the test's machinery); a benchmark may catch it and exit with its message."""


def wait_until(condition: Callable[[], T | None], what: str, *, timeout: float = WAIT_SECONDS,
               interval: float = 0.05) -> T:
    """Call condition() every `interval` seconds until it returns something true, and return that; raise
    WaitTimeout naming `what` once `timeout` seconds have passed. An exception from condition() ends the wait
    at once (a condition may raise to say the thing it waits for can no longer happen)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise WaitTimeout(f"not within {timeout:g} s: {what}")
        time.sleep(interval)
