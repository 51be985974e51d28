"""The Starlette application: the routes, what each answers, and the middleware around them.

Outermost first: Starlette's own last-resort 500; AccessLog (one debug line per request, path without its query
string); Failures (a handler that raises answers a short 500, is logged with its traceback, and the server
carries on); on a loopback address without a token, LoopbackHostOnly (421 to a Host that does not name this
machine); Starlette's AuthenticationMiddleware with TokenAuth (security.py); Starlette's exception
middleware, turning 401/404/405 into this server's short texts; the router.

A store that does not answer (sqlalchemy's errors) is no failure of the server: the page says so in a page of its
own (503, refreshing itself) and /api/status in JSON (503).

Every handler that reads the store or calls the daemon is a plain function: Starlette runs it in a worker
thread, so a slow store never holds the event loop (and /healthz keeps answering). /metrics is
prometheus-client's own ASGI app, handed what the registry collected in a worker thread for the same reason.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlencode

from prometheus_client import make_asgi_app
from prometheus_client.core import Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wirepub.clock import Clock
from wirepub.statuspage import render_status_page, status_view
from wirepub.store import Store
from wirepub.web.ingest import Ingest
from wirepub.web.security import COOKIE, STATUS, LoopbackHostOnly, RequireScope, TokenAuth

log = logging.getLogger("wirepub.web")

Health = Callable[[], tuple[bool, dict[str, Any]]]

PAGE_REFRESH_SECONDS = 10
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
NO_STORE = {"Cache-Control": "no-store"}
FAILED = "internal error in wirepub's status page; the daemon's log says what\n"
STORE_AWAY = "the store is not answering; try again in a few seconds"
RETRY = {"Retry-After": str(PAGE_REFRESH_SECONDS)}
STORE_AWAY_PAGE = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="{PAGE_REFRESH_SECONDS}">
<meta name="referrer" content="no-referrer">
<title>[store away] wirepub delivery status</title>
<style>
  body {{ margin: 0; padding: 1rem 1.5rem 3rem; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto,
         "Noto Sans", "DejaVu Sans", sans-serif; color: #1d232a; background: #fff; }}
  h1 {{ font-size: 1.35rem; margin: 0 0 1rem; padding-bottom: .5rem; border-bottom: 2px solid #1d232a; }}
  .bad {{ font-weight: 600; color: #8a1c14; background: #fde2e1; padding: .5rem .75rem; }}
  .muted {{ color: #5b6670; }}
</style>
</head>
<body>
<h1>wirepub delivery status</h1>
<p class="bad" id="store-away">The store is not answering; the page refreshes itself every {PAGE_REFRESH_SECONDS}
seconds.</p>
<p class="muted">The daemon keeps trying the store; its log says why it is away.</p>
</body>
</html>
"""
ANSWERS = {
    401: "a token is needed: Authorization: Bearer TOKEN, or ?token=TOKEN\n",
    404: "not found: try / (the status page), /api/status, /metrics or /healthz\n",
    405: "this method is not served here (the status page takes GET only; the ingest API: see "
         "/api/v1/openapi.json)\n",
}


def build_app(*, store: Store, clock: Clock, health: Health, registry: Collector, auth: TokenAuth,
              loopback_only: bool, ingest: Ingest | None = None) -> Starlette:
    """The app. `loopback_only` (a loopback listen address, no token): requests must name this machine. With
    `ingest`, the ingest API's routes too (web/ingest.py)."""
    handlers = _Handlers(store, clock, health, auth.cookie)
    needs_token = [Middleware(RequireScope, needed=STATUS)]
    guard = [Middleware(LoopbackHostOnly)] if loopback_only else []
    app = Starlette(
        routes=[
            _Get("/healthz", handlers.healthz),
            _Get("/", handlers.page, middleware=needs_token),
            _Get("/api/status", handlers.api_status, middleware=needs_token),
            _Get("/metrics", MetricsApp(registry), middleware=needs_token),
            *(ingest.routes() if ingest is not None else ()),
        ],
        middleware=[
            Middleware(AccessLog),
            Middleware(Failures),
            *guard,
            Middleware(AuthenticationMiddleware, backend=auth),
        ],
        exception_handlers={HTTPException: _short_answer},
    )
    app.router.redirect_slashes = False   # /healthz/ is not found, as it always was; no redirect built from Host
    return app


class _Get(Route):
    """A GET route, and GET only: Starlette adds HEAD to every GET route; this server answers it 405, as it always
    has, with `Allow: GET`."""

    def __init__(self, path: str, endpoint: Callable[..., Any], *,
                 middleware: Sequence[Middleware] | None = None) -> None:
        super().__init__(path, endpoint, methods=["GET"], middleware=middleware)
        self.methods = {"GET"}


