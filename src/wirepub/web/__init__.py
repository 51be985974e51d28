"""The daemon's web layer: /healthz for probes, /metrics for Prometheus, and the desk's status page.

Routes (GET only: any other method is 405 with `Allow: GET`; an unknown path is 404):
  /healthz       health() as JSON: 200 when ok, 503 when not. Never needs the token: probes call it. When a
                 token is set, a caller without it learns only {"status": ...}; node name and store error
                 are for those with the token.
  /metrics       the Metrics registry (metrics.py) through prometheus-client's own ASGI app.
  /              the status page; /?story=ID shows where each version of that story went.
  /api/status    the same data as JSON (/api/status?story=ID for one story).

Read-only. On a loopback address it is open to this machine, to requests that name it (Host: localhost,
127.0.0.1, [::1], with or without the port; any other Host gets 421, which defeats DNS rebinding). On any other
address it needs a token (WIREPUB_STATUS_TOKEN, handed in by the daemon): `Authorization: Bearer TOKEN`, or
`?token=TOKEN` once in a browser, which answers with a cookie derived from the token and sends the browser on
to the same page without the token in its address, so searches and refreshes work. The token is compared in
constant time and is never logged nor shown; no query string is logged. A handler that fails answers 500 with a
short message; the server carries on. While the store does not answer, the page says so (503, and refreshes
itself) and /api/status answers a JSON 503.

Built on Starlette, served by uvicorn. This layer is about to grow an ingest API (JSON bodies, its own token per
route, an OpenAPI description), and Starlette has what that needs while staying small (it needs only anyio):
routes with their own methods and middleware (the per-route auth: security.RequireScope), requests with parsed
query strings, cookies and JSON bodies, an authentication middleware that leaves what a request was granted in
`request.auth`, exception handlers, and `starlette.schemas` for the OpenAPI description. It mounts ASGI apps as
they are, so /metrics is prometheus-client's own exposition (format negotiation, gzip), not a copy of it.
A WSGI server (waitress, cheroot) would do as well at serving from a thread, and would keep every handler
synchronous like the store; but WSGI brings no routing, auth or request parsing, so a framework would have to
come on top or be written here. Being async costs little: Starlette runs plain-function handlers (every one
that reads the store) in worker threads. uvicorn runs on h11, pure Python: nothing compiled.

  security.py   who may read what: the token, its cookie, the Host check
  app.py        the Starlette app: routes, answers, access log, failures
  server.py     uvicorn in a thread: bind, start, close, port
"""

from wirepub.web.security import is_loopback
from wirepub.web.server import OPEN_TO_NETWORK, WebServer, parse_listen

__all__ = ["OPEN_TO_NETWORK", "WebServer", "is_loopback", "parse_listen"]
