"""Deliveries that are never lost: `wirepub push` killed with SIGKILL at random moments, then run again, and
every document reaches every destination. Checked from the receivers' own records (the HTTP receiver's
requests, the folder on disk, every version of every object in a versioned bucket), not from wirepub's
word: the only repeats allowed are re-sends of the same bytes under the same idempotency key.

Real processes, real servers on 127.0.0.1. The kill moments come from a seeded generator (kill_schedule):
SEED unless the environment variable WIREPUB_CRASH_SEED gives another. A failure says its seed in its message;
to replay that run, give the same seed:

    WIREPUB_CRASH_SEED=1234 .venv/bin/python -m pytest tests/test_crash.py

The same seed gives the same stories in the same waves and the same kill moments (each a delay after the
push starts, or a number of the receiver's requests plus a short delay); only the machine's own timing varies
between two runs. To try moments the default seed never picks: WIREPUB_CRASH_SEED=$RANDOM.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from wirepub_testkit.servers.http import Receiver
from wirepub_testkit.servers.s3 import admin_client

WIREPUB = [sys.executable, "-m", "wirepub.cli"]
SEED = 20261125            # the kill schedule's seed unless WIREPUB_CRASH_SEED says another
SEED_ENV = "WIREPUB_CRASH_SEED"
STORIES = 80
FIRST_WAVE = 20            # stories in the hot folder before the first run
WAVE = 3                   # stories added before each later run, so that every run has new work
MIN_KILLS = 20
MAX_RUNS = 80              # bound on the crash loop (runs that finish before their kill do not count)
RUN_LIMIT = 60.0           # seconds one push may take before the test gives up on it
FINAL_RUNS = 5             # bound on the runs to completion after the last kill
PREFIX = "wire"            # the bucket partner's key prefix


def story(i: int) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": f"crash-{i:03d}",
        "headline": f"Story {i} of the crash test",
        "body": f"<p>Paragraph one of story {i}.</p><p>Paragraph two, with an ampersand &amp; a quote.</p>",
        "first_created": f"2026-11-25T{8 + i // 60:02d}:{i % 60:02d}:00Z",
        "version_created": f"2026-11-25T{8 + i // 60:02d}:{i % 60:02d}:00Z",
    }
    if i % 2 == 0:
        doc["version"] = 1  # the odd ones are numbered by wirepub: that must survive a crash too
    return doc


def item_path(i: int) -> str:
    return f"items/crash-{i:03d}/v1.xml"


def write_config(root: Path, receiver: Receiver, endpoint: str, bucket: str) -> None:
    """Three partners: a folder (every format), an HTTP receiver (items and a JSON Feed), a bucket (items)."""
    (root / "wirepub.toml").write_text(f"""\
[channel]
max_items = 100

[delivery]
base_delay = 0.01
max_delay = 0.05

[[partners]]
name = "folder"
destinations = ["file:out"]

[[partners]]
name = "push"
formats = ["newsml-g2", "jsonfeed"]
destinations = [{{url = "{receiver.url}/ingest", read_timeout = 10}}]

