"""The desk's status page: the view over a real store (SQLite and PostgreSQL) after real pushes to file
partners, one of them failing and one dead; the page as HTML, escaped; the server that serves it (token,
loopback, routes, errors) over real HTTP on 127.0.0.1; `wirepub status --html`; and the page in a real
headless Chromium, with a screenshot kept as a test artefact."""

from __future__ import annotations

import http.client
import json
import logging
import os
import shutil
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from lxml import html
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from conftest import REPO
from wirepub import app
from wirepub.cli import main
from wirepub.clock import FixedClock
from wirepub.config import load_config
from wirepub.errors import ConfigError
from wirepub.statuspage import (
    DeliveryStatus,
    PartnerStatus,
    StatusView,
    VersionStatus,
    human_age,
    render_status_page,
    status_view,
    when,
)
from wirepub.store import NewVersion, Store
from wirepub.web import WebServer

START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TOKEN = "s3cret-desk-token"


def story(story_id: str, version: int = 1, **fields: Any) -> str:
    return json.dumps({"id": story_id, "version": version, "headline": f"{story_id} v{version}", "body": "<p>B</p>",
                       "version_created": f"2026-11-25T1{version}:00:00Z", **fields})


class Desk:
    """A newsroom after two pushes: 'wire' takes everything and gets it; 'down' fails (and will retry);
    'gone' is dead at the first attempt. harbour-fire has two versions; budget waits for its embargo."""

    def __init__(self, root: Path, store_url: str | None = None) -> None:
        self.root = root
        (root / "blocked-down").write_text("a file where a folder should be")
        (root / "blocked-gone").write_text("a file where a folder should be")
        store = f'[store]\nurl = "{store_url}"\n\n' if store_url else ""
        self.config_path = root / "wirepub.toml"
        self.config_path.write_text(
            store + '[source]\nsettle = 0\n\n[delivery]\nmax_attempts = 5\n\n'
            '[[partners]]\nname = "wire"\ndestinations = ["public"]\n\n'
            '[[partners]]\nname = "down"\ndestinations = ["blocked-down"]\nformats = ["newsml-g2"]\n\n'
            '[[partners]]\nname = "gone"\ndestinations = ["blocked-gone"]\nformats = ["newsml-g2"]\n'
            '[partners.delivery]\nmax_attempts = 1\n')
        self.config = load_config(self.config_path)
        self.store = Store(self.config.store_url)
        self.clock = FixedClock(START)
        stories = root / "stories"
        stories.mkdir()
        (stories / "harbour-fire.json").write_text(story("harbour-fire"))
        (stories / "budget.json").write_text(story("budget", embargo="2026-11-25T18:00:00Z"))
        self.push()
        self.clock.set(START + timedelta(minutes=5))
        (stories / "harbour-fire-2.json").write_text(story("harbour-fire", 2))
        self.push()

    def push(self) -> None:
        app.push(self.config, clock=self.clock)


@pytest.fixture
def desk(tmp_path: Path, store_url: str) -> Iterator[Desk]:
    d = Desk(tmp_path, store_url)
    yield d
    d.store.close()


@pytest.fixture
def sqlite_desk(tmp_path: Path) -> Iterator[Desk]:
    d = Desk(tmp_path)
    yield d
    d.store.close()


# --- the view ------------------------------------------------------------------------------------------------

