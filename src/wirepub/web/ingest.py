"""The ingest API's routes: what a CMS sends, and what it is answered (app.ingest does the work).

  POST /api/v1/stories                          a story (story contract or ninjs); bearer token of an api source
  PUT  /api/v1/stories/{id}/versions/{n}        the same, id and version from the address
  GET  /api/v1/stories/{id}                     its versions and each partner's delivery state
  POST /api/v1/superdesk/{source}               Superdesk's HTTP push: ninjs, x-superdesk-signature
  GET  /api/v1/superdesk/{source}/assets/{id}   200 with the picture, or 404 (Superdesk asks before uploading)
  POST /api/v1/superdesk/{source}/assets        multipart (media_id, media), signed
  GET  /api/v1/openapi.json                     the OpenAPI description of all of it (web/openapi.py)

Answers: 201 recorded (in the store before the answer leaves); 200 the same id, version and content again; 409
the same id and version with other content; 422 every contract error as JSON; 413 over the source's max_bytes
(told by Content-Length before anything is read, else while reading); 401 no or unknown token (no or bad
signature for Superdesk: 401, 403); 403 a story of another source; 429 the source's intake queue is full, with
Retry-After. A body is read, and the store asked, in a worker thread: the event loop never waits on the store.
Tokens never reach a log line: the access log writes the path alone.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wirepub.app import ingest
from wirepub.logs import facts
from wirepub.sources.api import RETRY_AFTER, IngestSource, Submitted
from wirepub.sources.superdesk import SIGNATURE_HEADER, SuperdeskSource
from wirepub.store import Store
from wirepub.vocabulary import Submission
from wirepub.web.openapi import openapi
from wirepub.web.security import CHALLENGE, STATUS

log = logging.getLogger("wirepub.web.ingest")

STATUS_CODES = {Submission.CREATED: 201, Submission.REPEATED: 200, Submission.CONFLICT: 409,
                Submission.INVALID: 422, Submission.FORBIDDEN: 403, Submission.FULL: 429}
JSON_TYPE = "application/json"
NO_STORE = {"Cache-Control": "no-store"}
DRAIN = 1024 * 1024   # bytes of a too large body read and thrown away before the 413, so the client sees it


class TooLarge(Exception):
    pass


def _json(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = (json.dumps(content, indent=2, ensure_ascii=False, default=str) + "\n").encode("utf-8")
    return Response(body, status_code=status, media_type=JSON_TYPE, headers={**NO_STORE, **(headers or {})})


def _error(status: int, message: str, headers: dict[str, str] | None = None, **more: Any) -> Response:
    return _json({"error": message, **more}, status, headers)


async def _body(request: Request, limit: int) -> bytes:
    """The request's body, refused (TooLarge) once it is known to pass `limit`. What is over is read and thrown
    away, up to DRAIN bytes, before the 413 is sent: a server that closes a connection with unread data on it
    makes the kernel reset it, and the client would see the reset instead of the answer."""
    length = request.headers.get("content-length")
    over = length is not None and length.isdigit() and int(length) > limit
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if over or size > limit:
            over = True
            if size > limit + DRAIN:
                break
            continue
        chunks.append(chunk)
    if over:
        raise TooLarge
    body = b"".join(chunks)
    request._body = body   # form() reads it again (Starlette keeps what was read here)
    return body


def _too_large(limit: int) -> Response:
    return _error(413, f"the story is larger than the {limit:,} bytes this source takes (max_bytes)",
                  {"Connection": "close"})


class Ingest:
    """The routes, bound to the sources that are pushed to and to the store. `accepted` is called after each 201
    (the daemon collects at once)."""

    def __init__(self, sources: Sequence[IngestSource], store: Store, accepted: Callable[[], None]) -> None:
        self.sources = list(sources)
        self.store = store
        self.accepted = accepted

    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/stories", self.post_story, methods=["POST"]),
            Route("/api/v1/stories/{story_id}/versions/{version:int}", self.put_story, methods=["PUT"]),
            Route("/api/v1/stories/{story_id}", self.get_story, methods=["GET"]),
            Route("/api/v1/superdesk/{source}", self.superdesk_item, methods=["POST"]),
            Route("/api/v1/superdesk/{source}/assets", self.superdesk_upload, methods=["POST"]),
            Route("/api/v1/superdesk/{source}/assets/{media_id}", self.superdesk_asset, methods=["GET"]),
            Route("/api/v1/openapi.json", self.openapi, methods=["GET"]),
        ]

    # --- who is calling -------------------------------------------------------------------------------------

    def _token_source(self, request: Request) -> IngestSource | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        return next((s for s in self.sources if s.accepts(token)), None)

    def _superdesk(self, name: str) -> SuperdeskSource | None:
        return next((s for s in self.sources if isinstance(s, SuperdeskSource) and s.name == name), None)

    # --- stories --------------------------------------------------------------------------------------------

    async def post_story(self, request: Request) -> Response:
        return await self._story(request, None, None)

    async def put_story(self, request: Request) -> Response:
        return await self._story(request, request.path_params["story_id"], request.path_params["version"])

    async def _story(self, request: Request, story_id: str | None, version: int | None) -> Response:
        source = await run_in_threadpool(self._token_source, request)
        if source is None:
            return _error(401, "a bearer token of an api source is needed: Authorization: Bearer TOKEN",
                          {"WWW-Authenticate": CHALLENGE})
        try:
            body = await _body(request, source.max_bytes)
        except TooLarge:
            return _too_large(source.max_bytes)
        return await run_in_threadpool(self._submit, source, body, story_id, version)

    def _submit(self, source: IngestSource, body: bytes, story_id: str | None, version: int | None) -> Response:
        try:
            result = ingest.submit(source, body, story_id=story_id, version=version)
        except SQLAlchemyError as exc:
            log.warning("ingest: store unavailable", extra=facts(source=source.name, error=str(exc).splitlines()[0]))
            return _error(503, "the store is not answering; nothing was recorded: send it again",
                          {"Retry-After": str(RETRY_AFTER)})
        if result.outcome == Submission.CREATED:
            log.info("story accepted", extra=facts(source=source.name, story=result.story_id,
                                                   version=result.version))
            self.accepted()
        elif result.outcome != Submission.REPEATED:
            log.info("story refused", extra=facts(source=source.name, story=result.story_id, outcome=result.outcome,
                                                  reason=result.message))
        return _answer(result)

    def get_story(self, request: Request) -> Response:
        if STATUS not in request.auth.scopes and self._token_source(request) is None:
            return _error(401, "a bearer token of an api source (or the status token) is needed",
                          {"WWW-Authenticate": CHALLENGE})
        story_id = request.path_params["story_id"]
        try:
            state = ingest.story_state(self.store, story_id)
        except SQLAlchemyError:
            return _error(503, "the store is not answering; try again", {"Retry-After": str(RETRY_AFTER)})
        if not state.found:
            return _error(404, f"no story {story_id} was accepted or recorded")
        return _json(state.as_json())

    # --- Superdesk ------------------------------------------------------------------------------------------

    async def _signed(self, request: Request) -> tuple[SuperdeskSource, bytes] | Response:
        source = self._superdesk(request.path_params["source"])
        if source is None:
            return _error(404, f"no superdesk source named {request.path_params['source']}")
        try:
            body = await _body(request, source.max_bytes)
        except TooLarge:
            return _too_large(source.max_bytes)
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:
            return _error(401, f"{SIGNATURE_HEADER} is missing: set the destination's secret token in Superdesk")
        if not await run_in_threadpool(source.signed, body, signature):
            log.warning("superdesk: bad signature", extra=facts(source=source.name))
            return _error(403, f"{SIGNATURE_HEADER} does not match the body under this source's secret")
        return source, body

    async def superdesk_item(self, request: Request) -> Response:
        checked = await self._signed(request)
        if isinstance(checked, Response):
            return checked
        source, body = checked
        return await run_in_threadpool(self._submit, source, body, None, None)

    async def superdesk_upload(self, request: Request) -> Response:
        checked = await self._signed(request)
        if isinstance(checked, Response):
            return checked
        source, _ = checked
        form = await request.form(max_part_size=source.max_bytes)
        media_id, media = form.get("media_id"), form.get("media")
        if not isinstance(media_id, str) or not isinstance(media, UploadFile):
            return _error(422, "a multipart upload with the fields media_id and media is needed",
                          errors=[{"field": "media_id" if not isinstance(media_id, str) else "media",
                                   "reason": "missing"}])
        data = await media.read()
        try:
            await run_in_threadpool(source.put_asset, media_id, media.content_type or "", data)
        except Exception as exc:   # a media id that cannot be one: told, not logged as a failure of ours
            return _error(422, str(exc))
        log.info("superdesk asset received", extra=facts(source=source.name, media_id=media_id, bytes=len(data)))
        return _json({"media_id": media_id, "bytes": len(data)}, 201)

    def superdesk_asset(self, request: Request) -> Response:
        source = self._superdesk(request.path_params["source"])
        found = source.asset(request.path_params["media_id"]) if source is not None else None
        if found is None:
            return _error(404, "no such asset")
        media_type, data = found
        return Response(data, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})

    def openapi(self, request: Request) -> Response:
        return _json(openapi())


def _answer(result: Submitted) -> Response:
    status = STATUS_CODES[result.outcome]
    body: dict[str, Any] = {"outcome": str(result.outcome)}
    if result.story_id is not None:
        body["id"] = result.story_id
    if result.version is not None:
        body["version"] = result.version
    headers: dict[str, str] = {}
    if result.outcome in (Submission.CREATED, Submission.REPEATED) and result.story_id:
        body["status_url"] = f"/api/v1/stories/{result.story_id}"
        headers["Location"] = body["status_url"]
    if result.message:
        body["message"] = result.message
    if result.errors:
        body["errors"] = result.errors
    if result.outcome == Submission.FULL:
        headers["Retry-After"] = str(RETRY_AFTER)
    return _json(body, status, headers)
