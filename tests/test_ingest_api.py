"""The ingest API (issue 11, items 1 and 2) through the real daemon, over real HTTP: every answer it promises,
checked against its own OpenAPI description; recorded in the store before the 201 (a SIGKILL after it loses
nothing); tokens rotated without a restart; ninjs in; Superdesk's signed push and its assets."""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from openapi_spec_validator import validate as validate_spec

from conftest import SHARED
from wirepub_testkit.daemon import Running
from wirepub_testkit.waiting import wait_until

TOKEN, NEXT, OTHER = "cms-token-1", "cms-token-2", "wire-token"
SECRET = "superdesk-shared-secret"


def config(root: Path, **api: Any) -> None:
    extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in api.items())
    (root / "wirepub.toml").write_text(f"""
[daemon]
listen = "127.0.0.1:0"
interval = 0.5

[[sources]]
name = "cms"
kind = "api"
tokens_env = ["CMS_TOKEN"]
tokens_file = ["tokens.txt"]
max_bytes = 4096
{extra}
[[sources]]
name = "wire"
kind = "api"
tokens_env = ["WIRE_TOKEN"]

[[sources]]
name = "desk"
kind = "superdesk"
secret_env = "SUPERDESK_SECRET"
assets_url = "https://wire.example/api/v1/superdesk/desk/assets/"
max_bytes = 1048576

[[partners]]
name = "out"
formats = ["newsml-g2"]
destinations = ["public"]
""", encoding="utf-8")
    (root / "tokens.txt").write_text(f"# the CMS's current token\n{NEXT}\n", encoding="utf-8")


def env_for(root: Path) -> dict[str, str]:
    env = {**os.environ, "CMS_TOKEN": TOKEN, "WIRE_TOKEN": OTHER, "SUPERDESK_SECRET": SECRET}
    for name in ("WIREPUB_CONFIG", "WIREPUB_STORE_URL", "WIREPUB_STATUS_TOKEN"):
        env.pop(name, None)
    return env


class Api:
    def __init__(self, daemon: Running) -> None:
        self.base = daemon.health.rsplit("/", 1)[0]
        self.client = httpx.Client(base_url=self.base, timeout=30, trust_env=False)
        self.spec = self.client.get("/api/v1/openapi.json").json()

    def call(self, method: str, path: str, *, token: str | None = TOKEN, **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        answer = self.client.request(method, path, headers=headers, **kw)
        self.conforms(method, path, answer)
        return answer

    def conforms(self, method: str, path: str, answer: httpx.Response) -> None:
        """The answer is one the OpenAPI description lists for this operation, with a body of its schema."""
        template = next(t for t in self.spec["paths"] if _matches(t, path))
        operation = self.spec["paths"][template][method.lower()]
        described = operation["responses"].get(str(answer.status_code))
        assert described is not None, f"{method} {path} answered {answer.status_code}, not in the description"
        schema = described.get("content", {}).get("application/json", {}).get("schema")
        if schema is not None:
            resolver = {**self.spec, **schema}
            jsonschema.validate(answer.json(), resolver, cls=jsonschema.Draft202012Validator)


def _matches(template: str, path: str) -> bool:
    a, b = template.split("/"), path.split("?")[0].split("/")
    return len(a) == len(b) and all(x == y or x.startswith("{") for x, y in zip(a, b, strict=True))


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Running, Api]]:
    config(tmp_path)
    daemon = Running(tmp_path, env_for(tmp_path))
    try:
        yield daemon, Api(daemon)
    finally:
        daemon.kill()


def story(i: str = "s1", **more: Any) -> dict[str, Any]:
    return {"id": i, "headline": f"Headline {i}", "body": "<p>Body.</p>", **more}


def delivered(root: Path, story_id: str, version: int = 1) -> bool:
    return (root / "public" / "items" / story_id / f"v{version}.xml").is_file()


def test_the_openapi_description_is_valid_and_served(running):
    _, api = running
    validate_spec(api.spec)
    paths = set(api.spec["paths"])
    assert {"/api/v1/stories", "/api/v1/stories/{id}/versions/{version}", "/api/v1/stories/{id}"} <= paths


