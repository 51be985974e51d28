"""The https:// push signature (transports.signing; docs/https-push.md), checked with the receiver code the
docs give: it is extracted from the doc and run here, against requests that crossed a socket to the real
HTTP receiver, and against those same requests replayed by hand at another path."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from wirepub.clock import FixedClock
from wirepub.errors import ConfigError
from wirepub.transports import Destination, Put
from wirepub.transports.http import HTTPTransport
from wirepub.transports.signing import sign, sign_v2
from wirepub_testkit.servers.http import Receiver, Recorded

DOCS = Path(__file__).resolve().parents[1] / "docs" / "https-push.md"
SECRET = "whsec-7Hq2-very-secret-value-91"
SECRET_ENV = "WIREPUB_TEST_PARTNER_SECRET"
ITEM = Put("items/story-1/v2.xml", b"<newsItem>caf\xc3\xa9</newsItem>", "application/vnd.iptc.g2.newsitem+xml",
           kind="item", format="newsml-g2", story_id="story-1", version=2, idempotency_key="dlv-41")

pytestmark = pytest.mark.usefixtures("no_proxies")


@pytest.fixture
def secret_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    return SECRET_ENV


def http(url: str, clock: FixedClock | None = None, **options: Any) -> HTTPTransport:
    return HTTPTransport(Destination(url, options), base_dir=Path("."), clock=clock)


def documented_block(language: str) -> str:
    """The first ```<language> block of docs/https-push.md: tests run what receivers are told to run."""
    found = re.search(rf"^```{language}\n(.*?)^```", DOCS.read_text(encoding="utf-8"), re.S | re.M)
    assert found, f"no ```{language} block in {DOCS}"
    return found.group(1)


def documented_verify() -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(documented_block("python"), str(DOCS), "exec"), namespace)  # noqa: S102 -- our own docs
    return namespace["verify"]


def verified(request: Recorded, **kwargs: Any) -> bool:
    """What the documented receiver code says of a request as the receiver got it."""
    return bool(documented_verify()(SECRET.encode(), request.method, request.path, request.headers, request.body,
                                    **kwargs))


def replay(receiver: Receiver, captured: Recorded, target: str, **changed: str) -> Recorded:
    """Send a captured request again, byte for byte (headers and body), at another request target, the
    way someone who saw it would; what the receiver then got."""
    headers = {k: v for k, v in captured.headers.items() if k.lower() not in ("host", "content-length")}
    headers.update(changed)
    with httpx.Client(trust_env=False) as client:
        client.request(captured.method, receiver.url + target, headers=headers, content=captured.body)
    return receiver.requests[-1]


# ---- what is sent ---------------------------------------------------------------------------------------

def test_a_v2_signature_verifies_with_the_documented_receiver_code(http_receiver, secret_env):
    t = http(http_receiver.url + "/in?channel=wire", secret_env=secret_env)
    t.put(ITEM)
    t.delete(ITEM.path)
    t.close()
    post, delete = http_receiver.requests
    timestamp = int(post.header("X-Wirepub-Timestamp") or "0")
    assert abs(time.time() - timestamp) < 60
    assert re.fullmatch(r"v2=[0-9a-f]{64}", post.header("X-Wirepub-Signature") or "")
    assert post.header("Content-Digest") == "sha-256=:" + base64.b64encode(hashlib.sha256(ITEM.data).digest()
                                                                             ).decode() + ":"
    assert post.path == "/in/items/story-1/v2.xml?channel=wire"

    assert verified(post) and verified(delete)
    verify = documented_verify()
    assert not verify(b"another secret", post.method, post.path, post.headers, post.body)
    assert not verified(post, now=timestamp + 301)                                   # replayed too late
    assert verified(post, now=timestamp + 299)
    assert not verify(SECRET.encode(), post.method, post.path, {}, post.body)      # unsigned
    assert not verify(SECRET.encode(), post.method, post.path, post.headers, post.body + b" ")  # body changed


def test_the_signature_covers_the_path_as_sent_percent_encoded(http_receiver, secret_env):
    t = http(http_receiver.url + "/in", secret_env=secret_env)
    t.put(Put("items/caf\u00e9 story/v1.xml", b"<x/>", "application/xml", kind="item", idempotency_key="k"))
    t.close()
    (post,) = http_receiver.requests
    assert post.path == "/in/items/caf%C3%A9%20story/v1.xml" and verified(post)
    decoded = Recorded(post.method, "/in/items/caf\u00e9 story/v1.xml", post.headers, post.body, post.client_port)
    assert not verified(decoded)            # a framework's decoded path is not what was signed


def test_a_request_replayed_at_another_path_is_refused_by_the_documented_code(http_receiver, secret_env):
    t = http(http_receiver.url + "/in", secret_env=secret_env)
    t.delete("items/story-1/v1.xml")
    t.put(ITEM)
    t.close()
    delete, post = http_receiver.requests

    deleted_elsewhere = replay(http_receiver, delete, "/in/items/story-2/v1.xml")
    posted_elsewhere = replay(http_receiver, post, "/other-endpoint/items/story-1/v2.xml")
    as_a_delete = replay(http_receiver, Recorded("DELETE", post.path, post.headers, b"", 0), post.path)
    again = replay(http_receiver, delete, delete.path)
    assert deleted_elsewhere.path == "/in/items/story-2/v1.xml" and deleted_elsewhere.method == "DELETE"
    assert deleted_elsewhere.header("X-Wirepub-Signature") == delete.header("X-Wirepub-Signature")
    assert verified(delete) and verified(post)
    assert not verified(deleted_elsewhere)
    assert not verified(posted_elsewhere)
    assert not verified(as_a_delete)
    assert verified(again)                  # the same request to the same place: harmless, and allowed


