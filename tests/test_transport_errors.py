"""Delivery errors: four kinds under DeliveryError, each fixing whether trying again can help, and the error
tables transports map their libraries' exceptions by. (How each real failure maps is tested against real
servers in the other test_transport_*.py files.)"""

from __future__ import annotations

import ssl

import pytest

from wirepub.errors import DestinationError, WirepubError
from wirepub.transports import DeliveryError, Misconfigured, Refused, Throttled, Unreachable
from wirepub.transports.errors import Case, ErrorTable, Facts, cause_of


def test_the_kinds_fix_retryable_and_the_base_still_takes_it():
    assert [k.retryable for k in (Unreachable, Throttled, Refused, Misconfigured)] == [True, True, False, False]
    assert all(issubclass(k, DeliveryError) for k in (Unreachable, Throttled, Refused, Misconfigured))
    assert issubclass(DeliveryError, DestinationError) and issubclass(DeliveryError, WirepubError)
    down = DeliveryError("down", retryable=True)
    assert (str(down), down.retryable, down.retry_after) == ("down", True, None)
    gone = DeliveryError("404 Not Found", retryable=False)
    assert not gone.retryable
    assert DeliveryError.retryable is True  # the base class itself is not changed by an instance
    slow = Throttled("429", retry_after=120)
    assert (slow.retryable, slow.retry_after) == (True, 120)


def test_reworded_keeps_the_kind_and_the_wait():
    slow = Throttled("busy", retry_after=30).reworded("busy (and more)")
    assert type(slow) is Throttled and str(slow) == "busy (and more)" and slow.retry_after == 30
    odd = DeliveryError("x", retryable=False).reworded("y")
    assert type(odd) is DeliveryError and not odd.retryable


class _Answer:
    def __init__(self, status: int) -> None:
        self.status = status


TABLE = ErrorTable(
    Case(_Answer, Throttled, "{what}: busy, {when}", codes={429, 503}),
    Case(_Answer, Refused, "{what}: refused ({code})", codes=range(400, 500)),
    Case(ConnectionError, Misconfigured, "{what}: bad certificate ({cause.strerror})", cause=ssl.SSLError),
    Case(ConnectionError, Unreachable, "{what}: {exc}", when=lambda facts: facts["stage"] == "connect"),
    Case(Exception, Unreachable, "{what}: something else: {exc} with {secret}"),
)


def facts(**values: object) -> Facts:
    return Facts({"what": "dest", "stage": "send", "secret": "s3cr3t", **values}, {"when": lambda: "later"})


def test_the_first_matching_row_decides_class_and_message():
    error = TABLE.error(_Answer(503), facts(code=503, retry_after=7.0))
    assert type(error) is Throttled and str(error) == "dest: busy, later" and error.retry_after == 7.0
    error = TABLE.error(_Answer(404), facts(code=404, retry_after=7.0))
    assert type(error) is Refused and str(error) == "dest: refused (404)"
    assert error.retry_after is None  # only a retryable error waits


def test_causes_and_conditions():
    try:
        try:
            raise ssl.SSLError(1, "CERTIFICATE_VERIFY_FAILED")
        except ssl.SSLError as tls:
            raise ConnectionError("handshake") from tls
    except ConnectionError as exc:
        wrapped = exc
    assert cause_of(wrapped, ssl.SSLError) is wrapped.__cause__
    error = TABLE.error(wrapped, facts())
    assert type(error) is Misconfigured and str(error) == "dest: bad certificate (CERTIFICATE_VERIFY_FAILED)"
    plain = ConnectionError("reset")
    assert str(TABLE.error(plain, facts(stage="connect"))) == "dest: reset"
    assert str(TABLE.error(plain, facts())) == "dest: something else: reset with s3cr3t"


def test_messages_are_scrubbed_of_secrets():
    error = TABLE.error(ValueError("echoing s3cr3t"), facts(), lambda text: text.replace("s3cr3t", "***"))
    assert "s3cr3t" not in str(error) and str(error).count("***") == 2


def test_lazy_facts_are_worked_out_only_when_named():
    asked: list[str] = []
    lazy = Facts({"a": 1}, {"b": lambda: asked.append("b") or 2, "c": lambda: asked.append("c") or 3})
    assert "{a} {b}".format_map(lazy) == "1 2" and asked == ["b"]
    assert lazy.value("c") == 3 and lazy.value("d", "none") == "none"


def test_a_table_without_a_matching_row_says_so():
    with pytest.raises(LookupError, match="KeyError"):
        ErrorTable(Case(OSError, Unreachable, "x")).error(KeyError("k"), facts())