class JSONText(Response):
    """JSON as this server has always written it: indented, UTF-8, one newline at the end."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return (json.dumps(content, indent=2, ensure_ascii=False, default=str) + "\n").encode("utf-8")


class _Handlers:
    """The routes' answers, bound to what they read. Plain functions: Starlette runs them in worker threads."""

    def __init__(self, store: Store, clock: Clock, health: Health, cookie: str | None) -> None:
        self.store = store
        self.clock = clock
        self.health = health
        self.cookie = cookie

    def healthz(self, request: Request) -> Response:
        ok, facts = self.health()
        if STATUS not in request.auth.scopes:
            # A probe, or anyone who can reach the port: the verdict, not the node's name nor the store's error.
            facts = {"status": facts.get("status") or ("ok" if ok else "unhealthy")}
        return JSONText(facts, status_code=200 if ok else 503, headers=NO_STORE)

    def page(self, request: Request) -> Response:
        story = request.query_params.get("story") or None
        if self.cookie is not None and "token" in request.query_params:
            # A browser came with the token in its address: give it the cookie, and the page without the token.
            target = "/" + (f"?{urlencode({'story': story})}" if story else "")
            response = Response(status_code=303, headers={"Location": target, **PAGE_HEADERS})
            response.set_cookie(COOKIE, self.cookie, path="/", httponly=True, samesite="strict")
            return response
        try:
            view = status_view(self.store, self.clock.now(), story=story)
        except SQLAlchemyError as exc:
            _store_away(exc)
            return HTMLResponse(STORE_AWAY_PAGE, status_code=503, headers={**PAGE_HEADERS, **RETRY})
        return HTMLResponse(render_status_page(view, refresh_seconds=PAGE_REFRESH_SECONDS), headers=PAGE_HEADERS)

    def api_status(self, request: Request) -> Response:
        try:
            view = status_view(self.store, self.clock.now(), story=request.query_params.get("story") or None)
        except SQLAlchemyError as exc:
            _store_away(exc)
            return JSONText({"error": STORE_AWAY, "retry_after_seconds": PAGE_REFRESH_SECONDS}, status_code=503,
                            headers={**NO_STORE, **RETRY})
        return JSONText(view.as_json(), headers=NO_STORE)


def _store_away(exc: SQLAlchemyError) -> None:
    error = (str(exc).splitlines() or [type(exc).__name__])[0][:300]   # the first line: no SQL, no parameters
    log.warning("status page: store unavailable error=%s", error)


class MetricsApp:
    """prometheus-client's own ASGI app (format chosen by Accept, gzip, ?name[]=) over the registry, with one
    change: the registry is collected in a worker thread first. Its ledger collector queries the store, and
    prometheus-client's app collects on the event loop: a store that hangs would hang every request with it."""

    def __init__(self, registry: Collector) -> None:
        self.registry = registry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        collected = await run_in_threadpool(lambda: list(self.registry.collect()))
        await make_asgi_app(Collected(collected))(scope, receive, send)


class Collected(Collector):
    """What one scrape collected, as a registry prometheus-client's exposition can read."""

    def __init__(self, metrics: list[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return iter(self.metrics)

    def restricted_registry(self, names: Iterable[str]) -> Collected:
        """?name[]=...: the samples so named, as prometheus-client's own registry would restrict them."""
        wanted = set(names)
        kept = []
        for metric in self.metrics:
            samples = [s for s in metric.samples if s.name in wanted]
            if samples:
                part = Metric(metric.name, metric.documentation, metric.type)
                part.samples = samples
                kept.append(part)
        return Collected(kept)


async def _short_answer(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Connection"] = "close"   # a body we did not read may follow: do not reuse the connection
    return PlainTextResponse(ANSWERS.get(exc.status_code, f"{exc.detail}\n"), status_code=exc.status_code,
                             headers=headers)


class AccessLog:
    """One debug line per request, through wirepub's logging: method, path (never the query string, which may
    carry ?token=) and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        logged = False

        def log_line(status: int | str) -> None:
            nonlocal logged
            logged = True
            log.debug("status page: method=%s path=%s status=%s", scope["method"], scope["path"], status)

        async def send_logging(message: Message) -> None:
            if message["type"] == "http.response.start" and not logged:
                log_line(message["status"])   # before the answer leaves: a client that has it finds it logged
            await send(message)

        try:
            await self.app(scope, receive, send_logging)
        finally:
            if not logged:
                log_line("-")


class Failures:
    """A handler that raises: a short 500 (nothing of the error in it), the traceback in the log, and the server
    carries on. Starlette's own ServerErrorMiddleware would answer too, but raise again for uvicorn to log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_noting_start)
        except Exception:
            log.exception("status page: %s path=%s failed", scope["method"], scope["path"])
            if not started:
                await PlainTextResponse(FAILED, status_code=500)(scope, receive, send)
