"""https:// (and http://) destinations: each document is POSTed to a partner's HTTP endpoint (httpx).

    https://wire.example.net/ingest     path_mode "append": POST https://wire.example.net/ingest/<path>
    http://127.0.0.1:8080/ingest        the same, unencrypted: for loopback and development

The URL names no credentials (``https://user:secret@host`` is refused: the documents are signed instead,
with the secret named by the option ``secret_env``) and no fragment. A query is kept (``?api_key=...``) and
goes with every request, but its values never appear in messages, in ``location`` or in httpx's log lines:
they show the URL as ``wirepub.urls.shown`` does (``?api_key=***``). The options
(timeouts, ca_file, headers, path_mode) are described, and checked, by schemas/transports/http.schema.json.

Every request carries (where the document has them):

``Content-Type``          the document's media type; ``; charset=utf-8`` added for XML, JSON and text
``Idempotency-Key``       stable per delivery: the same on every attempt; a receiver that has seen it
                          answers 2xx again without acting twice
``X-Wirepub-Path``        the document's relative path, e.g. ``items/story-1/v2.xml`` (percent-encoded
                          as in a URL path where it holds anything but ASCII letters, digits and ``-._~/``)
``X-Wirepub-Kind``        ``item``, ``feed`` or ``probe``
``X-Wirepub-Format``      ``newsml-g2``, ``rss`` or ``jsonfeed``
``X-Wirepub-Story``       the story id (items)
``X-Wirepub-Version``     the story version (items)
``Content-Digest``        ``sha-256=:<base64 of the body's SHA-256>:`` (RFC 9530; of an empty body for DELETE)
``X-Wirepub-Timestamp``   with a secret: the unix time of signing, in whole seconds
``X-Wirepub-Signature``   with a secret: ``v2=`` + hex HMAC-SHA256 over the method, the request target, the
                          document's path and kind, the Idempotency-Key, the timestamp and the digest; or,
                          with option ``signature = "v1"``, ``sha256=`` + hex HMAC-SHA256 of
                          ``<timestamp>.<body>`` (transports.signing says both exactly)

docs/https-push.md tells receivers how to verify the signature and what each answer means to wirepub:
2xx is delivered (DELETE: 404 and 410 too); 408, 429 and 5xx are tried again later, not before the
``Retry-After`` they carry (seconds or an HTTP date; at most a day is honoured); any other answer, a
redirect included, is not retried and the message carries the status, its reason phrase and the start
of the body. Timeouts, refused or dropped connections and failed TLS handshakes are retried; a certificate
that does not verify is not (it needs the partner or ``ca_file`` fixed).

One httpx.Client per destination, reused: HTTP/1.1 with keep-alive, up to 32 connections, safe for put()
from the publisher's delivery threads at once. No cookies are kept and no redirects followed. Proxies from
the standard environment variables (HTTPS_PROXY, NO_PROXY, ...) are used.
"""

from __future__ import annotations

import email.utils
import http.cookiejar
import logging
import re
import secrets
import socket
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn
from urllib.parse import SplitResult, quote, unquote_plus, urljoin, urlsplit, urlunsplit

import httpx

from wirepub import __version__
from wirepub.clock import Clock, SystemClock
from wirepub.errors import ConfigError
from wirepub.transports import Destination, Put, ca_context, content_type, secret_from_env
from wirepub.transports.errors import Case, ErrorTable, Facts, Misconfigured, Refused, Throttled, Unreachable, cause_of
from wirepub.transports.options import check_options
from wirepub.transports.signing import add_signature, content_digest
from wirepub.urls import shown
from wirepub.vocabulary import PutKind