def test_the_view_counts_each_partner_and_tells_where_each_version_went(desk):
    now = desk.clock.now()
    view = status_view(desk.store, now, story="harbour-fire")
    partners = {p.partner: p for p in view.partners}
    assert set(partners) == {"wire", "down", "gone"}
    wire, down, gone = partners["wire"], partners["down"], partners["gone"]
    assert (wire.delivered, wire.pending, wire.failed, wire.dead) == (6, 0, 0, 0)  # 2 items, 2 x 2 feeds
    assert (down.delivered, down.failed, down.dead) == (0, 2, 0)
    assert (gone.delivered, gone.failed, gone.dead) == (0, 0, 2)
    assert (wire.problem, down.problem, gone.problem) == (None, "failing", "dead")
    assert "Not a directory" in down.last_error and "blocked-down" in down.last_error
    assert down.oldest_pending_seconds == 300  # v1 has waited since the first push, 5 minutes ago

    assert [(s.story_id, s.version) for s in view.stories] == [("harbour-fire", 2), ("budget", 1)]
    budget = view.stories[1]
    assert budget.released_at is None and budget.embargo == datetime(2026, 11, 25, 18, tzinfo=UTC)

    assert view.found and [v.version for v in view.versions] == [1, 2]
    assert all(v.released_at is not None for v in view.versions)
    went = {(d.version, d.partner, d.format): d for d in view.history}
    assert set(went) == {(v, p, "newsml-g2") for v in (1, 2) for p in ("wire", "down", "gone")}
    assert went[2, "wire", "newsml-g2"].state == "delivered"
    assert went[2, "wire", "newsml-g2"].delivered_at == now
    assert went[2, "wire", "newsml-g2"].path == "items/harbour-fire/v2.xml"
    assert went[1, "wire", "newsml-g2"].delivered_at == START
    assert went[1, "down", "newsml-g2"].state == "failed" and went[1, "down", "newsml-g2"].attempts >= 1
    assert went[1, "gone", "newsml-g2"].state == "dead"
    assert "Not a directory" in (went[1, "gone", "newsml-g2"].last_error or "")
    assert [d.version for d in view.history] == sorted((d.version for d in view.history), reverse=True)

    data = view.as_json()
    json.dumps(data)  # plain JSON all the way down
    assert data["story"]["found"] and len(data["story"]["deliveries"]) == 6
    assert {p["partner"]: p["problem"] for p in data["partners"]} == {"wire": None, "down": "failing", "gone": "dead"}


def test_a_search_that_is_no_id_lists_the_ids_that_contain_it(sqlite_desk):
    store, now = sqlite_desk.store, sqlite_desk.clock.now()
    view = status_view(store, now, story="  HARBOUR ")
    assert view.story == "HARBOUR" and not view.found and view.history == []
    assert [m.story_id for m in view.matches] == ["harbour-fire"]
    assert status_view(store, now, story="h_rbour").matches == []      # _ and % are no wildcards here
    assert status_view(store, now, story="%").matches == []
    assert status_view(store, now, story="x" * 500).matches == []     # longer than any id: not looked up
    assert status_view(store, now, story="").story is None


# --- the page ------------------------------------------------------------------------------------------------

def test_the_page_highlights_problems_in_human_units_and_refreshes_when_served(sqlite_desk):
    view = status_view(sqlite_desk.store, sqlite_desk.clock.now(), story="harbour-fire")
    page = render_status_page(view, refresh_seconds=10)
    doc = html.fromstring(page)
    assert doc.xpath("//meta[@http-equiv='refresh']/@content") == ["10"]
    rows = {tr.get("data-partner"): tr for tr in doc.xpath("//table[@id='partners-table']/tbody/tr")}
    assert rows["gone"].get("class") == "problem-dead" and rows["down"].get("class") == "problem-failing"
    assert rows["wire"].get("class") is None
    assert rows["down"].xpath("string(td[contains(@class, 'failed')])") == "2"
    assert rows["down"].xpath("string(td[contains(@class, 'oldest')])") == "5 min"
    assert "2 dead, 2 partners need attention" in doc.xpath("string(//*[@id='summary'])")
    assert doc.xpath("//form[@method='get']//input[@name='story']/@value") == ["harbour-fire"]
    assert doc.xpath("//table[@class='history']/@data-version") == ["2", "1"]
    wire_v2 = doc.xpath("//table[@data-version='2']/tbody/tr[@data-partner='wire']")[0]
    assert "12:05:00 UTC (now)" in wire_v2.text_content()
    assert doc.xpath("//tr[@data-story='budget']")[0].text_content().count("(in 5 h 55 min)") == 1
    assert doc.xpath("//a[text()='harbour-fire']/@href")[0] == "/?story=harbour-fire"
    assert not doc.xpath("//script | //link | //img | //*[@src]")     # self-contained: nothing to fetch

    static = html.fromstring(render_status_page(view, refresh_seconds=None, search=False))
    assert not static.xpath("//meta[@http-equiv='refresh'] | //form | //a[@href]")
    assert static.xpath("//table[@data-version='1']")


def test_ages_and_times_in_human_units():
    assert [human_age(s) for s in (0, 59, 60, 3599, 3600, 7500, 86_400, 90_000, -5)] == [
        "0 s", "59 s", "1 min", "59 min", "1 h", "2 h 5 min", "1 d", "1 d 1 h", "0 s"]
    assert when(START - timedelta(minutes=3), START) == "11:57:00 UTC (3 min ago)"
    assert when(START + timedelta(hours=2), START) == "14:00:00 UTC (in 2 h)"
    assert when(START - timedelta(days=1, hours=1), START) == "2026-11-24 11:00:00 UTC (1 d 1 h ago)"
    assert when(None, START) == "-"


