"""How an https:// destination's requests are signed, with the secret named by its ``secret_env`` option.
docs/https-push.md is the receiver's side of it, with the code that verifies it.

Every request carries ``Content-Digest: sha-256=:<base64 of the body's SHA-256>:`` (RFC 9530; the digest
of an empty body for a DELETE), signed or not. With a secret it also carries ``X-Wirepub-Timestamp`` (unix
seconds) and ``X-Wirepub-Signature``, by the destination's option ``signature``:

``v2`` (the default)
    ``v2=`` + hex HMAC-SHA256, keyed with the secret (UTF-8), of these lines joined by ``\\n``::

        wirepub-v2
        <method>                 POST or DELETE
        <request target>         the path, percent-encoded exactly as sent, and ?query if there is one
        <X-Wirepub-Path>         the document's path ('' if absent)
        <X-Wirepub-Kind>         item, feed or probe ('' if absent: a DELETE)
        <Idempotency-Key>        ('' if absent: a DELETE)
        <X-Wirepub-Timestamp>
        <Content-Digest>         as above

    so a captured request replayed with another method, at another path or for another document, or
    with another body, does not verify.

``v1`` (for receivers not upgraded yet)
    ``sha256=`` + hex HMAC-SHA256 of ``<timestamp>.<body>``, as wirepub signed before v2: the body and the
    time only, so a captured DELETE verifies at any path for as long as the receiver accepts its time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

VERSIONS = ("v2", "v1")
SIGNED_HEADERS = ("X-Wirepub-Path", "X-Wirepub-Kind", "Idempotency-Key", "X-Wirepub-Timestamp", "Content-Digest")


def content_digest(body: bytes) -> str:
    """The Content-Digest header's value (RFC 9530): sha-256=:<base64 of the body's SHA-256>:"""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """A v1 X-Wirepub-Signature: sha256=<hex HMAC-SHA256 of '<timestamp>.<body>' keyed with the secret>."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_text(method: str, target: str, headers: Mapping[str, str]) -> bytes:
    """What a v2 signature is the HMAC of: the version, the method, the request target and SIGNED_HEADERS'
    values ('' for one that is absent), one a line."""
    lines = ["wirepub-v2", method.upper(), target, *(headers.get(name, "") for name in SIGNED_HEADERS)]
    return "\n".join(lines).encode("utf-8")


def sign_v2(secret: str, method: str, target: str, headers: Mapping[str, str]) -> str:
    """A v2 X-Wirepub-Signature: v2=<hex HMAC-SHA256 of signed_text() keyed with the secret>."""
    return "v2=" + hmac.new(secret.encode("utf-8"), signed_text(method, target, headers), hashlib.sha256).hexdigest()


def add_signature(headers: dict[str, str], *, version: str, secret: str, timestamp: int, method: str, target: str,
                  body: bytes) -> dict[str, str]:
    """headers with X-Wirepub-Timestamp and X-Wirepub-Signature of the given version added; Content-Digest
    must be there already (v2 signs it)."""
    headers["X-Wirepub-Timestamp"] = str(timestamp)
    if version == "v1":
        headers["X-Wirepub-Signature"] = sign(secret, headers["X-Wirepub-Timestamp"], body)
    else:
        headers["X-Wirepub-Signature"] = sign_v2(secret, method, target, headers)
    return headers