MAX_CONNECTIONS = 32
# Below the shortest common server idle timeout (Apache's 5 s), so a kept connection is not closed under us.
KEEPALIVE_EXPIRY = 4.0
MAX_RETRY_AFTER = 86_400.0          # a day: a Retry-After beyond that is a receiver's mistake
BODY_IN_MESSAGE = 200               # characters of an error answer's body quoted in the message
READ_LIMIT = 64 * 1024              # bytes of an answer read; the rest is dropped with its connection
PROBE_PATH = ".wirepub-probe"
MIN_HIDDEN = 8                      # a query value this long may be a key: never repeated in a message

# Headers wirepub sets itself; the headers option cannot replace them.
RESERVED_HEADERS = frozenset({
    "host", "content-type", "content-length", "transfer-encoding", "connection", "idempotency-key",
    "x-wirepub-path", "x-wirepub-kind", "x-wirepub-format", "x-wirepub-story", "x-wirepub-version",
    "x-wirepub-timestamp", "x-wirepub-signature", "content-digest",
})

_HEADER_VALUE = re.compile(r"[\x20-\x7e\t]*\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from now: given as seconds or as an HTTP date (RFC 9110); None if unusable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return min(float(int(text)), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(0.0, (when - now).total_seconds()), MAX_RETRY_AFTER)


def _header_value(value: str) -> str:
    # Headers are ASCII. Ids and format names are ASCII by contract; anything else is percent-encoded
    # rather than failing a delivery over a label.
    return value if _HEADER_VALUE.match(value) else quote(value, safe="")


def _hidden(query: str, secret: str | None) -> tuple[str, ...]:
    """What a message must never repeat, longest first: the signing secret, the URL's query as written, and
    each of its values long enough to be a key (as written and decoded), should an error's text carry them."""
    found = {v for v in (secret, query) if v}
    for piece in query.split("&"):
        value = piece.split("=", 1)[-1]
        found.update(v for v in (value, unquote_plus(value)) if len(v) >= MIN_HIDDEN)
    return tuple(sorted(found, key=len, reverse=True))


class _ShownURLs(logging.Filter):
    """httpx logs every request's URL ("HTTP Request: POST https://...?api_key=..." at INFO), httpcore the
    answers' headers (a Location) at DEBUG: their lines show a query's values as ***, as wirepub's own do."""

    def filter(self, record: logging.LogRecord) -> bool:
        said = record.getMessage()
        hidden = _QUERY_VALUE.sub(r"\1***", said)
        if hidden != said:
            record.msg, record.args = hidden, ()
        return True


_QUERY_VALUE = re.compile(r"""([?&][^=&?#\s'"]*=)[^&#\s'"]+""")
for _name in ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy", "httpcore.socks"):
    if not any(isinstance(f, _ShownURLs) for f in logging.getLogger(_name).filters):
        logging.getLogger(_name).addFilter(_ShownURLs())


class _Answer:
    __slots__ = ("status", "reason", "body", "retry_after", "location")

    def __init__(self, status: int, reason: str, body: bytes, retry_after: str | None, location: str | None):
        self.status = status
        self.reason = reason
        self.body = body
        self.retry_after = retry_after
        self.location = location


def _cert_problem(exc: BaseException) -> str:
    cert = cause_of(exc, ssl.SSLCertVerificationError)
    return str(getattr(cert, "verify_message", None) or getattr(cert, "reason", None) or cert)


# What an exception on the way means: the first row that matches (cause: somewhere in httpx's chain).
FAILURES = ErrorTable(
    Case(httpx.ConnectTimeout, Unreachable, "{what}: could not connect to {host} within connect_timeout "
         "({connect_timeout:g} s); will try again"),
    Case(httpx.ReadTimeout, Unreachable, "{what}: no answer within read_timeout ({read_timeout:g} s); will try "
         "again (the receiver may still have acted: the Idempotency-Key lets it drop the repeat)"),
    Case(httpx.WriteTimeout, Unreachable, "{what}: could not send the document within read_timeout "
         "({read_timeout:g} s); will try again"),
    Case(httpx.PoolTimeout, Unreachable, "{what}: all {max_connections} connections to {host} stayed busy; will "
         "try again"),
    Case(httpx.ConnectError, Misconfigured, "{what}: the server's TLS certificate was not trusted ({cert_problem}) "
         "by {trusted}; if the partner uses a private CA, point option ca_file at its CA certificate (PEM), "
         "otherwise ask the partner to fix its certificate; not retried", cause=ssl.SSLCertVerificationError),
    Case(httpx.ConnectError, Unreachable, "{what}: the TLS handshake with {host} failed ({cause}); will try again",
         cause=ssl.SSLError),
    Case(httpx.ConnectError, Unreachable, "{what}: connection refused by {host} (is the receiver running?); will "
         "try again", cause=ConnectionRefusedError),
    Case(httpx.ConnectError, Unreachable, "{what}: cannot resolve the host name of {host} ({exc}); will try again",
         cause=socket.gaierror),
    Case(httpx.ConnectError, Unreachable, "{what}: cannot connect to {host} ({said}); will try again"),
    # ReadError, WriteError, RemoteProtocolError: reset, closed without an answer, garbled answer.
    Case(httpx.TransportError, Unreachable, "{what}: the connection to {host} failed before a complete answer "
         "({said}); will try again"),
    Case(httpx.HTTPError, Unreachable, "{what}: {kind}: {exc}"),
)

# What an answer other than 2xx means, by its status (the fact "code").
ANSWERS = ErrorTable(
    Case(_Answer, Throttled, "{what}; will try again {when}", codes=frozenset({408, 429, *range(500, 600)})),
    Case(_Answer, Misconfigured, "{what}; wirepub does not follow redirects{moved}: set the destination's URL to "
         "the receiver's address; not retried", codes=range(300, 400)),
    Case(_Answer, Refused, "{what}; the receiver did not accept wirepub's credentials: check the secret (option "
         "secret_env) and the headers option; not retried", codes={401}),
    Case(_Answer, Refused, "{what}; the receiver refused: check the secret (option secret_env), the headers "
         "option and the partner's allow-list; not retried", codes={403}),
    Case(_Answer, Refused, "{what}; no such endpoint: check the destination's URL and path_mode; not retried",
         codes={404}),
    Case(_Answer, Refused, "{what}; the endpoint does not take this method: check the destination's URL; not "
         "retried", codes={405}),
    Case(_Answer, Refused, "{what}; the document is larger than the receiver accepts; not retried", codes={413}),
    Case(_Answer, Refused, "{what}; the receiver refused the request; not retried"),
)


class HTTPTransport:
    def __init__(self, destination: Destination, *, base_dir: Path, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        parts = self._url_parts(destination.url)
        self.url = self.shown
        self._base_path = parts.path.rstrip("/")     # append: <base>/<path>
        self._fixed_path = parts.path or "/"           # fixed: the URL's own path, as written
        self._query = parts.query
        self._netloc = parts.netloc
        self.location = self.shown + (" (unencrypted)" if self.scheme == "http" else "")

        options = check_options(self.shown, self.scheme, destination.options, "http")
        self.connect_timeout = float(options["connect_timeout"])
        self.read_timeout = float(options["read_timeout"])
        self.path_mode: str = options["path_mode"]
        self.extra_headers = self._headers(options.get("headers", {}))
        self.ca_file: Path | None = None
        ca_file = options.get("ca_file")
        if ca_file is not None and self.scheme != "https":
            raise ConfigError(f"{self.shown}: option ca_file is for https:// destinations (this one is plain http)")
        verify: ssl.SSLContext | bool = True
        if self.scheme == "https":
            verify, self.ca_file = ca_context(self.shown, ca_file, base_dir)
        self._secret = secret_from_env(self.shown, options, "secret_env")
        self._hidden = _hidden(parts.query, self._secret)
        self.signature: str = options["signature"]
        if self._secret is None and "signature" in (destination.options or {}):
            raise ConfigError(f"{self.shown}: option signature says how requests are signed with the secret named "
                              "by option secret_env; set secret_env too, or remove signature")
        self._client = self._new_client(verify)

    def _url_parts(self, url: str) -> SplitResult:
        """The URL's parts, once it is known to be usable; sets scheme and shown (the URL without secrets)."""
        parts = urlsplit(url)
        self.scheme = parts.scheme.lower()
        if parts.username is not None or parts.password is not None or "@" in parts.netloc:
            # Not repeated: what is before the @ is probably a password.
            raise ConfigError(f"destination {self.scheme}://{parts.hostname or '?'}: an {self.scheme}:// "
                              "destination URL must not carry a user or password; wirepub signs each request "
                              "with the secret named in the destination's secret_env option instead")
        self.shown = shown(url)
        host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname or ""
        if self.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"destination {self.shown!r}: an HTTP destination is https://host[:port]/path "
                              "(or http:// for loopback and development)")
        if parts.fragment or url.rstrip().endswith("#"):
            raise ConfigError(f"destination {self.shown!r}: {self.scheme}:// destination URLs take no fragment")
        try:
            self._hostport = f"{host}:{parts.port}" if parts.port else host
        except ValueError:
            raise ConfigError(f"destination {self.shown!r}: the port is not a number from 1 to 65535") from None
        if _CONTROL.search(url):
            raise ConfigError(f"destination {self.shown!r}: the URL must not contain control characters")
        return parts

    def _new_client(self, verify: ssl.SSLContext | bool) -> httpx.Client:
        return httpx.Client(
            verify=verify,
            http1=True,
            http2=False,
            follow_redirects=False,
            trust_env=True,
            # Stateless requests: a receiver's Set-Cookie is not sent back.
            cookies=http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[])),
            timeout=httpx.Timeout(connect=self.connect_timeout, read=self.read_timeout, write=self.read_timeout,
                                  pool=self.connect_timeout + self.read_timeout),
            limits=httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS,
                                keepalive_expiry=KEEPALIVE_EXPIRY),
            headers={"User-Agent": f"wirepub/{__version__}"},
        )

    def _headers(self, value: Mapping[str, str]) -> dict[str, str]:
        """The headers option (names and values already checked by the schema), without wirepub's own."""
        for name in value:
            if name.lower() in RESERVED_HEADERS:
                raise ConfigError(f"{self.shown}: option headers: wirepub sets {name} itself; remove it")
        return dict(value)

    # ---- requests ---------------------------------------------------------------------------------------

    def target(self, path: str) -> tuple[str, str]:
        """(request URL, percent-encoded path) for a document; refuses anything not plainly relative."""
        segments = path.split("/")
        if not path or any(s in ("", ".", "..") for s in segments) or _CONTROL.search(path):
            raise Refused(f"{self.shown}: document path {path!r} is not a plain relative path "
                          "(no leading '/', empty, '.' or '..' segments, or control characters)")
        encoded = quote(path, safe="/")
        request_path = self._base_path + "/" + encoded if self.path_mode == "append" else self._fixed_path
        url = urlunsplit((self.scheme, self._netloc, request_path, self._query, ""))
        return url, encoded

    def _signed(self, method: str, url: str, headers: dict[str, str], body: bytes) -> dict[str, str]:
        """headers with Content-Digest and, with a secret, the timestamp and the signature (transports.signing)
        over the request target exactly as httpx sends it."""
        headers["Content-Digest"] = content_digest(body)
        if self._secret is None:
            return headers
        return add_signature(headers, version=self.signature, secret=self._secret,
                             timestamp=int(self.clock.now().timestamp()), method=method,
                             target=httpx.URL(url).raw_path.decode("ascii"), body=body)

    def put(self, doc: Put) -> None:
        url, encoded = self.target(doc.path)
        headers = dict(self.extra_headers)
        headers["Content-Type"] = _header_value(content_type(doc.media_type))
        if doc.idempotency_key:
            headers["Idempotency-Key"] = _header_value(doc.idempotency_key)
        headers["X-Wirepub-Path"] = encoded
        headers["X-Wirepub-Kind"] = doc.kind
        if doc.format:
            headers["X-Wirepub-Format"] = _header_value(doc.format)
        if doc.story_id:
            headers["X-Wirepub-Story"] = _header_value(doc.story_id)
        if doc.version is not None:
            headers["X-Wirepub-Version"] = str(doc.version)
        answer = self._send("POST", url, doc.path, self._signed("POST", url, headers, doc.data), doc.data)
        if not 200 <= answer.status < 300:
            self._refused("POST", doc.path, answer)

    def delete(self, path: str) -> None:
        url, encoded = self.target(path)
        headers = dict(self.extra_headers)
        headers["X-Wirepub-Path"] = encoded
        answer = self._send("DELETE", url, path, self._signed("DELETE", url, headers, b""), b"")
        if not (200 <= answer.status < 300 or answer.status in (404, 410)):
            self._refused("DELETE", path, answer)

    def probe(self) -> None:
        probe = Put(PROBE_PATH, b"wirepub probe\n", "text/plain", kind=PutKind.PROBE,
                    idempotency_key=f"wirepub-probe-{secrets.token_hex(8)}")
        self.put(probe)
        self.delete(probe.path)

    def close(self) -> None:
        self._client.close()

    def _send(self, method: str, url: str, path: str, headers: dict[str, str], body: bytes) -> _Answer:
        try:
            with self._client.stream(method, url, headers=headers, content=body) as response:
                data = bytearray()
                try:
                    for chunk in response.iter_bytes():
                        data += chunk
                        if len(data) >= READ_LIMIT:
                            break  # the connection is then closed, not reused
                except httpx.HTTPError:
                    # The answer's status is in; a body cut short (or too slow) changes nothing about it.
                    pass
                return _Answer(response.status_code, response.reason_phrase, bytes(data[:READ_LIMIT]),
                               response.headers.get("Retry-After"), response.headers.get("Location"))
        except httpx.HTTPError as exc:
            self._failed(method, path, exc)

    # ---- failures ---------------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        for secret in self._hidden:
            text = text.replace(secret, "***")
        return text

    def _failed(self, method: str, path: str, exc: httpx.HTTPError) -> NoReturn:
        facts = Facts({"what": f"{self.shown}: {method} {path}", "host": self._host(), "kind": type(exc).__name__,
                       "connect_timeout": self.connect_timeout, "read_timeout": self.read_timeout,
                       "max_connections": MAX_CONNECTIONS, "said": str(exc) or type(exc).__name__},
                      {"cert_problem": lambda: _cert_problem(exc), "trusted": self._trusted})
        raise FAILURES.error(exc, facts, self._scrub) from None

    def _refused(self, method: str, path: str, answer: _Answer) -> NoReturn:
        said = f"HTTP {answer.status} {answer.reason}".rstrip()
        text = " ".join(answer.body.decode("utf-8", errors="replace").split())[:BODY_IN_MESSAGE]
        if text:
            said += f": {text}"
        wait = retry_after_seconds(answer.retry_after, self.clock.now())
        facts = Facts({"what": f"{self.shown}: {method} {path}: the receiver answered {said}", "code": answer.status,
                       "retry_after": wait,
                       "when": f"not before {wait:g} s (Retry-After)" if wait is not None else "later",
                       "moved": f" to {shown(urljoin(self.url, answer.location))}" if answer.location else ""})
        raise ANSWERS.error(answer, facts, self._scrub) from None

    def _host(self) -> str:
        return self._hostport

    def _trusted(self) -> str:
        if self.ca_file:
            return f"the CA certificate(s) in option ca_file ({self.ca_file})"
        return "the system's CA store"