def test_everything_from_outside_is_escaped(tmp_path):
    """Story ids and errors come from outside: the store takes any id, an error message quotes a server, and a
    search is whatever was typed."""
    store = Store(f"sqlite:///{tmp_path}/x.db")
    evil = '<script>alert("id")</script>'
    store.versions.record(NewVersion(story_id=evil, version=1, status="approved", content_hash="h", document={},
                                     origin="o", version_created=START, embargo=None), now=START)
    for query in (evil, "<script>alert(2)</script>", "script"):
        page = render_status_page(status_view(store, START, story=query), refresh_seconds=10)
        assert "<script" not in page and "&lt;script&gt;" in page
        assert not html.fromstring(page).xpath("//script")
    page = render_status_page(status_view(store, START), refresh_seconds=None)
    assert "/?story=%3Cscript%3Ealert%28%22id%22%29%3C/script%3E" in page
    store.close()

    # What the ledger holds for a delivery: partner, destination and error, each as hostile as can be.
    hostile = '"><img src=x onerror=alert(1)>'
    view = StatusView(
        now=START,
        partners=[PartnerStatus(partner=hostile, pending=0, delivered=0, failed=0, dead=1, superseded=0,
                                last_error="<b>502</b> from sftp://u:pw@host/in: </td>", oldest_pending_seconds=None)],
        stories=[], story=evil,
        versions=[VersionStatus(story_id=evil, version=1, status="approved", seen_at=START, released_at=START,
                                embargo=None)],
        history=[DeliveryStatus(version=1, partner=hostile, destination="sftp://u:pw@host/in", path=f"items/{evil}",
                                format="newsml-g2", state="dead", attempts=1, created_at=START, delivered_at=None,
                                next_attempt_at=None, last_error="<b>502</b></td></tr></table><script>x</script>")])
    page = render_status_page(view, refresh_seconds=10)
    assert "<img" not in page and "<b>" not in page and "<script" not in page
    assert "pw@" not in page and "u:***@host" in page   # a password in a URL never reaches the page
    doc = html.fromstring(page)
    assert not doc.xpath("//img | //b | //script")
    assert doc.xpath("//table[@id='partners-table']/tbody/tr/@data-partner") == [hostile]


# --- the server ----------------------------------------------------------------------------------------------

class Client:
    def __init__(self, port: int) -> None:
        self.port = port

    def get(self, path: str, headers: dict[str, str] | None = None, method: str = "GET",
            ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, headers=headers or {})
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()


class Health:
    def __init__(self) -> None:
        self.ok = True
        self.broken = False

    def __call__(self) -> tuple[bool, dict[str, Any]]:
        if self.broken:
            raise RuntimeError("the health check itself broke")
        return self.ok, {"ok": self.ok, "store": "reachable"}


def metrics_registry() -> CollectorRegistry:
    """What /metrics serves: a registry, as the daemon hands over Metrics.registry."""
    registry = CollectorRegistry()
    Gauge("wirepub_deliveries", "Deliveries by state.", ["state"], registry=registry).labels("dead").set(2)
    return registry


METRICS = metrics_registry()


@pytest.fixture
def served(sqlite_desk: Desk) -> Iterator[tuple[WebServer, Client, Health]]:
    health = Health()
    server = WebServer("127.0.0.1:0", store=sqlite_desk.store, clock=sqlite_desk.clock, health=health,
                       metrics=METRICS, token=TOKEN)
    server.start()
    yield server, Client(server.port), health
    server.close()


