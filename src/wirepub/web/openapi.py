"""The ingest API's OpenAPI 3.1 description, as data (served at /api/v1/openapi.json; tests/test_ingest_api.py
checks it against the OpenAPI specification and every answer the server gives against it)."""

from __future__ import annotations

from functools import cache
from typing import Any

from wirepub import __version__


def _answer(description: str, schema: str = "Answer", headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description,
                           "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}
    if headers:
        out["headers"] = headers
    return out


RETRY = {"Retry-After": {"description": "Seconds to wait before sending again.", "schema": {"type": "integer"}}}
LOCATION = {"Location": {"description": "The story's status URL.", "schema": {"type": "string"}}}
SUBMIT_ANSWERS = {
    "201": _answer("Recorded in the store (the inbox) before this answer: a crash now loses nothing.", "Answer",
                   LOCATION),
    "200": _answer("This id and version were accepted before with the same content: a retry, nothing new."),
    "401": _answer("No bearer token, or one no api source has.", "Error"),
    "403": _answer("The story belongs to another source (its id was recorded from there).", "Answer"),
    "409": _answer("This id and version were accepted before with other content: send the next version.", "Answer"),
    "413": _answer("Larger than the source's max_bytes.", "Error"),
    "422": _answer("Not a story: every contract error, each with its field and reason.", "Answer"),
    "429": _answer("The source's intake queue is full: try again after Retry-After.", "Answer", RETRY),
    "503": _answer("The store is not answering: nothing was recorded; send it again.", "Error", RETRY),
}
STORY_BODY = {
    "required": True,
    "description": "One story: the story contract's JSON (schemas/story.schema.json, docs/story-format.md) or a ninjs "
                   "1.x-3.x document (told apart by content: ninjs names itself by uri or guid).",
    "content": {"application/json": {"schema": {"oneOf": [{"$ref": "#/components/schemas/Story"},
                                                          {"$ref": "#/components/schemas/Ninjs"}]}}},
}
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]


SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "wirepub ingest API", "version": __version__,
             "description": "Stories in from a CMS: recorded in wirepub's store before the 201, then published "
                            "to every partner whose filter takes them. docs/sources.md says how to connect."},
    "servers": [{"url": "/"}],
    "paths": {
        "/api/v1/stories": {"post": {
            "summary": "Send a story; with no version it gets the next one.",
            "operationId": "postStory", "security": BEARER, "requestBody": STORY_BODY,
            "responses": SUBMIT_ANSWERS}},
        "/api/v1/stories/{id}/versions/{version}": {"put": {
            "summary": "Send this version of this story (idempotent: the same content again answers 200).",
            "operationId": "putStoryVersion", "security": BEARER, "requestBody": STORY_BODY,
            "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "version", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}],
            "responses": SUBMIT_ANSWERS}},
        "/api/v1/stories/{id}": {"get": {
            "summary": "A story's versions and, per partner, destination and format, its delivery state.",
            "operationId": "getStory", "security": BEARER,
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _answer("The story.", "StoryState"),
                          "401": _answer("No token of an api source (nor the status token).", "Error"),
                          "404": _answer("No such story was accepted or recorded.", "Error")}}},
        "/api/v1/superdesk/{source}": {"post": {
            "summary": "Superdesk's HTTP push: one ninjs item, signed (x-superdesk-signature: sha1=HMAC-SHA1 "
                       "of the body under the source's secret).",
            "operationId": "superdeskItem",
            "parameters": [{"name": "source", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "x-superdesk-signature", "in": "header", "required": True,
                            "schema": {"type": "string", "pattern": "^sha1=[0-9a-f]{40}$"}}],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Ninjs"}}}},
            "responses": {**SUBMIT_ANSWERS, "401": _answer("No signature.", "Error"),
                          "403": _answer("A signature that does not match, or a story of another source.",
                                         "Error"),
                          "404": _answer("No superdesk source of this name.", "Error")}}},
        "/api/v1/superdesk/{source}/assets": {"post": {
            "summary": "A picture's rendition, as Superdesk uploads it before the item (signed).",
            "operationId": "superdeskUpload",
            "parameters": [{"name": "source", "in": "path", "required": True, "schema": {"type": "string"}}],
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["media_id", "media"],
                "properties": {"media_id": {"type": "string"},
                               "media": {"type": "string", "contentMediaType": "application/octet-stream"}}}}}},
            "responses": {"201": _answer("Kept.", "Asset"), "401": _answer("No signature.", "Error"),
                          "403": _answer("A signature that does not match.", "Error"),
                          "404": _answer("No superdesk source of this name.", "Error"),
                          "413": _answer("Larger than max_bytes.", "Error"),
                          "422": _answer("media_id or media missing.", "Error")}}},
        "/api/v1/superdesk/{source}/assets/{media_id}": {"get": {
            "summary": "A picture Superdesk uploaded (Superdesk asks before uploading: 200 or 404).",
            "operationId": "superdeskAsset",
            "parameters": [{"name": "source", "in": "path", "required": True, "schema": {"type": "string"}},
                           {"name": "media_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "The picture.",
                                  "content": {"*/*": {"schema": {"type": "string"}}}},
                          "404": _answer("Not uploaded (yet).", "Error")}}},
        "/api/v1/openapi.json": {"get": {"summary": "This description.", "operationId": "openapi",
                                         "responses": {"200": {"description": "OpenAPI 3.1",
                                                               "content": {"application/json": {}}}}}},
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                       "description": "A token of an api source (sources.tokens_env, "
                                                      "sources.tokens_file)."}},
        "schemas": {
            "Story": {"type": "object", "required": ["id", "headline", "body"],
                      "description": "The story contract: schemas/story.schema.json.",
                      "properties": {"id": {"type": "string"}, "version": {"type": "integer"},
                                     "headline": {"type": "string"}, "body": {"type": "string"}}},
            "Ninjs": {"type": "object", "description": "ninjs 1.x-3.x (IPTC); uri (or Superdesk's guid) names it.",
                      "anyOf": [{"required": ["uri"]}, {"required": ["guid"]}]},
            "Answer": {"type": "object", "required": ["outcome"], "properties": {
                "outcome": {"enum": ["created", "repeated", "conflict", "invalid", "forbidden", "full"]},
                "id": {"type": "string"}, "version": {"type": "integer"},
                "status_url": {"type": "string"}, "message": {"type": "string"},
                "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}}}},
            "FieldError": {"type": "object", "required": ["field", "reason"],
                           "properties": {"field": {"type": "string"}, "reason": {"type": "string"}}},
            "Error": {"type": "object", "required": ["error"], "properties": {
                "error": {"type": "string"},
                "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}}}},
            "Asset": {"type": "object", "required": ["media_id", "bytes"],
                      "properties": {"media_id": {"type": "string"}, "bytes": {"type": "integer"}}},
            "StoryState": {"type": "object", "required": ["id", "versions", "deliveries"], "properties": {
                "id": {"type": "string"},
                "versions": {"type": "array", "items": {"type": "object", "required": ["version", "state"],
                                                        "properties": {
                    "version": {"type": "integer"},
                    "state": {"enum": ["queued", "rejected", "recorded", "held", "released", "failed",
                                       "dropped"]},
                    "status": {"enum": ["approved", "withdrawn"]}, "error": {"type": "string"}}}},
                "deliveries": {"type": "array", "items": {"type": "object", "required": [
                    "version", "partner", "destination", "format", "state"], "properties": {
                    "version": {"type": ["integer", "null"]}, "partner": {"type": "string"},
                    "destination": {"type": "string"}, "path": {"type": "string"},
                    "format": {"type": "string"},
                    "state": {"enum": ["pending", "delivered", "failed", "dead", "superseded"]},
                    "attempts": {"type": "integer"}, "last_error": {"type": ["string", "null"]}}}}}},
        },
    },
}


@cache
def openapi() -> dict[str, Any]:
    """The ingest API's OpenAPI 3.1 description, as served at /api/v1/openapi.json."""
    return SPEC
