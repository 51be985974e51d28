"""Ports on 127.0.0.1: free ones, a range of them, a closed one, and waiting until one listens."""

from __future__ import annotations

import socket
from collections.abc import Callable

from wirepub_testkit.waiting import WaitTimeout, wait_until

LOCALHOST = "127.0.0.1"


def free_port() -> int:
    """A port nothing listens on (bound, read and released: connecting to it is refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOCALHOST, 0))
        port: int = sock.getsockname()[1]
        return port


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    return free_port()


def free_port_range(count: int) -> range:
    """count consecutive ports that are free now (for pyftpdlib's passive ports)."""
    for _ in range(200):
        start = free_port()
        if start + count > 65535:
            continue
        taken = []
        try:
            for port in range(start, start + count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                taken.append(sock)
                sock.bind((LOCALHOST, port))
        except OSError:
            continue
        finally:
            for sock in taken:
                sock.close()
        return range(start, start + count)
    raise RuntimeError(f"no {count} consecutive free ports on {LOCALHOST}")


def wait_for_port(port: int, *, timeout: float, alive: Callable[[], str | None] = lambda: None) -> None:
    """Until something accepts on 127.0.0.1:port; alive() returns why the server died, if it did (then this
    raises RuntimeError with that at once)."""

    def accepting() -> bool:
        died = alive()
        if died is not None:
            raise RuntimeError(died)
        try:
            with socket.create_connection((LOCALHOST, port), timeout=0.5):
                return True
        except OSError:
            return False

    try:
        wait_until(accepting, f"something listening on {LOCALHOST}:{port}", timeout=timeout, interval=0.05)
    except WaitTimeout:
        raise RuntimeError(f"nothing listens on {LOCALHOST}:{port} after {timeout}s") from None
