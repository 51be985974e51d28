"""Delivery errors: what went wrong at a destination, and whether trying again later can help.

DeliveryError is the base the deliverer reads (``retryable``, ``retry_after``). Transports raise one of its
four kinds, each with ``retryable`` fixed by its class:

- Unreachable: wirepub could not get through (refused, reset or lost connections, timeouts, DNS, a TLS
  handshake, a folder that cannot be written just now). Retried.
- Throttled: the destination answered "not now" (HTTP 408, 429, 5xx; S3's SlowDown; an FTP 4xx; a full
  disk). Retried, not before ``retry_after`` when the other side said.
- Refused: the destination answered "no" (a 4xx, a refused login, permission denied, a changed host key, a
  path that is not plainly relative). Not retried: a person must act.
- Misconfigured: the destination as configured cannot work (a missing bucket, a wrong region, a CA that
  does not trust the server, a key file that cannot be loaded). Not retried.

As in httpx, a transport maps its library's exceptions (or a server's status or error code) to these by a
table: an ErrorTable of Case rows, the first matching row winning, each naming the error class and the
message template. The template is filled from Facts: what the transport knows about the failure (the
destination, the verb, the server's own words), some worked out only when a template names them.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass
from typing import Any

from wirepub.errors import DestinationError


class DeliveryError(DestinationError):
    """A document could not be delivered. Subclasses fix ``retryable``; the base takes it as an argument."""

    retryable: bool = True

    def __init__(self, message: str, *, retryable: bool | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        if retryable is not None:
            self.retryable = retryable
        self.retry_after = retry_after

    def reworded(self, message: str) -> DeliveryError:
        """The same error (class, retryable, retry_after) with another message."""
        copy = type(self).__new__(type(self))
        DeliveryError.__init__(copy, message, retryable=self.retryable, retry_after=self.retry_after)
        return copy


class Unreachable(DeliveryError):
    """wirepub could not get through to the destination; that may mend."""

    retryable = True


class Throttled(DeliveryError):
    """The destination answered: not now. ``retry_after``: seconds the other side asked for, if it did."""

    retryable = True


class Refused(DeliveryError):
    """The destination answered: no. Trying again will not change its mind."""

    retryable = False


class Misconfigured(DeliveryError):
    """The destination, as configured, cannot work: the configuration or the partner's side must change."""

    retryable = False


def cause_of(exc: BaseException, kind: type[BaseException] | tuple[type[BaseException], ...]) -> BaseException | None:
    """The first exception of kind in exc's chain of causes (httpx wraps httpcore wraps ssl and socket)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


class Facts(dict[str, Any]):
    """What a message template may name. ``lazy`` values are worked out when first named."""

    def __init__(self, values: Mapping[str, Any], lazy: Mapping[str, Callable[[], Any]] | None = None) -> None:
        super().__init__(values)
        self._lazy = dict(lazy or {})

    def __missing__(self, key: str) -> Any:
        value = self._lazy[key]()  # a KeyError here is a template naming a fact no one gives: a bug
        self[key] = value
        return value

    def value(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self or key in self._lazy else default


@dataclass(frozen=True, slots=True)
class Case:
    """One row of an error table: what it matches, and the error it becomes.

    Matches a subject (an exception, or an answer) that is an instance of ``kind``, and, where given, whose
    ``code`` fact is in ``codes``, whose chain of causes holds a ``cause`` (then the fact ``cause``), and
    for which ``when(facts)`` holds."""

    kind: type | tuple[type, ...]
    error: type[DeliveryError]
    message: str                                   # str.format template over the Facts
    codes: Container[Any] | None = None
    cause: type[BaseException] | tuple[type[BaseException], ...] | None = None
    when: Callable[[Facts], bool] | None = None

    def matches(self, subject: object, facts: Facts) -> bool:
        if not isinstance(subject, self.kind):
            return False
        if self.codes is not None and facts.value("code") not in self.codes:
            return False
        if self.cause is not None:
            found = cause_of(subject, self.cause) if isinstance(subject, BaseException) else None
            if found is None:
                return False
            facts["cause"] = found
        return self.when is None or self.when(facts)


class ErrorTable:
    """Rows tried in order; the last should match anything its callers pass."""

    def __init__(self, *cases: Case) -> None:
        self.cases = cases

    def error(self, subject: object, facts: Facts, scrub: Callable[[str], str] = str) -> DeliveryError:
        """The DeliveryError for subject: the first matching row's class and message (scrubbed of secrets).
        A retryable one carries the fact ``retry_after`` where there is one."""
        facts.setdefault("exc", subject)
        for case in self.cases:
            if case.matches(subject, facts):
                retry_after = facts.value("retry_after") if case.error.retryable else None
                return case.error(scrub(case.message.format_map(facts)), retry_after=retry_after)
        raise LookupError(f"no row of the error table matches {type(subject).__name__}") from None
