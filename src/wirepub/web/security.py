"""Who may read what. Two rules, one per kind of listen address:

- loopback (no token): open to this machine, and only to requests that name it. A browser on this machine may
  be running a page from anywhere; if that page's site points its own DNS name at 127.0.0.1 (DNS rebinding),
  the browser sends it here with `Host: that.site`, and would hand the answer to that page. So every request
  must carry a Host that names this machine (localhost or a loopback address, with or without a port), or it
  gets 421 (Misdirected Request). Starlette's TrustedHostMiddleware is not used: it answers 400, and it cuts a
  Host at its first colon, so `[::1]:8787` could never match.
- any other address: the token (WIREPUB_STATUS_TOKEN) is needed, as `Authorization: Bearer TOKEN`, as
  `?token=TOKEN`, or as the cookie derived from it (an HMAC of a fixed text under the token, so the token itself
  is never stored in a browser). Every comparison is constant-time.

Starlette's AuthenticationMiddleware runs TokenAuth on every request and leaves what it granted in
`request.auth`; each route says what it needs (RequireScope), and /healthz reads it to decide how much to say.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable

from starlette.authentication import AuthCredentials, AuthenticationBackend, BaseUser, SimpleUser
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

STATUS = "status"          # what reading the status page, its JSON and /metrics needs
COOKIE = "wirepub_status"
CHALLENGE = 'Bearer realm="wirepub"'
MISDIRECTED = ("misdirected request: this server answers only to this machine's own names (localhost, "
               "127.0.0.1, [::1]); open it by one of them\n")


def is_loopback(host: str) -> bool:
    """A listen host that only this machine can reach: 'localhost' or a loopback address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False   # a name other than localhost, or "" (every interface): treat as open to the network


def names_this_machine(host_header: str) -> bool:
    """'localhost', 'localhost:8787', '127.0.0.1:8787', '[::1]', '[::1]:8787' (any loopback address) -> True;
    any other name, an IPv6 address without its brackets, or a port that is no number -> False."""
    host = host_header.strip().lower()
    if host.startswith("["):
        address, bracket, rest = host[1:].partition("]")
        if not bracket or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return False
        return ":" in address and is_loopback(address)
    name, colon, port = host.partition(":")
    if colon and not port.isdigit():
        return False
    return is_loopback(name)


class TokenAuth(AuthenticationBackend):
    """Grants STATUS to whoever presents the token; without a token (a loopback listen address) to every request,
    LoopbackHostOnly having already turned away those that do not name this machine."""

    def __init__(self, token: str | None) -> None:
        self._token = token.encode("utf-8") if token else None
        self.cookie = (hmac.new(self._token, b"wirepub status page cookie", hashlib.sha256).hexdigest()
                       if self._token else None)

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        if self._token is None:
            return AuthCredentials([STATUS]), SimpleUser("this machine")
        if self._presented(conn, self._token):
            return AuthCredentials([STATUS]), SimpleUser("token holder")
        return None

    def _presented(self, conn: HTTPConnection, token: bytes) -> bool:
        scheme, _, value = conn.headers.get("authorization", "").partition(" ")
        # Starlette decodes header bytes as latin-1: encoding back gives the bytes as sent.
        if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode("latin-1"), token):
            return True
        query_token = conn.query_params.get("token")
        if query_token is not None and hmac.compare_digest(query_token.encode("utf-8"), token):
            return True
        cookie = conn.cookies.get(COOKIE)
        return (cookie is not None and self.cookie is not None
                and hmac.compare_digest(cookie.encode("utf-8"), self.cookie.encode("ascii")))


class RequireScope:
    """Route middleware: a request that was not granted `needed` gets 401 with the Bearer challenge."""

    def __init__(self, app: ASGIApp, needed: str) -> None:
        self.app = app
        self.needed = needed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        auth = scope.get("auth")
        if not isinstance(auth, AuthCredentials) or self.needed not in auth.scopes:
            raise HTTPException(401, headers={"WWW-Authenticate": CHALLENGE})
        await self.app(scope, receive, send)


class LoopbackHostOnly:
    """Middleware: 421 to any request whose Host does not name this machine (none at all included: every
    browser sends one)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not _hosts_name_this_machine(scope["headers"]):
            await PlainTextResponse(MISDIRECTED, status_code=421, headers={"Connection": "close"})(
                scope, receive, send)
            return
        await self.app(scope, receive, send)


def _hosts_name_this_machine(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    hosts = [value.decode("latin-1") for name, value in headers if name == b"host"]   # ASGI: names in lower case
    return bool(hosts) and all(names_this_machine(h) for h in hosts)
