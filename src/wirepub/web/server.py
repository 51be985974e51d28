"""uvicorn serving the web layer's Starlette app from a daemon thread of `wirepub run`.

The socket is bound here, in the constructor, so a bad listen address is a ConfigError before anything starts
and the port (0 picks a free one) is known at once. uvicorn gets that socket, runs its own event loop in the
thread, and installs no signal handler: the daemon owns SIGTERM and SIGINT, and stops us with close().

uvicorn is set up for this use: h11 (pure Python; no uvloop, no httptools, no WebSocket), no lifespan, no
logging configuration of its own (its records go through wirepub's), no access log of its own (it would write
the query string, and ?token= with it; AccessLog in app.py writes one without; see _H11), proxy headers ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Generator
from typing import Any

import h11
import uvicorn
from prometheus_client.registry import Collector
from uvicorn.protocols.http.h11_impl import H11Protocol

from wirepub.clock import Clock
from wirepub.errors import ConfigError, WirepubError
from wirepub.store import Store
from wirepub.web.app import Health, build_app
from wirepub.web.ingest import Ingest
from wirepub.web.security import TokenAuth, is_loopback

log = logging.getLogger("wirepub.web")

IDLE_TIMEOUT = 30          # seconds a connection may sit idle (kept alive, or before its request) before it is closed
GRACE = 2                  # seconds close() lets requests in progress finish before they are cancelled
CLOSE_TIMEOUT = 5          # seconds close() waits for the serving thread
START_TIMEOUT = 10         # seconds start() waits for uvicorn to take the socket
OPEN_TO_NETWORK = ("the status page would be open to the network; set WIREPUB_STATUS_TOKEN or listen on "
                   "127.0.0.1")


class WebServer:
    """Serves the web layer on `listen` ("HOST:PORT"; port 0 picks a free one) from a daemon thread.

    What the daemon uses: the constructor, start(), port, close() (bounded; twice is harmless), and the
    context manager (start on enter, close on exit). `metrics` is the registry /metrics serves."""

    def __init__(self, listen: str, *, store: Store, clock: Clock, health: Health, metrics: Collector,
                 token: str | None = None, idle_timeout: int = IDLE_TIMEOUT, ingest: Ingest | None = None) -> None:
        host, port = parse_listen(listen)
        if not token and not is_loopback(host):
            raise ConfigError(f"listen {listen}: {OPEN_TO_NETWORK}")
        _quiet_uvicorn()
        app = build_app(store=store, clock=clock, health=health, registry=metrics, auth=TokenAuth(token),
                        loopback_only=not token, ingest=ingest)
        config = uvicorn.Config(
            app, http=_H11, loop="asyncio", ws="none", lifespan="off", interface="asgi3",
            log_config=None, access_log=False, proxy_headers=False, server_header=False,
            headers=[("Server", "wirepub")], timeout_keep_alive=idle_timeout, timeout_graceful_shutdown=GRACE)
        self._server = _Uvicorn(config)
        self._socket = _bind(listen, host, port)
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def port(self) -> int:
        return int(self._socket.getsockname()[1])

    def start(self) -> None:
        if self._thread is not None or self._closed:
            return
        self._thread = threading.Thread(target=self._serve, name="wirepub-web", daemon=True)
        self._thread.start()
        if not self._server.ready.wait(START_TIMEOUT) or not self._server.started:
            raise WirepubError(f"the web server on port {self.port} did not start; the log says why")
        log.info("status page listening on port=%d", self.port)

    def close(self) -> None:
        """Stop taking connections, close idle ones, let requests in progress finish for GRACE seconds, and wait
        (boundedly) for the serving thread."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._server.should_exit = True
            self._thread.join(CLOSE_TIMEOUT)
            if self._thread.is_alive():
                self._server.force_exit = True
                log.warning("status page: a request still runs after %ss; left to end with the process",
                            CLOSE_TIMEOUT)
        self._socket.close()

    def __enter__(self) -> WebServer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _serve(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        except BaseException:  # SystemExit too: uvicorn exits on a failed start; here that ends this thread only
            log.exception("status page: the web server stopped on an error")
        finally:
            self._server.ready.set()


def parse_listen(listen: str) -> tuple[str, int]:
    """'127.0.0.1:8080', '[::1]:8080', 'localhost:0', '0.0.0.0:8080' -> (host, port)."""
    text = listen.strip()
    host, sep, port_text = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not port_text.isdigit() or int(port_text) > 65535:
        raise ConfigError(f"listen {listen!r}: give HOST:PORT, e.g. 127.0.0.1:8080 ([::1]:8080 for IPv6)")
    return host, int(port_text)


def _bind(listen: str, host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"listen {listen}: cannot listen there: {exc.strerror or exc}") from None
    return sock


def _quiet_uvicorn() -> None:
    """uvicorn says 'Started server process' and the like at info; its warnings and errors are worth keeping."""
    logger = logging.getLogger("uvicorn.error")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)


class _Uvicorn(uvicorn.Server):
    """uvicorn's server, telling when it has taken the socket, and leaving signals alone."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield   # the daemon owns SIGTERM and SIGINT


class _H11(H11Protocol):
    """uvicorn's h11 protocol, with two changes.

    - Its access log is off for good. uvicorn writes one whenever its "uvicorn.access" logger has a handler when
      a connection opens, whatever access_log says, and that line carries the query string (?token= with it);
      a handler may come from anywhere (pytest attaches one to every logger that does not propagate).
    - Its idle timeout also runs while a request has not fully arrived. uvicorn arms it only after a response,
      so a connection that sends nothing, or a request line a byte a minute, would be kept for ever;
      http.server's socket timeout used to close those."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.access_log = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_idle_timeout()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)   # disarms the timeout, reads what came, and may start a request
        if self.conn.their_state is h11.IDLE:
            self._arm_idle_timeout()  # still no whole request

    def _arm_idle_timeout(self) -> None:
        if self.timeout_keep_alive_task is None and not self.transport.is_closing():
            self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive,
                                                                self.timeout_keep_alive_handler)