def test_with_a_token_everything_but_healthz_needs_it(served, caplog):
    caplog.set_level(logging.DEBUG)
    server, client, health = served
    assert server.port > 0
    status, headers, body = client.get("/healthz", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200 and json.loads(body) == {"ok": True, "store": "reachable"}
    assert client.get("/healthz")[0] == 200          # without the token too: probes call it
    health.ok = False
    assert client.get("/healthz")[0] == 503

    for path in ("/", "/?story=harbour-fire", "/api/status", "/metrics"):
        status, headers, body = client.get(path)
        assert status == 401 and headers["www-authenticate"].startswith("Bearer"), path
        assert client.get(path, {"Authorization": "Bearer wrong"})[0] == 401
        assert client.get(path + ("&" if "?" in path else "?") + "token=wrong")[0] == 401

    bearer = {"Authorization": f"Bearer {TOKEN}"}
    status, headers, body = client.get("/", bearer)
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert b'http-equiv="refresh" content="10"' in body and b"problem-dead" in body
    assert "default-src 'none'" in headers["content-security-policy"]
    status, headers, body = client.get("/metrics", bearer)
    assert status == 200 and headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert body == generate_latest(METRICS) and b'wirepub_deliveries{state="dead"} 2.0' in body
    status, headers, body = client.get("/api/status?story=harbour-fire", bearer)
    data = json.loads(body)
    assert status == 200 and data["story"]["found"] and {p["partner"] for p in data["partners"]} == {
        "wire", "down", "gone"}
    assert client.get(f"/metrics?token={TOKEN}")[0] == 200   # scripts may put it in the query too

    # A browser brings the token once in the address; it gets a cookie and the address without the token.
    status, headers, body = client.get(f"/?token={TOKEN}&story=harbour-fire")
    assert status == 303 and headers["location"] == "/?story=harbour-fire"
    cookie = headers["set-cookie"].split(";")[0]
    assert TOKEN not in headers["set-cookie"] and "HttpOnly" in headers["set-cookie"]
    status, _, body = client.get("/?story=harbour-fire", {"Cookie": cookie})
    assert status == 200 and b"items/harbour-fire/v2.xml" in body
    assert client.get("/", {"Cookie": cookie.split("=")[0] + "=forged"})[0] == 401

    assert TOKEN not in caplog.text
    assert any("path=/metrics" in r.getMessage() for r in caplog.records)


def test_no_query_string_reaches_a_log_line_whoever_listens(served, caplog):
    """The access log is wirepub's, at debug, without the query string; uvicorn's own (which writes the query
    string) stays off even when its logger has a handler of its own."""
    caplog.set_level(logging.DEBUG)
    server, client, _ = served
    uvicorn_access = logging.getLogger("uvicorn.access")
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    uvicorn_access.addHandler(handler)
    try:
        assert client.get(f"/?token={TOKEN}&story=marker-in-query")[0] == 303
        assert client.get("/api/status?story=marker-in-query", {"Authorization": f"Bearer {TOKEN}"})[0] == 200
        assert client.get("/nope?token=wrong")[0] == 404
    finally:
        uvicorn_access.removeHandler(handler)
    assert seen == []
    lines = [r.getMessage() for r in caplog.records if r.name == "wirepub.web"]
    assert "status page: method=GET path=/api/status status=200" in lines
    assert "status page: method=GET path=/nope status=404" in lines
    assert TOKEN not in caplog.text and "marker-in-query" not in caplog.text and "wrong" not in caplog.text


def test_healthz_tells_a_caller_without_the_token_only_the_verdict(sqlite_desk):
    """/healthz needs no token (probes call it), but what the daemon says of itself (its node name, the store's
    error, which may name a database host) is for the desk: without the token, only {"status": ...}."""
    facts = {"node": "desk-node-7", "last_collect": "2026-11-25T12:05:00+00:00", "status": "unhealthy",
             "store": "unavailable: connection to server at db.internal (10.0.0.5), port 5432 failed"}
    with WebServer("127.0.0.1:0", store=sqlite_desk.store, clock=sqlite_desk.clock, health=lambda: (False, dict(facts)),
                   metrics=METRICS, token=TOKEN) as server:
        client = Client(server.port)
        for anonymous in ({}, {"Authorization": "Bearer wrong"}):
            status, headers, body = client.get("/healthz", anonymous)
            assert status == 503 and json.loads(body) == {"status": "unhealthy"}
            assert headers["cache-control"] == "no-store"
        assert json.loads(client.get("/healthz?token=wrong")[2]) == {"status": "unhealthy"}

        cookie = client.get(f"/?token={TOKEN}")[1]["set-cookie"].split(";")[0]
        for credentials in ({"Authorization": f"Bearer {TOKEN}"}, {"Cookie": cookie}):
            status, _, body = client.get("/healthz", credentials)
            assert status == 503 and json.loads(body) == facts
        assert json.loads(client.get(f"/healthz?token={TOKEN}")[2]) == facts

    # On loopback without a token, this machine is trusted: the full facts, as before.
    with WebServer("127.0.0.1:0", store=sqlite_desk.store, clock=sqlite_desk.clock,
                   health=lambda: (True, {**facts, "status": "ok", "store": "ok"}), metrics=METRICS) as server:
        status, _, body = Client(server.port).get("/healthz")
        assert status == 200 and json.loads(body)["node"] == "desk-node-7"


def test_unknown_paths_other_methods_and_a_failing_handler(served):
    server, client, health = served
    assert client.get("/nope")[0] == 404
    assert client.get("/", method="POST")[0] == 405
    status, headers, _ = client.get("/healthz", method="DELETE")
    assert status == 405 and headers["allow"] == "GET"
    health.broken = True
    status, _, body = client.get("/healthz")
    assert status == 500 and b"internal error" in body and b"broke" not in body
    health.broken = False
    assert client.get("/healthz")[0] == 200    # the server carries on


def test_a_keep_alive_connection_serves_several_requests_and_close_ends_it(sqlite_desk):
    server = WebServer("127.0.0.1:0", store=sqlite_desk.store, clock=sqlite_desk.clock, health=Health(),
                       metrics=METRICS)
    with server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        for path in ("/healthz", "/", "/api/status", "/?story=budget"):
            conn.request("GET", path)
            response = conn.getresponse()
            assert response.status == 200, path
            response.read()
        assert conn.sock is not None          # the same connection all along (HTTP/1.1 keep-alive)
    conn.close()
    server.close()                            # twice is harmless


class StuckCollector:
    """A collector that waits, as the ledger's does on a store that does not answer, until it is released."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def collect(self) -> Iterator[Metric]:
        self.entered.set()
        self.release.wait(60)
        yield GaugeMetricFamily("wirepub_store_up", "1 if the store answered this scrape.", value=1)


def test_a_scrape_waiting_on_the_store_holds_up_no_other_request(sqlite_desk):
    """/metrics is prometheus-client's ASGI app, which collects on the event loop; the registry is collected in
    a worker thread first, so /healthz (the probes) and the page answer while a scrape waits."""
    stuck = StuckCollector()
    registry = CollectorRegistry()
    registry.register(stuck)
    Gauge("wirepub_held_versions", "Story versions held under embargo.", registry=registry).set(3)
    with WebServer("127.0.0.1:0", store=sqlite_desk.store, clock=sqlite_desk.clock, health=Health(),
                   metrics=registry) as server, ThreadPoolExecutor(1) as pool:
        client = Client(server.port)
        try:
            scrape = pool.submit(client.get, "/metrics")
            assert stuck.entered.wait(10)
            assert client.get("/healthz")[0] == 200
            assert client.get("/api/status")[0] == 200
        finally:
            stuck.release.set()
        status, headers, body = scrape.result(timeout=10)
        assert status == 200 and b"wirepub_store_up 1.0" in body
        assert b"wirepub_held_versions 3.0" in body
        # prometheus-client's own app: OpenMetrics when asked for, ?name[]= to pick series
        status, headers, body = client.get("/metrics", {"Accept": "application/openmetrics-text"})
        assert headers["content-type"].startswith("application/openmetrics-text") and body.endswith(b"# EOF\n")
        status, headers, body = client.get("/metrics?name[]=wirepub_held_versions")
        assert status == 200 and b"wirepub_held_versions 3.0" in body and b"wirepub_store_up" not in body


def test_a_connection_that_sends_no_whole_request_is_closed_when_idle(sqlite_desk):
    """uvicorn only times out a connection idle after a response; one that never finishes a request is closed
    too, as http.server's socket timeout did."""
    with WebServer("127.0.0.1:0", store=sqlite_desk.store, clock=sqlite_desk.clock, health=Health(),
                   metrics=METRICS, idle_timeout=1) as server:
        silent = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        halfway = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        halfway.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")   # and never the blank line
        try:
            assert silent.recv(1024) == b""    # closed by the server (a timeout here raises)
            assert halfway.recv(1024) == b""
        finally:
            silent.close()
            halfway.close()
        assert Client(server.port).get("/healthz")[0] == 200


@contextmanager
def store_away(desk: Desk) -> Iterator[None]:
    """The desk's store stops answering, then comes back: its SQLite file gone (a folder where it was, so it
    cannot be opened, nor made anew), or its PostgreSQL database refusing connections, the open ones cut."""
    url = desk.store.engine.url
    desk.store.engine.dispose()
    if url.get_backend_name() == "sqlite":
        db = Path(str(url.database))
        aside = db.with_name(db.name + ".away")
        db.rename(aside)
        db.mkdir()
        try:
            yield
        finally:
            db.rmdir()
            aside.rename(db)
        return
    import psycopg

    from stores import PG_SERVER

    with psycopg.connect(PG_SERVER, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [url.database])
    try:
        yield
    finally:
        with psycopg.connect(PG_SERVER, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS true')


def test_while_the_store_is_away_the_page_says_so_and_refreshes_itself(desk, caplog):
    with WebServer("127.0.0.1:0", store=desk.store, clock=desk.clock, health=Health(), metrics=METRICS) as server:
        client = Client(server.port)
        assert client.get("/?story=harbour-fire")[0] == 200
        with store_away(desk):
            status, headers, body = client.get("/?story=harbour-fire")
            assert status == 503 and headers["content-type"] == "text/html; charset=utf-8"
            assert headers["retry-after"] == "10" and "default-src 'none'" in headers["content-security-policy"]
            doc = html.fromstring(body)
            assert doc.xpath("//meta[@http-equiv='refresh']/@content") == ["10"]
            said = " ".join(doc.xpath("string(//*[@id='store-away'])").lower().split())
            assert "the store is not answering; the page refreshes itself" in said
            assert b"internal error" not in body and b"Traceback" not in body and b"sqlalchemy" not in body.lower()

            status, headers, body = client.get("/api/status?story=harbour-fire")
            assert status == 503 and headers["content-type"] == "application/json"
            assert json.loads(body) == {"error": "the store is not answering; try again in a few seconds",
                                        "retry_after_seconds": 10}
        status, _, body = client.get("/?story=harbour-fire")          # back: the page as ever
        assert status == 200 and b"items/harbour-fire/v2.xml" in body
        assert client.get("/api/status")[0] == 200
    web = [r for r in caplog.records if r.name == "wirepub.web"]
    assert any(r.getMessage().startswith("status page: store unavailable error=") for r in web)
    assert not any(r.exc_info for r in web)       # said in one line, not as a failure with its traceback


@pytest.mark.parametrize("listen", ["0.0.0.0:8080", ":8080", "192.0.2.10:8080", "desk.example:8080",
                                    "[::]:8080"])
def test_open_to_the_network_without_a_token_is_refused(listen, sqlite_desk):
    with pytest.raises(ConfigError, match="would be open to the network; set WIREPUB_STATUS_TOKEN"):
        WebServer(listen, store=sqlite_desk.store, clock=sqlite_desk.clock, health=Health(), metrics=METRICS)


@pytest.mark.parametrize("listen", ["127.0.0.1", "127.0.0.1:http", "127.0.0.1:70000"])
def test_a_listen_that_is_no_host_and_port_is_refused(listen, sqlite_desk):
    with pytest.raises(ConfigError, match="HOST:PORT"):
        WebServer(listen, store=sqlite_desk.store, clock=sqlite_desk.clock, health=Health(), metrics=METRICS)


def test_localhost_without_a_token_is_open_to_this_machine(sqlite_desk):
    with WebServer("localhost:0", store=sqlite_desk.store, clock=sqlite_desk.clock, health=Health(),
                   metrics=METRICS) as server:
        assert Client(server.port).get("/")[0] == 200


def test_on_loopback_the_server_answers_only_requests_that_name_this_machine(sqlite_desk):
    """DNS rebinding: a page from evil.example points its own name at 127.0.0.1, and the browser then asks this
    server for it with `Host: evil.example` and hands the answer to that page. Without a token the server
    answers only requests whose Host names this machine; anything else gets 421."""
    with WebServer("127.0.0.1:0", store=sqlite_desk.store, clock=sqlite_desk.clock, health=Health(),
                   metrics=METRICS) as server:
        client, port = Client(server.port), server.port
        status, headers, body = client.get("/", {"Host": "evil.example"})
        assert status == 421 and b"harbour-fire" not in body and b"this machine" in body
        for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", f"localhost.evil.example:{port}",
                     "192.0.2.10", "[2001:db8::1]", "::1", f"localhost:{port}x", ""):
            for path in ("/", "/api/status", "/metrics", "/healthz", "/nope"):
                assert client.get(path, {"Host": host})[0] == 421, (host, path)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:   # HTTP/1.0 may leave Host out
            raw.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
            assert raw.recv(1024).startswith(b"HTTP/1.1 421 ")
        for host in ("localhost", f"localhost:{port}", "LocalHost", "127.0.0.1", f"127.0.0.1:{port}", "[::1]",
                     f"[::1]:{port}", f"127.0.0.2:{port}"):
            status, _, body = client.get("/", {"Host": host})
            assert status == 200 and b"harbour-fire" in body, host
        assert client.get("/api/status")[0] == 200   # http.client's own Host: 127.0.0.1:PORT


def test_with_a_token_the_token_decides_not_the_host(served):
    """Beyond loopback (a Service name, a pod's address) every Host is fine; the token is what counts."""
    server, client, _ = served
    assert client.get("/", {"Host": "wirepub.newsroom.svc:8787"})[0] == 401
    assert client.get("/", {"Host": "wirepub.newsroom.svc:8787", "Authorization": f"Bearer {TOKEN}"})[0] == 200
    assert client.get("/healthz", {"Host": "10.1.2.3:8787"})[0] == 200


# --- wirepub status --html -----------------------------------------------------------------------------------

def test_status_html_writes_the_same_view_as_a_static_page(sqlite_desk, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "site" / "status.html"
    out.parent.mkdir()
    runner = CliRunner()
    result = runner.invoke(main, ["--config", str(sqlite_desk.config_path), "status", "--html", str(out)])
    assert result.exit_code == 1, result.output          # something is dead: the same exit status as `status`
    assert f"wrote {out}" in result.output
    doc = html.fromstring(out.read_text(encoding="utf-8"))
    assert not doc.xpath("//meta[@http-equiv='refresh'] | //form")
    assert doc.xpath("string(//tr[@data-partner='wire']/td[contains(@class, 'delivered')])") == "6"
    assert doc.xpath("//tr[@data-partner='gone']/@class") == ["problem-dead"]

    result = runner.invoke(main, ["--config", str(sqlite_desk.config_path), "status", "--html", str(out),
                                  "--story", "harbour-fire"])
    assert result.exit_code == 1, result.output
    doc = html.fromstring(out.read_text(encoding="utf-8"))
    assert doc.xpath("//table[@class='history']/@data-version") == ["2", "1"]
    assert not list(out.parent.glob(".*.tmp"))           # written whole, then renamed

    result = runner.invoke(main, ["--config", str(sqlite_desk.config_path), "status", "--story", "harbour-fire"])
    assert result.exit_code == 2 and "--story goes with --html" in result.output


# --- in a real browser ---------------------------------------------------------------------------------------

CHROMIUM = os.environ.get("WIREPUB_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("WIREPUB_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")


def artefacts_dir() -> Path:
    """Where browser screenshots are kept: $WIREPUB_TEST_ARTIFACTS, else build/test-artifacts (git-ignored)."""
    folder = Path(os.environ.get("WIREPUB_TEST_ARTIFACTS") or REPO / "build" / "test-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="the browser test needs the selenium package: pip install -e '.[test]'")
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (os.access(path, os.X_OK) or shutil.which(Path(path).name) == path):
            pytest.skip(f"{path} is missing: apt-get install chromium chromium-driver "
                        f"(`make test` does it as root, see scripts/test-services.sh; {package})")
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_AVOID_STATS", "true")    # Selenium Manager is not used here (paths are given); be sure
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-extensions", "--window-size=1400,1100", "--lang=en-US"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def test_the_desk_reads_the_page_in_a_real_browser(sqlite_desk, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    server = WebServer("127.0.0.1:0", store=sqlite_desk.store, clock=sqlite_desk.clock, health=Health(),
                       metrics=METRICS, token=TOKEN)
    with server:
        base = f"http://127.0.0.1:{server.port}"
        browser.get(f"{base}/?token={TOKEN}")                      # the token once; then the cookie
        wait = WebDriverWait(browser, 20)
        wait.until(ec.presence_of_element_located((By.ID, "partners-table")))
        assert TOKEN not in browser.current_url and TOKEN not in browser.page_source

        def count(partner: str, column: str) -> str:
            cell = browser.find_element(By.CSS_SELECTOR, f"tr[data-partner='{partner}'] td.{column}")
            return str(cell.text)

        assert [count("wire", c) for c in ("pending", "delivered", "failed", "dead")] == ["0", "6", "0", "0"]
        assert [count("down", c) for c in ("failed", "dead", "oldest")] == ["2", "0", "5 min"]
        assert count("gone", "dead") == "2"
        dead_row = browser.find_element(By.CSS_SELECTOR, "tr[data-partner='gone']")
        assert dead_row.value_of_css_property("background-color") != browser.find_element(
            By.CSS_SELECTOR, "tr[data-partner='wire']").value_of_css_property("background-color")

        field = browser.find_element(By.ID, "story")
        field.send_keys("harbour-fire")
        field.submit()
        wait.until(ec.presence_of_element_located((By.ID, "story-history")))
        assert browser.current_url == f"{base}/?story=harbour-fire"
        tables = browser.find_elements(By.CSS_SELECTOR, "table.history")
        assert [t.get_attribute("data-version") for t in tables] == ["2", "1"]
        v2 = {row.get_attribute("data-partner"): row.text
              for row in tables[0].find_elements(By.CSS_SELECTOR, "tbody tr")}
        assert "delivered" in v2["wire"] and "items/harbour-fire/v2.xml" in v2["wire"]
        assert "dead" in v2["gone"] and "failed" in v2["down"]

        shot = artefacts_dir() / "status-page.png"
        height = int(browser.execute_script("return document.documentElement.scrollHeight"))
        browser.set_window_size(1400, max(1100, height + 200))   # the whole page, window frame and all
        assert browser.save_screenshot(str(shot))
        print(f"status page screenshot: {shot}")
        assert shot.stat().st_size > 10_000


def test_the_story_view_fits_a_1280_pixel_screen(sqlite_desk, browser):
    """Before: the story view's last-error column was cut off at 1280 px (the page scrolled sideways)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from wirepub.store import deliveries

    long_error = ("https://ingest.partner-with-a-long-name.example.net/wire/incoming/items/harbour-fire/v2.xml: "
                  "POST items/harbour-fire/v2.xml: the receiver answered HTTP 503 Service Unavailable: "
                  + "upstream-connect-error-or-disconnect/reset-before-headers." * 4)
    with sqlite_desk.store.engine.begin() as c:                 # a real error text from a partner, long and unbroken
        c.execute(deliveries.update().where(deliveries.c.partner == "down").values(
            last_error=long_error, destination="sftp://wirepub@ingest.partner-with-a-long-name.example.net:2222/"
                                               "incoming/wire/newsml-g2/harbour-and-port-authority-desk"))
    server = WebServer("127.0.0.1:0", store=sqlite_desk.store, clock=sqlite_desk.clock, health=Health(),
                       metrics=METRICS, token=None)
    with server:
        browser.set_window_size(1280, 900)
        browser.get(f"http://127.0.0.1:{server.port}/?story=harbour-fire")
        WebDriverWait(browser, 20).until(ec.presence_of_element_located((By.ID, "story-history")))
        inner = int(browser.execute_script("return document.documentElement.clientWidth"))  # without scrollbar
        wide = int(browser.execute_script("return document.documentElement.scrollWidth"))
        assert wide <= inner, f"the page is {wide} px wide in a {inner} px window"
        errors = browser.find_elements(By.CSS_SELECTOR, "table.history td.error")
        assert errors and all(e.rect["x"] + e.rect["width"] <= inner for e in errors)   # not cut off ...
        assert all(e.rect["width"] >= 180 for e in errors)                               # ... nor squeezed
        stories = browser.find_element(By.ID, "stories-table").text
        assert "harbour-fire v2" in stories                       # stories listed by headline too


def test_misconfigured_partners_kills_and_headline_search(sqlite_desk):
    from wirepub.vocabulary import NoticeKind

    store, now = sqlite_desk.store, sqlite_desk.clock.now()
    store.notices.raise_(NoticeKind.MISCONFIGURED, "s3-partner", "node-1", "option secret_env names PARTNER_KEY, "
                         "which is not set", now)
    view = status_view(store, now, story="v2")                    # no such id; a headline contains it
    page = render_status_page(view, refresh_seconds=None)
    assert 'data-partner="s3-partner" class="problem-misconfigured"' in page and "PARTNER_KEY" in page
    assert "harbour-fire" in [m.story_id for m in view.matches]
    assert "all partners up to date" not in page


def test_a_document_a_kill_replaced_is_marked(tmp_path):
    from conftest import Workspace

    ws = Workspace(tmp_path)
    ws.drop("a.json", {"id": "a", "headline": "A", "body": "B", "version_created": "2026-11-25T10:00:00Z"})
    ws.push()
    ws.drop("k.json", {"id": "a", "version": 2, "status": "withdrawn", "headline": "A", "body": "",
                       "version_created": "2026-11-25T11:00:00Z"})
    assert ws.push().ok
    page = render_status_page(status_view(ws.store, ws.clock.now(), story="a"), refresh_seconds=None)
    assert "replaced by the kill notice" in page
    ws.store.close()