def test_with_path_mode_fixed_another_document_path_is_refused(http_receiver, secret_env):
    t = http(http_receiver.url + "/hook", secret_env=secret_env, path_mode="fixed")
    t.delete("items/story-1/v1.xml")
    t.close()
    (delete,) = http_receiver.requests
    other = replay(http_receiver, delete, delete.path, **{"X-Wirepub-Path": "items/story-2/v1.xml"})
    assert verified(delete) and not verified(other)


def test_a_swapped_body_is_refused_even_with_its_own_digest(http_receiver, secret_env):
    t = http(http_receiver.url + "/in", secret_env=secret_env)
    t.put(ITEM)
    t.close()
    (post,) = http_receiver.requests
    forged = b"<newsItem>forged</newsItem>"
    digest = "sha-256=:" + base64.b64encode(hashlib.sha256(forged).digest()).decode() + ":"
    swapped = replay(http_receiver, Recorded(post.method, post.path, post.headers, forged, 0), post.path)
    redigested = replay(http_receiver, Recorded(post.method, post.path, post.headers, forged, 0), post.path,
                        **{"Content-Digest": digest})
    assert not verified(swapped) and not verified(redigested)


# ---- v1, for a documented transition ------------------------------------------------------------------

def test_v1_is_what_wirepub_signed_before_and_verifies_only_when_accepted(http_receiver, secret_env):
    t = http(http_receiver.url + "/in", secret_env=secret_env, signature="v1")
    t.delete("items/story-1/v1.xml")
    t.close()
    (delete,) = http_receiver.requests
    timestamp = delete.header("X-Wirepub-Timestamp") or ""
    assert delete.header("X-Wirepub-Signature") == sign(SECRET, timestamp, b"")
    assert verified(delete, accept_v1=True) and not verified(delete)
    # Why v2: a v1 DELETE replayed at another path verifies.
    elsewhere = replay(http_receiver, delete, "/in/items/story-2/v1.xml")
    assert verified(elsewhere, accept_v1=True)


def test_the_signature_option_needs_a_secret():
    with pytest.raises(ConfigError, match="option signature .* set secret_env too"):
        http("https://wire.example.net/in", signature="v1")


def test_the_signature_carries_the_clocks_time_so_old_requests_are_refused(http_receiver, secret_env):
    long_ago = datetime.now(UTC) - timedelta(minutes=10)
    t = http(http_receiver.url, clock=FixedClock(long_ago), secret_env=secret_env)
    t.put(ITEM)
    t.close()
    (post,) = http_receiver.requests
    assert post.header("X-Wirepub-Timestamp") == str(int(long_ago.timestamp()))
    assert not verified(post)
    assert verified(post, now=long_ago.timestamp() + 1)


# ---- the scheme as the docs state it ------------------------------------------------------------------

def test_the_documented_v2_signature_is_what_hmac_gives():
    # Independent of the transport: the eight lines as the docs state them, computed by hand.
    body, timestamp = b'{"a": 1}', "1767225600"
    digest = "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
    headers = {"X-Wirepub-Path": "feeds/main.json", "X-Wirepub-Kind": "feed", "Idempotency-Key": "dlv-42",
               "X-Wirepub-Timestamp": timestamp, "Content-Digest": digest}
    text = f"wirepub-v2\nPOST\n/in/feeds/main.json?c=1\nfeeds/main.json\nfeed\ndlv-42\n{timestamp}\n{digest}"
    expected = "v2=" + hmac.new(SECRET.encode(), text.encode(), hashlib.sha256).hexdigest()
    assert sign_v2(SECRET, "POST", "/in/feeds/main.json?c=1", headers) == expected
    assert documented_verify()(SECRET.encode(), "POST", "/in/feeds/main.json?c=1",
                               {**headers, "X-Wirepub-Signature": expected}, body, now=1767225600)
    v1 = hmac.new(SECRET.encode(), b"1767225600.{\"a\": 1}", hashlib.sha256).hexdigest()
    assert sign(SECRET, timestamp, body) == "sha256=" + v1


@pytest.mark.skipif(shutil.which("openssl") is None or shutil.which("bash") is None, reason="needs openssl, bash")
def test_the_documented_openssl_line_gives_the_signature(http_receiver, secret_env, tmp_path):
    t = http(http_receiver.url + "/in", secret_env=secret_env)
    t.put(ITEM)
    t.close()
    (post,) = http_receiver.requests
    (tmp_path / "body.bin").write_bytes(post.body)
    env = {"PATH": "/usr/bin:/bin", "WIREPUB_SECRET": SECRET, "METHOD": post.method, "TARGET": post.path,
           **{name: post.header(header) or "" for name, header in (
               ("DOC_PATH", "X-Wirepub-Path"), ("KIND", "X-Wirepub-Kind"), ("KEY", "Idempotency-Key"),
               ("TIMESTAMP", "X-Wirepub-Timestamp"))}}
    out = subprocess.run(["bash", "-c", documented_block("sh")], cwd=tmp_path, capture_output=True, text=True,
                         timeout=10, env=env)
    assert out.returncode == 0, out.stderr
    assert "v2=" + out.stdout.strip() == post.header("X-Wirepub-Signature")
