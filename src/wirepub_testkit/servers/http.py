"""A real HTTP(S) receiver on 127.0.0.1 for the https:// push transport: it records every request and answers
as a test (or a benchmark) scripts it.

- ``Receiver()``: plain HTTP/1.1 (keep-alive, Nagle off) on a free port; ``stop()`` ends it.
- ``tls_receiver(folder)``: the same over TLS, its certificate (for 127.0.0.1 and localhost) issued by a
  throwaway trustme CA; ``receiver.ca_file`` is that CA's certificate as a PEM file in ``folder``, for the
  ca_file option.

Scripting: ``receiver.respond_with(status, headers=..., body=..., hang=seconds, reset=True, times=n)``. Without
``times`` it sets the answer to every later request; with ``times=n`` it queues that answer for the next n
requests, after which the standing answer applies again. ``hang`` sleeps before answering (cut short when the
receiver stops); ``reset`` reads the request, then closes the connection with a TCP RST and no answer;
``content_length`` declares a longer body than ``body`` (the rest never comes).
Every request is recorded (method, path, headers, body, the client's port) before it is answered.
"""

from __future__ import annotations

import contextlib
import functools
import socket
import ssl
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme

from wirepub_testkit.ports import LOCALHOST

STOP_SECONDS = 5.0          # bound on joining the server's threads at teardown
IDLE_SECONDS = 10.0         # a kept-alive connection idle this long is closed by the receiver



@dataclass(frozen=True)
class Recorded:
    method: str
    path: str               # as sent: path and query
    headers: Message        # case-insensitive .get(), like a web framework's request.headers
    body: bytes
    client_port: int        # one per TCP connection: tells keep-alive reuse from new connections

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return None if value is None else str(value)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    hang: float = 0.0
    reset: bool = False
    content_length: int | None = None   # to declare more than is sent (then the connection stays open)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client aborting a TLS handshake, or dropping a connection we hang on, is part of the tests.
        self.receiver.errors.append(repr(client_address))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True      # else every request stalls ~40 ms (PERFORMANCE-NOTES.md)
    timeout = IDLE_SECONDS
    server: _Server

    def setup(self) -> None:
        receiver = self.server.receiver
        receiver._track(threading.current_thread(), self.request)
        if receiver.tls is not None:
            self.request.settimeout(IDLE_SECONDS)
            self.request = receiver.tls.wrap_socket(self.request, server_side=True)  # handshake, in this thread
            receiver._track(threading.current_thread(), self.request)
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
            if self.server.receiver.tls is not None:
                self.request.close()    # the TLS socket; socketserver closes only the raw one it accepted
        finally:
            self.server.receiver._untrack(threading.current_thread(), self.request)

    def _answer(self) -> None:
        receiver = self.server.receiver
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        receiver._record(Recorded(self.command, self.path, self.headers, body, self.client_address[1]))
        reply = receiver._next_reply()
        if reply.hang and receiver._stopping.wait(reply.hang):
            self.close_connection = True
            return
        if reply.reset:
            # SO_LINGER 0: close() sends RST instead of FIN; no answer at all.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.rfile.close()
            self.wfile.close()
            self.connection.close()
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        declared = len(reply.body) if reply.content_length is None else reply.content_length
        self.send_header("Content-Length", str(declared))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)
        if declared > len(reply.body):  # the rest never comes: wait for the client to give up, or for stop()
            receiver._stopping.wait(IDLE_SECONDS)
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Receiver:
    """A ThreadingHTTPServer on 127.0.0.1:<free port> in a background thread; ``stop()`` ends it and its
    connections within STOP_SECONDS."""

    def __init__(self, tls: ssl.SSLContext | None = None, ca_file: Path | None = None) -> None:
        self.tls = tls
        self.ca_file = ca_file
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._requests: list[Recorded] = []
        self._standing = Reply()
        self._queued: deque[Reply] = deque()
        self._stopping = threading.Event()
        self._connections: dict[threading.Thread, list[socket.socket]] = {}
        self._server = _Server((LOCALHOST, 0), _Handler)
        self._server.receiver = self
        self.port: int = self._server.server_address[1]
        self.url = f"{'https' if tls else 'http'}://{LOCALHOST}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"receiver-{self.port}", daemon=True)
        self._thread.start()

    # ---- scripting and looking ------------------------------------------------------------------------

    def respond_with(self, status: int = 200, *, headers: dict[str, str] | None = None, body: bytes | str = b"",
                     hang: float = 0.0, reset: bool = False, content_length: int | None = None,
                     times: int | None = None) -> None:
        reply = Reply(status, dict(headers or {}), body.encode() if isinstance(body, str) else body, hang, reset,
                      content_length)
        with self._lock:
            if times is None:
                self._standing = reply
            else:
                self._queued.extend([reply] * times)

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    @property
    def open_connections(self) -> int:
        """Connections a handler thread is still serving (kept alive by the client, or mid-request)."""
        with self._lock:
            return len(self._connections)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    # ---- the handler's side ---------------------------------------------------------------------------

    def _record(self, recorded: Recorded) -> None:
        with self._lock:
            self._requests.append(recorded)

    def _next_reply(self) -> Reply:
        with self._lock:
            return self._queued.popleft() if self._queued else self._standing

    def _track(self, thread: threading.Thread, sock: socket.socket) -> None:
        with self._lock:
            self._connections.setdefault(thread, []).append(sock)

    def _untrack(self, thread: threading.Thread, sock: socket.socket) -> None:
        with self._lock:
            self._connections.pop(thread, None)

    # ---- ending -----------------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop accepting, wake hanging handlers, cut kept-alive connections, and join every thread (bounded)."""
        self._stopping.set()
        self._server.shutdown()         # returns once serve_forever has left its loop (poll 0.05 s)
        self._server.server_close()
        with self._lock:
            connections = dict(self._connections)
        for socks in connections.values():
            for sock in socks:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # a handler blocked reading the next request wakes up
        deadline = time.monotonic() + STOP_SECONDS
        self._thread.join(timeout=max(0.0, deadline - time.monotonic()))
        for thread in connections:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in [self._thread, *connections] if t.is_alive()]
        if alive:
            raise RuntimeError(f"receiver on port {self.port}: threads still running after {STOP_SECONDS} s: {alive}")


@functools.cache
def receiver_ca() -> trustme.CA:
    """One throwaway CA per process (cached, so every TLS receiver of a run shares it)."""
    return trustme.CA()


def tls_receiver(folder: Path) -> Receiver:
    """A Receiver over TLS: its certificate for 127.0.0.1 and localhost, issued by receiver_ca(), whose own
    certificate is written to folder/ca.pem (``receiver.ca_file``) for clients to trust."""
    ca = receiver_ca()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(LOCALHOST, "localhost").configure_cert(context)
    ca_file = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return Receiver(tls=context, ca_file=ca_file)
