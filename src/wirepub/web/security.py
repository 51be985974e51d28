"""Who may read what. Two rules, one per kind of listen address:

- loopback (no token): open to this machine.
- any other address: the token (WIREPUB_STATUS_TOKEN) is needed, as `Authorization: Bearer TOKEN`, as
  `?token=TOKEN`, or as the cookie derived from it (an HMAC of a fixed text under the token, so the token itself
  is never stored in a browser). Every comparison is constant-time.

Starlette's AuthenticationMiddleware runs TokenAuth on every request and leaves what it granted in
`request.auth`; each route says what it needs (RequireScope); /healthz needs nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

from starlette.authentication import AuthCredentials, AuthenticationBackend, BaseUser, SimpleUser
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

STATUS = "status"          # what reading the status page, its JSON and /metrics needs
COOKIE = "wirepub_status"
CHALLENGE = 'Bearer realm="wirepub"'


def is_loopback(host: str) -> bool:
    """A listen host that only this machine can reach: 'localhost' or a loopback address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False   # a name other than localhost, or "" (every interface): treat as open to the network


class TokenAuth(AuthenticationBackend):
    """Grants STATUS to whoever presents the token; without a token (a loopback listen address) to every request."""

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