[[partners]]
name = "bucket"
formats = ["newsml-g2"]
destinations = [{{url = "s3://{bucket}/{PREFIX}", endpoint_url = "{endpoint}"}}]
""")


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in (
        "http_proxy", "https_proxy", "all_proxy", "wirepub_config")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def wirepub(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*WIREPUB, *args], cwd=cwd, env=child_env(), capture_output=True, text=True,
                          timeout=RUN_LIMIT)


def start_push(root: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([*WIREPUB, "push"], cwd=root, env=child_env(), stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT)


def item_files(root: Path) -> dict[str, str]:
    """What the folder partner has: item path -> sha256 of its bytes (temporary dot-files left out)."""
    out = root / "out"
    found = {}
    for path in (out / "items").rglob("*") if (out / "items").is_dir() else []:
        if path.is_file() and not path.name.startswith("."):
            found[path.relative_to(out).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def bucket_items(endpoint: str, bucket: str) -> dict[str, str]:
    """What the bucket partner has now: item path -> ETag (the MD5 of its bytes)."""
    client = admin_client(endpoint)
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{PREFIX}/items/"):
        for obj in page.get("Contents", []):
            found[obj["Key"].removeprefix(f"{PREFIX}/")] = obj["ETag"]
    return found


@dataclass(frozen=True)
class KillMoment:
    """When to SIGKILL one push: `delay` seconds after it starts; or, with `requests`, just after the receiver
    has seen that many more requests (mid-delivery), and then `delay` seconds more. Drawn from the seed."""
    delay: float
    requests: int | None = None


def kill_schedule(seed: int) -> Iterator[KillMoment]:
    """The kill moments of one crash run, one per push, all from random.Random(seed): half of them a random
    delay (start-up, intake, rendering, the ledger's transactions), half a random number of requests."""
    rng = random.Random(seed)
    while True:
        if rng.random() < 0.5:
            yield KillMoment(delay=rng.uniform(0.05, 1.5))
        else:
            requests = rng.randint(1, WAVE + 1)
            yield KillMoment(delay=rng.uniform(0, 0.03), requests=requests)


def kill_at(proc: subprocess.Popen[bytes], receiver: Receiver, moment: KillMoment) -> bool:
    """SIGKILL the push at this moment. True if the process was still running when killed."""
    deadline = time.monotonic() + RUN_LIMIT
    if moment.requests is None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=moment.delay)
    else:
        seen = len(receiver.requests)
        while (proc.poll() is None and len(receiver.requests) < seen + moment.requests
               and time.monotonic() < deadline):
            time.sleep(0.002)
        time.sleep(moment.delay)
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=RUN_LIMIT)
    return True


def complete(request: Any) -> bool:
    return len(request.body) == int(request.header("Content-Length") or 0)


def stories_in(feed: bytes) -> set[str]:
    return {item["id"].rsplit(":", 1)[-1] for item in json.loads(feed)["items"]}


@pytest.fixture
def crash_seed() -> int:
    """SEED, or the seed WIREPUB_CRASH_SEED gives (to replay a failed run, or to try other moments)."""
    raw = os.environ.get(SEED_ENV, "").strip()
    if not raw:
        return SEED
    try:
        return int(raw)
    except ValueError:
        pytest.fail(f"{SEED_ENV}={raw!r}: the crash test's seed must be an integer, such as {SEED}")


@contextlib.contextmanager
def says_its_seed(seed: int) -> Iterator[None]:
    """A failure inside gets a note naming the seed and the command that replays the run."""
    try:
        yield
    except Exception as exc:
        exc.add_note(f"crash-test seed {seed}; replay this run with: "
                     f"{SEED_ENV}={seed} .venv/bin/python -m pytest tests/test_crash.py")
        raise


def test_the_same_seed_gives_the_same_kill_moments() -> None:
    first = list(islice(kill_schedule(1234), 200))
    assert first == list(islice(kill_schedule(1234), 200))
    assert first != list(islice(kill_schedule(1235), 200))
    # Both kinds of moment, each within its bounds, so that a seed replays kills at the same points of a run
    # (these are the drawn delays, not times measured).
    assert {m.requests is None for m in first} == {True, False}
    assert all(0.05 <= m.delay <= 1.5 for m in first if m.requests is None)
    assert all(1 <= m.requests <= WAVE + 1 and 0 <= m.delay <= 0.03 for m in first if m.requests is not None)


def test_a_failure_names_its_seed_and_how_to_replay_it() -> None:
    with pytest.raises(AssertionError) as caught, says_its_seed(1234):
        raise AssertionError("a document vanished")
    assert f"{SEED_ENV}=1234 " in "\n".join(caught.value.__notes__)


def test_push_killed_at_random_moments_loses_nothing(crash_seed: int, tmp_path: Path, http_receiver: Receiver,
                                                     s3_server: str, s3_bucket: str) -> None:
    with says_its_seed(crash_seed):
        push_killed_at_random_moments(tmp_path, http_receiver, s3_server, s3_bucket, kill_schedule(crash_seed))