def test_every_answer_of_the_ingest_api(running, tmp_path):
    daemon, api = running
    assert api.call("POST", "/api/v1/stories", token=None, json=story()).status_code == 401
    assert api.call("POST", "/api/v1/stories", token="wrong", json=story()).status_code == 401

    created = api.call("POST", "/api/v1/stories", json=story())
    assert created.status_code == 201, created.text
    assert created.json() | {} == {"outcome": "created", "id": "s1", "version": 1, "status_url": "/api/v1/stories/s1"}
    assert created.headers["location"] == "/api/v1/stories/s1"
    wait_until(lambda: delivered(tmp_path, "s1"), "s1 delivered to the folder partner")

    again = api.call("POST", "/api/v1/stories", json=story(version=1))
    assert again.status_code == 200 and again.json()["version"] == 1           # an idempotent retry
    assert api.call("POST", "/api/v1/stories", json=story()).status_code == 200   # no version, same content
    changed = api.call("PUT", "/api/v1/stories/s1/versions/1", json=story(headline="Other"))
    assert changed.status_code == 409 and changed.json()["outcome"] == "conflict"
    nxt = api.call("POST", "/api/v1/stories", json=story(headline="Corrected"))  # no version: the next one
    assert nxt.status_code == 201 and nxt.json()["version"] == 2
    put = api.call("PUT", "/api/v1/stories/s1/versions/3", json={"headline": "Third", "body": "<p>3</p>"})
    assert put.status_code == 201 and put.json()["version"] == 3
    assert api.call("PUT", "/api/v1/stories/s1/versions/3", json={"headline": "Third", "body": "<p>3</p>"}
                    ).status_code == 200

    bad = api.call("POST", "/api/v1/stories", json={"id": "bad id", "headline": "", "urgency": 12, "colour": 1})
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["errors"]}
    assert {"id", "headline", "urgency", "body", "document"} <= fields, bad.json()
    assert api.call("POST", "/api/v1/stories", content=b"{not json").status_code == 422
    mismatch = api.call("PUT", "/api/v1/stories/s9/versions/1", json=story("s1"))
    assert mismatch.status_code == 422 and mismatch.json()["errors"][0]["field"] == "id"

    big = api.call("POST", "/api/v1/stories", json=story("big", body="<p>" + "x" * 5000 + "</p>"))
    assert big.status_code == 413

    theirs = api.call("POST", "/api/v1/stories", token=OTHER, json=story("s1", headline="Hijack"))
    assert theirs.status_code == 403 and "cms" in theirs.json()["message"]

    wait_until(lambda: delivered(tmp_path, "s1", 3), "s1 v3 delivered")
    state = api.call("GET", "/api/v1/stories/s1")
    assert state.status_code == 200
    got = state.json()
    assert [v["version"] for v in got["versions"]] == [1, 2, 3]
    assert all(v["state"] == "released" for v in got["versions"])
    assert {(d["partner"], d["version"], d["state"]) for d in got["deliveries"]} >= {("out", 3, "delivered")}
    assert api.call("GET", "/api/v1/stories/nothing").status_code == 404
    # Without a token it answers as the status page does: open on a loopback address (it is the same data).
    assert api.call("GET", "/api/v1/stories/s1", token=None).status_code == 200
    logged = daemon.log.read_text()
    assert "story accepted" in logged and TOKEN not in logged and OTHER not in logged and "wrong" not in logged


def test_a_token_is_rotated_without_a_restart(running, tmp_path):
    _, api = running
    assert api.call("POST", "/api/v1/stories", token=NEXT, json=story("r1")).status_code == 201
    (tmp_path / "tokens.txt").write_text("rotated-token\n", encoding="utf-8")
    os.utime(tmp_path / "tokens.txt", ns=(1, 1))   # a changed file whatever the clock's resolution
    assert api.call("POST", "/api/v1/stories", token=NEXT, json=story("r2")).status_code == 401
    assert api.call("POST", "/api/v1/stories", token="rotated-token", json=story("r2")).status_code == 201
    assert api.call("POST", "/api/v1/stories", token=TOKEN, json=story("r3")).status_code == 201   # the variable


def hold_collect_lock(root: Path) -> Any:
    """Take the SQLite store's collect lock, as another wirepub collecting would: the daemon's collects skip."""
    handle = (root / ".wirepub" / "wirepub.db.collect.lock").open("a+b")
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def test_a_full_queue_answers_429_and_a_sigkill_after_201_loses_nothing(tmp_path):
    config(tmp_path, queue_limit=5)
    daemon = Running(tmp_path, env_for(tmp_path))
    lock = hold_collect_lock(tmp_path)
    try:
        api = Api(daemon)
        answers = [api.call("POST", "/api/v1/stories", json=story(f"q{i}")).status_code for i in range(7)]
        assert answers == [201] * 5 + [429] * 2
        full = api.call("POST", "/api/v1/stories", json=story("q9"))
        assert full.headers["retry-after"] == "2"
        queued = api.call("GET", "/api/v1/stories/q0").json()["versions"]
        assert queued == [{"version": 1, "state": "queued", "source": "cms", "received_at": queued[0]["received_at"]}]
        daemon.kill()   # SIGKILL, with five stories answered 201 and never collected
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
        daemon.kill()
    again = Running(tmp_path, env_for(tmp_path))
    try:
        wait_until(lambda: all(delivered(tmp_path, f"q{i}") for i in range(5)), "the five accepted stories delivered")
        assert not delivered(tmp_path, "q5")
    finally:
        again.terminate()


