"""The daemon's small HTTP server: /healthz for probes, /metrics for Prometheus, and the desk's status page.

Routes (GET only; anything else is 405, an unknown path 404):
  /healthz       health() as JSON: 200 when ok, 503 when not. Never needs the token: probes call it.
  /metrics       metrics() as Prometheus text.
  /              the status page; /?story=ID shows where each version of that story went.
  /api/status    the same data as JSON (/api/status?story=ID for one story).

Read-only. On a loopback address it is open to this machine; on any other address it needs a token
(WIREPUB_STATUS_TOKEN, handed in by the daemon): `Authorization: Bearer TOKEN`, or `?token=TOKEN` once in a
browser, which answers with a cookie derived from the token and sends the browser on to the same page without
the token in its address, so searches and refreshes work. The token is compared in constant time and is never
logged nor shown. A handler that fails answers 500 with a short message; the server carries on.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import threading
from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from wirepub.clock import Clock
from wirepub.errors import ConfigError
from wirepub.statuspage import render_status_page, status_view
from wirepub.store import Store

log = logging.getLogger("wirepub.web")

PAGE_REFRESH_SECONDS = 10
METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
COOKIE = "wirepub_status"
IDLE_TIMEOUT = 30          # seconds a kept-alive connection may sit idle before its thread lets it go
CLOSE_TIMEOUT = 5          # seconds close() waits for the serving thread
OPEN_TO_NETWORK = ("the status page would be open to the network; set WIREPUB_STATUS_TOKEN or listen on "
                   "127.0.0.1")
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class WebServer:
    """Serves the routes above on `listen` ("HOST:PORT"; port 0 picks a free one) from a daemon thread."""

    def __init__(self, listen: str, *, store: Store, clock: Clock,
                 health: Callable[[], tuple[bool, dict[str, Any]]],
                 metrics: Callable[[], str], token: str | None = None) -> None:
        host, port = parse_listen(listen)
        if not token and not is_loopback(host):
            raise ConfigError(f"listen {listen}: {OPEN_TO_NETWORK}")
        self.store = store
        self.clock = clock
        self.health = health
        self.metrics = metrics
        self._token = token.encode("utf-8") if token else None
        self._cookie = (hmac.new(self._token, b"wirepub status page cookie", hashlib.sha256).hexdigest()
                        if self._token else None)
        self._thread: threading.Thread | None = None
        self._closed = False
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        server_class = _Server6 if ":" in host else _Server
        handler = type("StatusHandler", (_Handler,), {"web": self})
        try:
            self._server = server_class((host, port), handler)
        except OSError as exc:
            raise ConfigError(f"listen {listen}: cannot listen there: {exc.strerror or exc}") from None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        if self._thread is not None or self._closed:
            return
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="wirepub-status-page", daemon=True)
        self._thread.start()
        log.info("status page listening on port=%d", self.port)

    def close(self) -> None:
        """Stop serving, drop kept-alive connections, wait (boundedly) for the serving thread."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=CLOSE_TIMEOUT)
        self._server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> WebServer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- used by the handler -----------------------------------------------------------------

    def _authorised(self, header: str | None, query_token: str | None, cookies: str | None) -> bool:
        if self._token is None:
            return True
        if header:
            scheme, _, value = header.partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode("utf-8"), self._token):
                return True
        if query_token is not None and hmac.compare_digest(query_token.encode("utf-8"), self._token):
            return True
        if cookies and self._cookie:
            try:
                jar = SimpleCookie(cookies)
            except CookieError:
                return False
            morsel = jar.get(COOKIE)
            if morsel is not None and hmac.compare_digest(morsel.value.encode("utf-8"), self._cookie.encode()):
                return True
        return False

    def _track(self, conn: socket.socket, alive: bool) -> None:
        with self._lock:
            if alive:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)


def parse_listen(listen: str) -> tuple[str, int]:
    """'127.0.0.1:8080', '[::1]:8080', 'localhost:0', '0.0.0.0:8080' -> (host, port)."""
    text = listen.strip()
    host, sep, port_text = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not port_text.isdigit() or int(port_text) > 65535:
        raise ConfigError(f"listen {listen!r}: give HOST:PORT, e.g. 127.0.0.1:8080 ([::1]:8080 for IPv6)")
    return host, int(port_text)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False   # a name other than localhost, or "" (every interface): treat as open to the network


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    web: WebServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = IDLE_TIMEOUT
    server_version = "wirepub"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self.web._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.web._track(self.connection, False)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        route = urlsplit(self.path).path
        try:
            self._get(route)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True   # the client went away mid-answer: nothing to tell it
        except Exception:
            log.exception("status page: GET path=%s failed", route)
            self._send(500, b"internal error in wirepub's status page; the daemon's log says what\n",
                       "text/plain; charset=utf-8")

    def _not_allowed(self) -> None:
        self.close_connection = True   # a body we did not read may follow: do not reuse the connection
        self._send(405, b"only GET is served here\n", "text/plain; charset=utf-8", {"Allow": "GET"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _not_allowed  # noqa: N815

    def _get(self, route: str) -> None:
        web = self.web
        query = parse_qs(urlsplit(self.path).query)
        if route == "/healthz":
            ok, body = web.health()
            self._send_json(200 if ok else 503, body)
            return
        if route not in ("/", "/api/status", "/metrics"):
            self._send(404, b"not found: try / (the status page), /api/status, /metrics or /healthz\n",
                       "text/plain; charset=utf-8")
            return
        query_token = query.get("token", [None])[0]
        if not web._authorised(self.headers.get("Authorization"), query_token, self.headers.get("Cookie")):
            self._send(401, b"a token is needed: Authorization: Bearer TOKEN, or ?token=TOKEN\n",
                       "text/plain; charset=utf-8", {"WWW-Authenticate": 'Bearer realm="wirepub"'})
            return
        story = query.get("story", [None])[0]
        if route == "/" and query_token is not None and web._cookie is not None:
            # A browser came with the token in its address: give it the cookie, and the page without the token.
            target = "/" + (f"?{urlencode({'story': story})}" if story else "")
            self._send(303, b"", "text/plain; charset=utf-8",
                       {"Location": target, "Set-Cookie": f"{COOKIE}={web._cookie}; Path=/; HttpOnly; "
                                                          "SameSite=Strict",
                        **PAGE_HEADERS})
            return
        if route == "/metrics":
            self._send(200, web.metrics().encode("utf-8"), METRICS_TYPE)
            return
        view = status_view(web.store, web.clock.now(), story=story)
        if route == "/api/status":
            self._send_json(200, view.as_json())
            return
        page = render_status_page(view, refresh_seconds=PAGE_REFRESH_SECONDS)
        self._send(200, page.encode("utf-8"), "text/html; charset=utf-8", PAGE_HEADERS)

    def _send_json(self, code: int, body: Any) -> None:
        data = (json.dumps(body, indent=2, ensure_ascii=False, default=str) + "\n").encode("utf-8")
        self._send(code, data, "application/json", {"Cache-Control": "no-store"})

    def _send(self, code: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # http.server's own errors (a malformed request line) would quote the request, token and all.
        super().send_error(code)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug("status page: method=%s path=%s status=%s", self.command, urlsplit(self.path).path, code)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's signature)
        # The default writes the raw request line to stderr, and it may carry ?token=: say less.
        log.debug("status page: a request was not served normally (%s)", format)
