"""https:// and http:// push, against a real HTTP(S) server on 127.0.0.1 (wirepub_testkit.servers.http). Nothing here
patches httpx: every request crosses a socket, TLS included."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from wirepub.clock import FixedClock
from wirepub.errors import ConfigError
from wirepub.transports import (
    DeliveryError,
    Destination,
    Misconfigured,
    Put,
    Refused,
    Throttled,
    Unreachable,
    open_transport,
)
from wirepub.transports.http import HTTPTransport, retry_after_seconds
from wirepub.urls import shown
from wirepub_testkit.ports import free_port

SECRET = "whsec-7Hq2-very-secret-value-91"
SECRET_ENV = "WIREPUB_TEST_PARTNER_SECRET"

ITEM = Put("items/story-1/v2.xml", b"<newsItem>caf\xc3\xa9</newsItem>", "application/vnd.iptc.g2.newsitem+xml",
           kind="item", format="newsml-g2", story_id="story-1", version=2, idempotency_key="dlv-41")
FEED = Put("feeds/main.json", b'{"version": "https://jsonfeed.org/version/1.1"}', "application/feed+json",
           kind="feed", format="jsonfeed", idempotency_key="dlv-42")


def http(url: str, clock: FixedClock | None = None, **options: Any) -> HTTPTransport:
    return HTTPTransport(Destination(url, options), base_dir=Path("."), clock=clock)


# httpx honours the proxy variables; a proxy set on the machine running the tests must not carry
# requests meant for 127.0.0.1.
pytestmark = pytest.mark.usefixtures("no_proxies")


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    return SECRET_ENV


def refused(call: Any) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        call()
    return caught.value


# ---- what arrives ---------------------------------------------------------------------------------------

def test_a_delivered_post_carries_the_body_its_type_the_idempotency_key_and_the_story(http_receiver):
    t = http(http_receiver.url + "/ingest")
    t.put(ITEM)
    t.put(FEED)
    t.close()

    item, feed = http_receiver.requests
    assert (item.method, item.path) == ("POST", "/ingest/items/story-1/v2.xml")
    assert item.body == ITEM.data
    assert item.header("Content-Type") == "application/vnd.iptc.g2.newsitem+xml; charset=utf-8"
    assert item.header("Content-Length") == str(len(ITEM.data))
    assert item.header("Idempotency-Key") == "dlv-41"
    assert item.header("X-Wirepub-Story") == "story-1"
    assert item.header("X-Wirepub-Version") == "2"
    assert item.header("X-Wirepub-Format") == "newsml-g2"
    assert item.header("X-Wirepub-Kind") == "item"
    assert item.header("X-Wirepub-Path") == "items/story-1/v2.xml"
    assert (item.header("User-Agent") or "").startswith("wirepub/")
    assert item.header("X-Wirepub-Signature") is None and item.header("X-Wirepub-Timestamp") is None

    assert (feed.method, feed.path) == ("POST", "/ingest/feeds/main.json")
    assert feed.header("Content-Type") == "application/feed+json; charset=utf-8"
    assert feed.header("X-Wirepub-Kind") == "feed"
    assert feed.header("Idempotency-Key") == "dlv-42"
    assert feed.header("X-Wirepub-Story") is None and feed.header("X-Wirepub-Version") is None


def test_path_mode_fixed_posts_to_the_url_itself_and_a_query_is_kept(http_receiver):
    t = http(http_receiver.url + "/hook/?channel=wire", path_mode="fixed")
    t.put(ITEM)
    t.delete(ITEM.path)
    t.close()
    post, delete = http_receiver.requests
    assert (post.method, post.path) == ("POST", "/hook/?channel=wire")
    assert post.header("X-Wirepub-Path") == "items/story-1/v2.xml"
    assert (delete.method, delete.path) == ("DELETE", "/hook/?channel=wire")
    assert delete.header("X-Wirepub-Path") == "items/story-1/v2.xml"


def test_append_mode_percent_encodes_the_path_and_keeps_the_query(http_receiver):
    t = http(http_receiver.url + "/in/?token=abc")
    t.put(Put("items/caf\u00e9 story/v1.xml", b"<x/>", "application/xml", idempotency_key="k"))
    t.close()
    (post,) = http_receiver.requests
    assert post.path == "/in/items/caf%C3%A9%20story/v1.xml?token=abc"
    assert post.header("X-Wirepub-Path") == "items/caf%C3%A9%20story/v1.xml"


def test_extra_headers_go_with_every_request_but_cannot_replace_wirepubs(http_receiver):
    t = http(http_receiver.url, headers={"X-Partner-Channel": "sport"})
    t.put(ITEM)
    t.close()
    assert http_receiver.requests[0].header("X-Partner-Channel") == "sport"
    with pytest.raises(ConfigError, match="Idempotency-Key"):
        http(http_receiver.url, headers={"Idempotency-Key": "mine"})
    with pytest.raises(ConfigError, match="header"):
        http(http_receiver.url, headers={"X-Bad": "line\r\nbreak"})


def test_one_connection_is_kept_alive_across_sequential_puts(http_receiver):
    t = http(http_receiver.url)
    for n in range(20):
        t.put(Put(f"items/s{n}/v1.xml", b"<x/>", "application/xml", idempotency_key=f"k{n}"))
    t.close()
    assert len(http_receiver.requests) == 20
    assert len({r.client_port for r in http_receiver.requests}) == 1


def test_puts_from_several_threads_share_one_transport(http_receiver):
    t = http(http_receiver.url)
    docs = [Put(f"items/s{n}/v1.xml", f"<n>{n}</n>".encode(), "application/xml", idempotency_key=f"k{n}")
            for n in range(200)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(t.put, docs, timeout=30))
    t.close()
    received = {r.path: r.body for r in http_receiver.requests}
    assert received == {f"/{d.path}": d.data for d in docs}
    assert len({r.client_port for r in http_receiver.requests}) <= 8  # connections reused, not one per put


def test_close_closes_the_kept_connection(http_receiver):
    t = http(http_receiver.url)
    t.put(ITEM)
    assert http_receiver.open_connections == 1
    t.close()
    deadline = time.monotonic() + 3
    while http_receiver.open_connections and time.monotonic() < deadline:
        time.sleep(0.02)
    assert http_receiver.open_connections == 0


def test_only_the_start_of_a_long_answer_is_read(http_receiver):
    # A 2xx whose body never ends (declared 50 MB, 100 KB sent): delivered, without waiting for the rest.
    http_receiver.respond_with(200, body=b"x" * 100_000, content_length=50_000_000, times=1)
    t = http(http_receiver.url, read_timeout=1)
    started = time.monotonic()
    t.put(ITEM)
    assert time.monotonic() - started < 0.9
    t.put(FEED)                                                             # on a new connection
    t.close()
    assert len({r.client_port for r in http_receiver.requests}) == 2


def test_a_2xx_whose_body_is_cut_short_is_delivered(http_receiver):
    # The receiver said 200; a body that then stalls (declared 1000 bytes, 10 sent) changes nothing.
    http_receiver.respond_with(200, body=b"accepted: ", content_length=1000, times=1)
    t = http(http_receiver.url, read_timeout=0.3)
    t.put(ITEM)
    t.close()
    assert len(http_receiver.requests) == 1


def test_delete_and_probe(http_receiver):
    t = http(http_receiver.url + "/in")
    t.delete("items/story-1/v2.xml")
    http_receiver.respond_with(404, body="no such item", times=1)
    t.delete("items/gone/v1.xml")                      # missing is not an error
    http_receiver.respond_with(410, times=1)
    t.delete("items/gone/v1.xml")
    t.probe()
    http_receiver.respond_with(500, times=1)
    error = refused(lambda: t.delete("items/story-1/v2.xml"))
    assert error.retryable
    http_receiver.respond_with(403, times=1)
    assert not refused(lambda: t.delete("items/story-1/v2.xml")).retryable
    t.close()

    methods = [(r.method, r.path) for r in http_receiver.requests]
    assert methods[:5] == [("DELETE", "/in/items/story-1/v2.xml"), ("DELETE", "/in/items/gone/v1.xml"),
                           ("DELETE", "/in/items/gone/v1.xml"), ("POST", "/in/.wirepub-probe"),
                           ("DELETE", "/in/.wirepub-probe")]
    probe = http_receiver.requests[3]
    assert probe.header("X-Wirepub-Kind") == "probe"
    assert probe.header("Idempotency-Key")
    assert probe.body


def test_the_probe_fails_when_the_receiver_refuses(http_receiver):
    http_receiver.respond_with(401, body="bad signature")
    t = http(http_receiver.url)
    error = refused(t.probe)
    t.close()
    assert not error.retryable
    assert "401" in str(error) and "bad signature" in str(error)


def test_open_transport_picks_http_for_both_schemes(http_receiver):
    for url in (http_receiver.url, "https://wire.example.net/ingest"):
        t = open_transport(url, base_dir=Path("."))
        assert isinstance(t, HTTPTransport)
        t.close()


def test_location_says_unencrypted_for_http_and_never_shows_the_querys_values():
    t = http("http://127.0.0.1:9/in?token=abc")
    assert t.location == "http://127.0.0.1:9/in?token=*** (unencrypted)"
    t.close()
    t = http("https://wire.example.net/in?token=abc")
    assert t.location == "https://wire.example.net/in?token=***"
    t.close()


# ---- the secret ----------------------------------------------------------------------------------------

def test_an_unset_secret_variable_is_a_config_error_naming_it(monkeypatch):
    monkeypatch.delenv("WIREPUB_TEST_UNSET_SECRET", raising=False)
    with pytest.raises(ConfigError) as caught:
        http("https://wire.example.net/in", secret_env="WIREPUB_TEST_UNSET_SECRET")
    assert "WIREPUB_TEST_UNSET_SECRET" in str(caught.value)
    assert "secret_env" in str(caught.value)
    assert "not set" in str(caught.value)


def test_a_secret_given_instead_of_a_variable_name_is_refused_without_repeating_it():
    with pytest.raises(ConfigError) as caught:
        http("https://wire.example.net/in", secret_env="s3cr3t-value!with-dashes")
    assert "s3cr3t" not in str(caught.value)
    assert "NAME" in str(caught.value)


def test_the_secret_never_appears_in_messages_or_location(http_receiver, secret_env):
    t = http(http_receiver.url + "/in", secret_env=secret_env, read_timeout=0.5)
    assert SECRET not in t.location
    messages = []
    # A receiver echoing what it got (the secret should never be sent, but a careless one might print it).
    for status in (400, 401, 404, 429, 500, 503):
        http_receiver.respond_with(status, body=f"refused, expected {SECRET}", times=1)
        messages.append(str(refused(lambda: t.put(ITEM))))
    http_receiver.respond_with(hang=3, times=1)
    messages.append(str(refused(lambda: t.put(ITEM))))
    http_receiver.respond_with(reset=True, times=1)
    messages.append(str(refused(lambda: t.put(ITEM))))
    t.close()
    assert all(message.startswith(f"{http_receiver.url}/in: ") for message in messages), messages
    for message in messages:
        assert SECRET not in message
    assert "***" in messages[0]                                                   # the echo was scrubbed
    for request in http_receiver.requests:                                        # nor was it ever sent
        assert SECRET.encode() not in request.body
        assert all(SECRET not in str(value) for value in request.headers.values())


def test_a_url_with_credentials_is_refused_without_repeating_them():
    with pytest.raises(ConfigError) as caught:
        http("https://acme:hunter2-pass@wire.example.net/in")
    assert "hunter2" not in str(caught.value)
    assert "secret_env" in str(caught.value)
    assert shown("https://acme:hunter2-pass@wire.example.net:8443/in?k=v") == "https://acme:***@wire.example.net:8443/in?k=***"


# ---- TLS ------------------------------------------------------------------------------------------------

def test_tls_with_the_partners_ca_file_delivers(https_receiver):
    t = http(https_receiver.url + "/in", ca_file=str(https_receiver.ca_file))
    assert t.location == f"{https_receiver.url}/in"
    t.put(ITEM)
    t.put(FEED)
    t.close()
    assert [r.path for r in https_receiver.requests] == ["/in/items/story-1/v2.xml", "/in/feeds/main.json"]
    assert https_receiver.requests[0].body == ITEM.data


def test_a_relative_ca_file_is_found_below_the_config_folder(https_receiver):
    t = HTTPTransport(Destination(https_receiver.url, {"ca_file": https_receiver.ca_file.name}),
                      base_dir=https_receiver.ca_file.parent)
    t.put(ITEM)
    t.close()
    assert len(https_receiver.requests) == 1


def test_tls_without_the_ca_file_is_refused_as_untrusted_and_not_retried(https_receiver):
    t = http(https_receiver.url + "/in")
    error = refused(lambda: t.put(ITEM))
    t.close()
    assert not error.retryable
    assert isinstance(error, Misconfigured)
    assert "not trusted" in str(error)
    assert "ca_file" in str(error)
    assert str(error).startswith(f"{https_receiver.url}/in: ")
    assert https_receiver.requests == []                                        # nothing was sent


def test_a_missing_ca_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        http("https://wire.example.net/in", ca_file=str(tmp_path / "nope.pem"))
    with pytest.raises(ConfigError, match="https://"):
        http("http://127.0.0.1:9/in", ca_file=str(tmp_path / "nope.pem"))


def test_plain_http_to_a_tls_receiver_fails_retryably(https_receiver):
    t = http(https_receiver.url.replace("https://", "http://"), read_timeout=2)
    error = refused(lambda: t.put(ITEM))
    t.close()
    assert error.retryable


# ---- what the receiver's answers mean ---------------------------------------------------------------------

def test_a_500_is_retryable(http_receiver):
    http_receiver.respond_with(500, body="database down")
    t = http(http_receiver.url)
    error = refused(lambda: t.put(ITEM))
    t.close()
    assert error.retryable
    assert isinstance(error, Throttled)
    assert error.retry_after is None
    assert "500" in str(error) and "database down" in str(error)


def test_a_429_with_retry_after_seconds_is_retryable_after_that_long(http_receiver):
    http_receiver.respond_with(429, headers={"Retry-After": "7"})
    t = http(http_receiver.url)
    error = refused(lambda: t.put(ITEM))
    t.close()
    assert error.retryable
    assert isinstance(error, Throttled)
    assert error.retry_after == 7
    assert "429" in str(error)


def test_a_503_with_retry_after_as_an_http_date(http_receiver):
    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    http_receiver.respond_with(503, headers={"Retry-After": format_datetime(now + timedelta(seconds=90),
                                                                           usegmt=True)})
    t = http(http_receiver.url, clock=FixedClock(now))
    error = refused(lambda: t.put(ITEM))
    t.close()
    assert error.retryable
    assert error.retry_after == 90


def test_retry_after_parsing():
    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("0", now) == 0
    assert retry_after_seconds(" 120 ", now) == 120
    assert retry_after_seconds("Sun, 01 Mar 2026 12:00:30 GMT", now) == 30
    assert retry_after_seconds("Sun, 01 Mar 2026 11:00:00 GMT", now) == 0        # in the past: now
    assert retry_after_seconds("99999999", now) == 86_400                          # capped at a day
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds("-5", now) is None
    assert retry_after_seconds(None, now) is None


def test_a_408_is_retryable(http_receiver):
    http_receiver.respond_with(408)
    t = http(http_receiver.url)
    assert refused(lambda: t.put(ITEM)).retryable
    t.close()


def test_a_404_is_not_retryable_and_says_why(http_receiver):
    http_receiver.respond_with(404, body="no route /ingest/items\n" + "x" * 1000)
    t = http(http_receiver.url + "/ingest")
    error = refused(lambda: t.put(ITEM))
    t.close()
    assert not error.retryable
    assert isinstance(error, Refused)
    message = str(error)
    assert message.startswith(f"{http_receiver.url}/ingest: POST items/story-1/v2.xml")
    assert "404 Not Found" in message
    assert "no route /ingest/items" in message
    assert "x" * 170 in message and "x" * 180 not in message                   # 200 characters of the body
    assert "\n" not in message


def test_a_redirect_is_not_followed_nor_retried(http_receiver):
    http_receiver.respond_with(308, headers={"Location": "https://user:pw@new.example.net/in"})
    t = http(http_receiver.url)
    error = refused(lambda: t.put(ITEM))
    t.close()
    assert not error.retryable
    assert isinstance(error, Misconfigured)
    assert "https://user:***@new.example.net/in" in str(error) and "pw" not in str(error)
    assert len(http_receiver.requests) == 1


def test_a_receiver_slower_than_read_timeout_is_a_retryable_timeout(http_receiver):
    # The hang (3 s) outlasts read_timeout (0.5 s): only the timeout can have ended the put.
    http_receiver.respond_with(hang=3)
    t = http(http_receiver.url, read_timeout=0.5)
    error = refused(lambda: t.put(ITEM))
    t.close()
    assert error.retryable
    assert isinstance(error, Unreachable)
    assert "read_timeout" in str(error)


def test_a_connection_reset_is_retryable_and_the_next_put_gets_through(http_receiver):
    http_receiver.respond_with(reset=True, times=1)
    t = http(http_receiver.url)
    error = refused(lambda: t.put(ITEM))
    assert error.retryable
    t.put(ITEM)                                                               # a fresh connection
    t.close()
    assert len(http_receiver.requests) == 2


def test_a_refused_connection_is_retryable():
    port = free_port()
    t = http(f"http://127.0.0.1:{port}/in", connect_timeout=2)
    started = time.monotonic()
    error = refused(lambda: t.put(ITEM))
    t.close()
    assert error.retryable
    assert isinstance(error, Unreachable)
    assert "refused" in str(error)
    assert str(error).startswith(f"http://127.0.0.1:{port}/in: ")
    assert time.monotonic() - started < 2


def test_a_document_path_that_is_not_plainly_relative_is_refused_unsent(http_receiver):
    t = http(http_receiver.url + "/in")
    for path in ("../etc/passwd", "/abs.xml", "items//v1.xml", "items/./v1.xml", "", "a\nb"):
        error = refused(lambda p=path: t.put(Put(p, b"x", "text/plain")))
        assert not error.retryable
    t.close()
    assert http_receiver.requests == []


@pytest.mark.parametrize("options, needle", [
    ({"path_mode": "prefix"}, "path_mode"),
    ({"read_timeout": 0}, "read_timeout"),
    ({"read_timeout": 1e300}, "read_timeout must be a number of seconds above 0 and at most 3600"),
    ({"connect_timeout": True}, "connect_timeout"),
    ({"headers": {"X-Trailing": "value\n"}}, "headers.X-Trailing must be ASCII text without line breaks"),
    ({"headers": {"X-Name\n": "value"}}, "headers"),
    ({"connect_timeout": "5"}, "connect_timeout"),
    ({"headers": ["X-A: b"]}, "headers"),
    ({"secret": "x"}, "unknown option"),
    ({"signature": "v3"}, "option signature must be one of 'v2', 'v1', not 'v3'"),
])
def test_bad_options_are_config_errors(options, needle):
    with pytest.raises(ConfigError, match=needle):
        http("https://wire.example.net/in", **options)