NINJS_3 = {
    "uri": "https://cms.example/news/2026/budget",
    "version": "2",
    "standard": {"name": "ninjs", "version": "3.0"},
    "language": "en",
    "headlines": [{"value": "Budget agreed", "role": "main"}, {"value": "After a night of talks", "role": "sub"}],
    "bodies": [{"value": "<p>The budget was agreed.</p>", "contentType": "text/html"}],
    "versionCreated": "2026-11-25T10:00:00Z",
    "pubStatus": "usable",
    "subjects": [{"name": "economy", "uri": "http://cv.iptc.org/newscodes/mediatopic/04000000"}],
}


def test_ninjs_3_in_by_content(running, tmp_path):
    _, api = running
    answer = api.call("POST", "/api/v1/stories", json=NINJS_3)
    assert answer.status_code == 201, answer.text
    sid = answer.json()["id"]
    assert sid == "https-cms.example-news-2026-budget" and answer.json()["version"] == 2
    wait_until(lambda: delivered(tmp_path, sid, 2), "the ninjs story delivered")
    xml = (tmp_path / "public/items" / sid / "v2.xml").read_text()
    assert "Budget agreed" in xml and "medtop:04000000" in xml


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"x-superdesk-signature": "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest(),
            "Content-Type": "application/json"}


def test_superdesk_pushes_a_signed_item_and_its_picture(running, tmp_path):
    _, api = running
    sample = SHARED / "examples" / "superdesk-2.5.3-ninjs-text-with-picture.json"
    if not sample.is_file():
        pytest.skip(f"{sample} is absent")
    item = json.loads(sample.read_text())
    item.pop("embargoed")   # the sample is embargoed until 2030: released now, to see it delivered
    body = json.dumps(item).encode()
    # Pictures first, as its transmitter does: ask, then upload, signed.
    assert api.call("GET", "/api/v1/superdesk/desk/assets/abc123", token=None).status_code == 404
    upload = api.client.build_request("POST", "/api/v1/superdesk/desk/assets", data={"media_id": "abc123"},
                                      files={"media": ("original.jpg", b"\xff\xd8jpeg bytes", "image/jpeg")})
    raw = upload.read()
    upload.headers["x-superdesk-signature"] = signed(raw)["x-superdesk-signature"]
    uploaded = api.client.send(upload)
    assert uploaded.status_code == 201, uploaded.text
    got = api.call("GET", "/api/v1/superdesk/desk/assets/abc123", token=None)
    assert got.status_code == 200 and got.content == b"\xff\xd8jpeg bytes"
    assert got.headers["content-type"] == "image/jpeg"

    assert api.call("POST", "/api/v1/superdesk/desk", token=None, content=body,
                    headers={"Content-Type": "application/json"}).status_code == 401
    assert api.call("POST", "/api/v1/superdesk/desk", token=None, content=body,
                    headers=signed(body, "wrong")).status_code == 403
    assert api.call("POST", "/api/v1/superdesk/nodesk", token=None, content=body, headers=signed(body)
                    ).status_code == 404
    pushed = api.call("POST", "/api/v1/superdesk/desk", token=None, content=body, headers=signed(body))
    assert pushed.status_code == 201 and pushed.json()["version"] == 3
    assert api.call("POST", "/api/v1/superdesk/desk", token=None, content=body, headers=signed(body)
                    ).status_code == 200   # Superdesk resends: 2xx, nothing new
    sid = pushed.json()["id"]
    wait_until(lambda: delivered(tmp_path, sid, 3), "the Superdesk item delivered")
    xml = (tmp_path / "public/items" / sid / "v3.xml").read_text()
    assert "Parliament passes budget" in xml
    assert "https://wire.example/api/v1/superdesk/desk/assets/abc123" in xml

    killed = {**item, "pubstatus": "canceled", "version": "4"}
    body = json.dumps(killed).encode()
    assert api.call("POST", "/api/v1/superdesk/desk", token=None, content=body, headers=signed(body)
                    ).status_code == 201
    wait_until(lambda: delivered(tmp_path, sid, 4), "the kill delivered to the partner that had it")
    assert "canceled" in (tmp_path / "public/items" / sid / "v4.xml").read_text()
    assert SECRET not in running[0].log.read_text()