def push_killed_at_random_moments(tmp_path: Path, http_receiver: Receiver, s3_server: str, s3_bucket: str,
                                  moments: Iterator[KillMoment]) -> None:
    """The crash test proper: pushes killed at `moments`, then every partner checked for every document."""
    receiver = http_receiver
    receiver.respond_with(200, hang=0.03)  # a little time per request, so that kills land mid-delivery too
    # A versioned bucket keeps every PUT: the store's own record of each write, with its metadata.
    admin_client(s3_server).put_bucket_versioning(Bucket=s3_bucket, VersioningConfiguration={"Status": "Enabled"})
    write_config(tmp_path, receiver, s3_server, s3_bucket)
    stories = tmp_path / "stories"
    stories.mkdir()
    log = tmp_path / "push.log"

    dropped = 0

    def drop(count: int) -> None:
        nonlocal dropped
        for i in range(dropped, min(dropped + count, STORIES)):
            (stories / f"crash-{i:03d}.json").write_text(json.dumps(story(i)))
        dropped = min(dropped + count, STORIES)

    drop(FIRST_WAVE)
    kills = runs = 0
    seen_on_disk: dict[str, str] = {}
    seen_in_bucket: dict[str, str] = {}
    while (kills < MIN_KILLS or dropped < STORIES) and runs < MAX_RUNS:
        runs += 1
        kills += kill_at(start_push(tmp_path, log), receiver, next(moments))
        # Between runs, what each partner holds may grow but a document once there never changes.
        for now, before, where in ((item_files(tmp_path), seen_on_disk, "folder"),
                                   (bucket_items(s3_server, s3_bucket), seen_in_bucket, "bucket")):
            changed = {p for p in now.keys() & before.keys() if now[p] != before[p]}
            assert not changed, f"run {runs}: {where} documents changed bytes: {sorted(changed)}"
            vanished = before.keys() - now.keys()
            assert not vanished, f"run {runs}: {where} documents vanished: {sorted(vanished)}"
            before.update(now)
        drop(WAVE)
    assert kills >= MIN_KILLS, f"only {kills} of {runs} runs were still running when killed"

    # Run to completion: until a push succeeds and the ledger has nothing open. The leases a killed push held
    # (daemon.lease, 60 s by default) are given back at once by the next run, which sees their owner is gone.
    for _ in range(FINAL_RUNS):
        final = wirepub("push", cwd=tmp_path)
        rows = json.loads(wirepub("status", "--json", cwd=tmp_path).stdout)
        if final.returncode == 0 and not any(r["pending"] or r["failed"] for r in rows):
            break
    assert final.returncode == 0, final.stdout + final.stderr

    expected = {item_path(i) for i in range(STORIES)}
    ids = {f"crash-{i:03d}" for i in range(STORIES)}

    # The HTTP partner: every item arrived; every repeat is the same bytes under the same key.
    # A request cut off mid-body by the kill is recorded as far as it came; a receiver discards it (its body is
    # shorter than its Content-Length), so only complete requests count.
    posts = [r for r in receiver.requests if r.method == "POST" and complete(r)]
    by_path: dict[str, list[Any]] = defaultdict(list)
    for r in posts:
        by_path[r.path.removeprefix("/ingest/")].append(r)
    assert set(by_path) == expected | {"feeds/jsonfeed.json"}
    bodies: dict[str, bytes] = {}
    for path in sorted(expected):
        got = by_path[path]
        assert {r.body for r in got} == {got[0].body}, f"{path} was POSTed with different bodies"
        assert {r.header("Idempotency-Key") for r in got} == {got[0].header("Idempotency-Key")}, path
        assert got[0].header("Idempotency-Key"), path
        bodies[path] = got[0].body
    keys_by_body: dict[str, set[bytes]] = defaultdict(set)
    for r in posts:
        keys_by_body[r.header("Idempotency-Key") or ""].add(r.body)
    reused = {k for k, b in keys_by_body.items() if len(b) > 1}
    assert not reused, f"one idempotency key carried different bytes: {reused}"
    # Each item is a NewsML-G2 document of its own story.
    for path, body in bodies.items():
        guid = etree.fromstring(body).get("guid")
        assert guid is not None and guid.endswith(":" + path.split("/")[1]), (path, guid)
    # A feed is POSTed after the items it lists, and the last one lists every story.
    posted: set[str] = set()
    for r in posts:
        path = r.path.removeprefix("/ingest/")
        if path.startswith("items/"):
            posted.add(path.split("/")[1])
        else:
            missing = stories_in(r.body) - posted
            assert not missing, f"a feed listing {sorted(missing)} arrived before their items"
    assert stories_in(by_path["feeds/jsonfeed.json"][-1].body) == ids
    # The test's own reach: some kills landed between a document's arrival and the ledger's record of it.
    assert any(len(by_path[p]) > 1 for p in expected), "no kill landed mid-delivery: nothing was re-sent"

    # The folder: every item, byte for byte what the other partners got; feeds listing every story.
    on_disk = item_files(tmp_path)
    assert set(on_disk) == expected
    # Anything else there is a temporary file a killed write left behind: hidden, and never a document's name.
    others = [p for p in (tmp_path / "out").rglob("*") if p.is_file() and p.relative_to(tmp_path / "out").as_posix()
              not in expected | {"feeds/rss.xml", "feeds/jsonfeed.json"}]
    assert all(p.name.startswith(".") and p.name.endswith(".tmp") for p in others), others
    for path in expected:
        assert (tmp_path / "out" / path).read_bytes() == bodies[path], path
    assert stories_in((tmp_path / "out/feeds/jsonfeed.json").read_bytes()) == ids
    rss = (tmp_path / "out/feeds/rss.xml").read_bytes()
    assert all(f"urn:newsml:wirepub.example:{i}".encode() in rss for i in ids)

    # The bucket: every version of every object, each the same bytes under the same key.
    client, bucket = admin_client(s3_server), s3_bucket
    versions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=f"{PREFIX}/"):
        for v in page.get("Versions", []):
            versions[v["Key"].removeprefix(f"{PREFIX}/")].append(v)
        assert not page.get("DeleteMarkers"), "nothing is ever deleted here"
    assert set(versions) == expected
    for path, written in versions.items():
        assert {v["ETag"] for v in written} == {written[0]["ETag"]}, f"{path} was written with other bytes"
        keys = {client.head_object(Bucket=bucket, Key=f"{PREFIX}/{path}", VersionId=v["VersionId"])
                ["Metadata"].get("wirepub-idempotency-key") for v in written}
        assert len(keys) == 1 and None not in keys, (path, keys)
        got = client.get_object(Bucket=bucket, Key=f"{PREFIX}/{path}")["Body"].read()
        assert got == bodies[path], path

    # The ledger agrees: everything delivered, nothing waiting, failed or dead.
    status = wirepub("status", "--json", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    rows = {r["partner"]: r for r in json.loads(status.stdout)}
    assert set(rows) == {"folder", "push", "bucket"}
    for row in rows.values():
        assert (row["pending"], row["failed"], row["dead"]) == (0, 0, 0), row
        assert row["delivered"] >= STORIES, row
        assert row["last_error"] is None, row


def test_a_push_run_again_right_after_a_kill_delivers_what_the_killed_push_had_taken(
        tmp_path: Path, http_receiver: Receiver) -> None:  # noqa: F811
    receiver = http_receiver
    receiver.respond_with(200, hang=RUN_LIMIT, times=1)  # the first attempt gets no answer: killed waiting for it
    (tmp_path / "wirepub.toml").write_text(
        f'[[partners]]\nname = "push"\nformats = ["newsml-g2"]\n'
        f'destinations = [{{url = "{receiver.url}/ingest", read_timeout = {RUN_LIMIT}}}]\n')
    (tmp_path / "stories").mkdir()
    (tmp_path / "stories/crash-000.json").write_text(json.dumps(story(0)))

    proc = start_push(tmp_path, tmp_path / "push.log")
    deadline = time.monotonic() + RUN_LIMIT
    while proc.poll() is None and not receiver.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None and len(receiver.requests) == 1, (tmp_path / "push.log").read_text()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=RUN_LIMIT)

    again = wirepub("push", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    first, *resent = [r for r in receiver.requests if complete(r)]
    ledger = wirepub("status", "--json", cwd=tmp_path).stdout
    assert resent, f"the document was not sent again; push said {again.stdout!r}; the ledger says {ledger}"
    assert {(r.path, r.body, r.header("Idempotency-Key")) for r in resent} == {
        (first.path, first.body, first.header("Idempotency-Key"))}
    [row] = json.loads(wirepub("status", "--json", cwd=tmp_path).stdout)
    assert (row["delivered"], row["pending"]) == (1, 0), row
