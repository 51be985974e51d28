"""Fan-out benchmark (issue 3): stories to partners over S3 and HTTPS on loopback, against the ceiling.

Fans N stories (default 1,000) out to P partners (default 10: half s3://, half https://), one item format
(newsml-g2) per partner and no feeds, so one push makes exactly N x P item deliveries (10,000). Measured in
the same run, interleaved round by round:

- wirepub: ``app.push()`` from a hot folder into a fresh SQLite ledger; the delivery phase
  (the ``Deliverer`` with its ledger bookkeeping) is timed on its own, and the whole
  push (intake, render, validate, enqueue, deliver) too.
- ceiling: the very bytes wirepub delivered (taken from its ledger), to the same buckets, keys and URLs,
  uploaded with bare boto3 ``put_object`` and bare httpx POSTs from a ThreadPoolExecutor with the same
  number of requests in flight as wirepub allows (min(delivery.concurrency, partners x partner_concurrency)).

Each round runs three fan-outs: mixed (all partners), S3 partners only, HTTPS partners only. Medians over
rounds; the target is wirepub's delivery phase at >= 70% of the ceiling.

Servers (from wirepub_testkit, as in the tests): moto's S3 server as a subprocess (servers.s3.MotoServer) and
the HTTPS Receiver (servers.http.tls_receiver, certificate from a throwaway trustme CA, given to wirepub as
ca_file) in a child process of its own, so its request handling does not share this process's GIL. All on 127.0.0.1.
moto saturates at ~250-280 put_object/s on its own CPU (PERFORMANCE-NOTES.md): S3 figures measure moto.

    .venv/bin/python bench/fanout_bench.py                       # 1,000 stories x 10 partners, 3 rounds
    .venv/bin/python bench/fanout_bench.py --stories 100 --partners 4 --rounds 1     # a quick look
    .venv/bin/python bench/fanout_bench.py --profile out.prof    # cProfile of wirepub's mixed push
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import httpx
import sqlalchemy as sa
from botocore.config import Config as BotocoreConfig

from wirepub import app
from wirepub.config import Config, load_config
from wirepub.partners import DeliveryPolicy
from wirepub.store import Store, deliveries, documents
from wirepub_testkit.servers.http import Receiver, tls_receiver
from wirepub_testkit.servers.s3 import REGION, MotoServer, dummy_aws_env

FORMAT = "newsml-g2"
S3_PREFIX = "wire"
TARGET = 0.90        # issue 13, item 7: deliveries at 0.9x the bare ceiling ...
PUSH_TARGET = 0.80   # ... and the whole push at 0.8x
SETUPS = ("mixed", "s3", "https")
WARMUP_STORIES = 20

# --- stories ----------------------------------------------------------------------------------------------

WORDS = (
    "council", "budget", "river", "harbour", "minister", "election", "storm", "vaccine", "trial", "market",
    "union", "strike", "court", "drought", "festival", "airport", "railway", "bridge", "hospital", "school",
    "treaty", "summit", "ceasefire", "refugee", "border", "energy", "prices", "inflation", "wages", "tourism",
    "fishing", "harvest", "museum", "stadium", "league", "final", "record",
)
PLACES = (("Lyon", "France"), ("Osaka", "Japan"), ("Cairo", "Egypt"), ("Quito", "Ecuador"), ("Perth", "Australia"))
SUBJECTS = ("politics", "economy", "sport", "weather", "health", "culture", "science", "crime")


def story_document(i: int, rng: random.Random) -> dict[str, Any]:
    """A valid story (schemas/story.schema.json) with a ~2.5 KB HTML body."""
    def sentence() -> str:
        words = [rng.choice(WORDS) for _ in range(rng.randint(8, 18))]
        return " ".join(words).capitalize() + "."

    paragraphs = ["<p>" + " ".join(sentence() for _ in range(rng.randint(3, 5))) + "</p>" for _ in range(6)]
    place, country = rng.choice(PLACES)
    minute = i % (24 * 60)
    when = f"2026-11-24T{minute // 60:02d}:{minute % 60:02d}:00Z"
    return {
        "id": f"bench-{i:05d}",
        "headline": sentence()[:120],
        "summary": sentence(),
        "body": "".join(paragraphs),
        "byline": "Bench Reporter",
        "dateline": {"place": place, "country": country},
        "language": "en",
        "subjects": [*rng.sample(SUBJECTS, 2), {"name": "economy", "code": "medtop:04000000"}],
        "keywords": rng.sample(WORDS, 4),
        "urgency": rng.randint(3, 6),
        "genre": "Current",
        "first_created": when,
        "version_created": when,
    }


def write_stories(folder: Path, docs: list[dict[str, Any]]) -> None:
    folder.mkdir(parents=True)
    for doc in docs:
        (folder / f"{doc['id']}.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


# --- partners and config -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PartnerSpec:
    name: str
    scheme: str            # s3 | https | http
    bucket: str = ""       # s3
    url: str = ""          # http(s): the destination URL (documents go to url/<path>)

    @property
    def destination(self) -> str:
        return f"s3://{self.bucket}/{S3_PREFIX}" if self.scheme == "s3" else self.url


def partner_specs(count: int, receiver_url: str) -> list[PartnerSpec]:
    n_s3 = (count + 1) // 2
    specs = [PartnerSpec(f"s3-{i}", "s3", bucket=f"bench-s3-{i}") for i in range(n_s3)]
    scheme = receiver_url.split("://", 1)[0]
    specs += [PartnerSpec(f"{scheme}-{i}", scheme, url=f"{receiver_url}/p{i}") for i in range(count - n_s3)]
    return specs


def _q(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string for what we write here


def write_config(root: Path, specs: list[PartnerSpec], *, endpoint: str, ca_file: Path | None,
                 concurrency: int) -> Path:
    lines = ['[source]', 'path = "stories"', '', '[store]', 'url = "sqlite:///ledger.db"', '',
             '[delivery]', f'concurrency = {concurrency}', '']
    for spec in specs:
        lines += ['[[partners]]', f'name = {_q(spec.name)}', f'formats = [{_q(FORMAT)}]', '',
                  '[[partners.destinations]]', f'url = {_q(spec.destination)}']
        if spec.scheme == "s3":
            lines += [f'endpoint_url = {_q(endpoint)}', f'region = {_q(REGION)}']
        elif ca_file is not None:
            lines += [f'ca_file = {_q(str(ca_file))}']
        lines.append('')
    path = root / "wirepub.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def in_flight(config: Config) -> int:
    """How many deliveries wirepub can have in flight at once: the ceiling gets the same."""
    per_partner = sum(p.delivery.partner_concurrency for p in config.partners)
    return min(config.delivery.concurrency, per_partner)


# --- the HTTPS receiver, in a child process ------------------------------------------------------------------

def _receiver_main(conn: Connection, tls: bool, ca_dir: str) -> None:
    receiver = tls_receiver(Path(ca_dir)) if tls else Receiver()
    conn.send((receiver.url, str(receiver.ca_file) if receiver.ca_file else None))
    try:
        while True:
            command = conn.recv()
            if command == "count":
                counts: dict[str, int] = {}
                for r in receiver.requests:
                    if r.method == "POST":
                        first = r.path.split("/")[1]
                        counts[first] = counts.get(first, 0) + 1
                conn.send((counts, len(receiver.errors)))
            elif command == "clear":
                receiver.clear()
                conn.send("ok")
            else:
                break
    finally:
        receiver.stop()
        conn.send("stopped")


class ReceiverProcess:
    def __init__(self, tls: bool, ca_dir: Path) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_receiver_main, args=(child, tls, str(ca_dir)),
                                   name="bench-receiver", daemon=True)
        self.process.start()
        if not self._conn.poll(30):
            self.stop()
            raise RuntimeError("the HTTPS receiver did not start within 30 s")
        url, ca_file = self._conn.recv()
        self.url: str = url
        self.ca_file: Path | None = Path(ca_file) if ca_file else None

    def _ask(self, command: str) -> Any:
        self._conn.send(command)
        if not self._conn.poll(60):
            raise RuntimeError(f"the receiver did not answer {command!r}")
        return self._conn.recv()

    def counts(self) -> tuple[dict[str, int], int]:
        counts, errors = self._ask("count")
        return counts, errors

    def clear(self) -> None:
        self._ask("clear")

    def stop(self) -> None:
        if self.process.is_alive():
            try:
                self._conn.send("stop")
                self._conn.poll(10)
            except (OSError, EOFError):
                pass
            self.process.join(timeout=10)
            if self.process.is_alive():
                self.process.terminate()
                self.process.join(timeout=5)


# --- moto --------------------------------------------------------------------------------------------------

def s3_client(endpoint: str) -> Any:
    """The client configuration wirepub's S3 transport uses for an endpoint_url (path style, MD5 not CRC)."""
    config = BotocoreConfig(connect_timeout=5, read_timeout=30, max_pool_connections=32,
                            retries={"mode": "standard", "total_max_attempts": 2},
                            s3={"addressing_style": "path"},
                            request_checksum_calculation="when_required",
                            response_checksum_validation="when_required")
    return boto3.session.Session().client("s3", endpoint_url=endpoint, region_name=REGION, config=config)


def reset_s3(moto: Any, specs: list[PartnerSpec]) -> None:
    """An empty moto (so its memory does not grow round by round) with the partners' buckets."""
    moto.post("/moto-api/reset", b"")
    admin = s3_client(moto.endpoint)
    for spec in specs:
        if spec.scheme == "s3":
            admin.create_bucket(Bucket=spec.bucket)
    admin.close()


def s3_counts(endpoint: str, specs: list[PartnerSpec]) -> dict[str, int]:
    admin = s3_client(endpoint)
    counts = {}
    for spec in specs:
        if spec.scheme == "s3":
            pages = admin.get_paginator("list_objects_v2").paginate(Bucket=spec.bucket, Prefix=S3_PREFIX + "/")
            counts[spec.name] = sum(page.get("KeyCount", 0) for page in pages)
    admin.close()
    return counts


# --- one phase ---------------------------------------------------------------------------------------------

@dataclass
class Phase:
    setup: str
    who: str                     # wirepub | ceiling
    deliveries: int
    seconds: float               # wirepub: delivery phase; ceiling: all uploads
    push_seconds: float | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.deliveries / self.seconds if self.seconds else 0.0

    @property
    def push_rate(self) -> float | None:
        return self.deliveries / self.push_seconds if self.push_seconds else None


@dataclass(frozen=True)
class Doc:
    partner: str
    path: str
    body: bytes
    media_type: str


def workdir(parent: Path, name: str) -> Path:
    """A fresh folder for one phase (under the run's temporary directory, removed at the end)."""
    return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=parent))


@dataclass
class Env:
    moto: Any
    receiver: ReceiverProcess
    specs: list[PartnerSpec]
    stories: list[dict[str, Any]]
    concurrency: int
    scratch: Path

    def setup_specs(self, setup: str) -> list[PartnerSpec]:
        if setup == "s3":
            return [s for s in self.specs if s.scheme == "s3"]
        if setup == "https":
            return [s for s in self.specs if s.scheme != "s3"]
        return list(self.specs)

    def reset(self, specs: list[PartnerSpec]) -> None:
        if any(s.scheme == "s3" for s in specs):
            reset_s3(self.moto, specs)
        self.receiver.clear()

    def check(self, specs: list[PartnerSpec], expected_each: int) -> list[str]:
        """What actually arrived: every partner must have every document (counted outside the timing)."""
        problems = []
        got = s3_counts(self.moto.endpoint, specs) if any(s.scheme == "s3" for s in specs) else {}
        http_counts, receiver_errors = self.receiver.counts()
        for spec in specs:
            n = got.get(spec.name, 0) if spec.scheme == "s3" else http_counts.get(spec.url.rsplit("/", 1)[1], 0)
            if n != expected_each:
                problems.append(f"{spec.name}: {n} documents arrived, expected {expected_each}")
        if receiver_errors:
            problems.append(f"receiver: {receiver_errors} connection errors")
        return problems


def run_wirepub(env: Env, setup: str, stories: list[dict[str, Any]], *,
                profile: Path | None = None) -> tuple[Phase, list[Doc], Config]:
    specs = env.setup_specs(setup)
    env.reset(specs)
    root = workdir(env.scratch, f"wirepub-{setup}")
    write_stories(root / "stories", stories)
    config = load_config(write_config(root, specs, endpoint=env.moto.endpoint, ca_file=env.receiver.ca_file,
                                      concurrency=env.concurrency))
    store = Store(config.store_url)
    try:
        profiler = None
        if profile is not None:
            import cProfile
            profiler = cProfile.Profile()
            profiler.enable()
        start = time.perf_counter()
        report = app.push(config)
        push_seconds = time.perf_counter() - start
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(profile))
        expected = len(stories) * len(specs)
        errors = [*report.failures, *report.retrying, *report.dead, *(str(r.error) for r in report.rejected)]
        if report.written != expected:
            errors.insert(0, f"wirepub wrote {report.written} documents, expected {expected}")
        if "deliver" not in report.seconds:
            errors.insert(0, "push() reported no delivery phase: delivery not timed")
        errors += env.check(specs, len(stories))
        docs = ledger_documents(store)
    finally:
        store.close()
    phase = Phase(setup, "wirepub", report.written, report.seconds.get("deliver", push_seconds),
                  push_seconds=push_seconds, errors=errors[:5])
    return phase, docs, config


def ledger_documents(store: Store) -> list[Doc]:
    """The documents wirepub delivered, as its ledger holds them (the ceiling uploads the same bytes)."""
    d = deliveries.c
    query = (sa.select(d.partner, d.path, documents.c.body, documents.c.media_type)
             .join(documents, documents.c.sha256 == d.sha256).where(d.state == "delivered").order_by(d.id))
    with store.engine.connect() as c:
        return [Doc(r.partner, r.path, bytes(r.body), r.media_type) for r in c.execute(query)]


def interleave(docs: list[Doc]) -> list[Doc]:
    """Round robin over partners, as the Deliverer takes them."""
    by_partner: dict[str, list[Doc]] = {}
    for doc in docs:
        by_partner.setdefault(doc.partner, []).append(doc)
    queues = list(by_partner.values())
    out: list[Doc] = []
    for i in range(max((len(q) for q in queues), default=0)):
        out += [q[i] for q in queues if i < len(q)]
    return out


def run_ceiling(env: Env, setup: str, all_docs: list[Doc], concurrency: int, expected_each: int) -> Phase:
    specs = env.setup_specs(setup)
    by_name = {s.name: s for s in specs}
    docs = interleave([doc for doc in all_docs if doc.partner in by_name])
    env.reset(specs)
    s3_clients = {s.name: s3_client(env.moto.endpoint) for s in specs if s.scheme == "s3"}
    verify: Any = True
    if env.receiver.ca_file is not None:
        import ssl
        verify = ssl.create_default_context(cafile=str(env.receiver.ca_file))
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    http_clients = {s.name: httpx.Client(verify=verify, limits=limits, timeout=30.0)
                    for s in specs if s.scheme != "s3"}

    def upload(doc: Doc) -> None:
        spec = by_name[doc.partner]
        if spec.scheme == "s3":
            s3_clients[spec.name].put_object(Bucket=spec.bucket, Key=f"{S3_PREFIX}/{doc.path}", Body=doc.body,
                                             ContentType=doc.media_type)
        else:
            answer = http_clients[spec.name].post(f"{spec.url}/{quote(doc.path)}", content=doc.body,
                                                  headers={"Content-Type": doc.media_type})
            answer.raise_for_status()

    errors: list[str] = []
    try:
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="ceiling") as pool:
            for future in [pool.submit(upload, doc) for doc in docs]:
                exc = future.exception()
                if exc is not None and len(errors) < 5:
                    errors.append(f"{type(exc).__name__}: {exc}")
        seconds = time.perf_counter() - start
    finally:
        for client in s3_clients.values():
            client.close()
        for http_client in http_clients.values():
            http_client.close()
    errors += env.check(specs, expected_each)
    return Phase(setup, "ceiling", len(docs), seconds, errors=errors[:5])


# --- report ------------------------------------------------------------------------------------------------

def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarise(phases: list[Phase], setups: list[str]) -> list[dict[str, Any]]:
    rows = []
    for setup in setups:
        ours = [p for p in phases if p.setup == setup and p.who == "wirepub"]
        ceil = [p for p in phases if p.setup == setup and p.who == "ceiling"]
        paired = [o.rate / c.rate for o, c in zip(ours, ceil, strict=False) if c.rate]
        push_paired = [(o.push_rate or 0) / c.rate for o, c in zip(ours, ceil, strict=False) if c.rate]
        rows.append({
            "setup": setup,
            "deliveries": ours[0].deliveries if ours else 0,
            "rounds": min(len(ours), len(ceil)),
            "wirepub_delivery_per_s": median([p.rate for p in ours]),
            "wirepub_push_per_s": median([p.push_rate or 0.0 for p in ours]),
            "ceiling_per_s": median([p.rate for p in ceil]),
            "ratio_delivery": median(paired),
            "ratio_push": median(push_paired),
            "ratios_per_round": [round(r, 3) for r in paired],
            "errors": sorted({e for p in ours + ceil for e in p.errors})[:10],
        })
    return rows


def print_table(rows: list[dict[str, Any]], args: argparse.Namespace, concurrency: int, scheme: str) -> None:
    print()
    print(f"Fan-out: {args.stories} stories x {args.partners} partners ({(args.partners + 1) // 2} s3 via moto, "
          f"{args.partners // 2} {scheme} via the test kit's Receiver), format {FORMAT}, no feeds; "
          f"{concurrency} requests in flight; medians of {args.rounds} round(s)")
    header = (f"{'setup':<7} {'deliveries':>10} {'wirepub deliver/s':>18} {'wirepub push/s':>15} "
              f"{'ceiling/s':>10} {'deliver/ceiling':>16} {'push/ceiling':>13}  per round")
    print(header)
    print("-" * len(header))
    for r in rows:
        ok = "" if r["ratio_delivery"] >= TARGET else f"  deliver < {TARGET:.0%}"
        ok += "" if r["ratio_push"] >= PUSH_TARGET else f"  push < {PUSH_TARGET:.0%}"
        print(f"{r['setup']:<7} {r['deliveries']:>10} {r['wirepub_delivery_per_s']:>18.0f} "
              f"{r['wirepub_push_per_s']:>15.0f} {r['ceiling_per_s']:>10.0f} {r['ratio_delivery']:>15.0%} "
              f"{r['ratio_push']:>13.0%}  {r['ratios_per_round']}{ok}")
    print()
    print("deliver/s: the delivery phase (the Deliverer: due query, transports, ledger bookkeeping) per second; "
          "push/s: the whole push (intake, render, validate, enqueue, deliver).")
    print(f"Target: wirepub's delivery phase at >= {TARGET:.0%} of the ceiling (bare boto3 put_object and httpx "
          f"POST of the same bytes, same destinations, same concurrency), the whole push at >= {PUSH_TARGET:.0%}.")
    for r in rows:
        for e in r["errors"]:
            print(f"  {r['setup']}: {e}")


# --- main --------------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stories", type=int, default=1000)
    parser.add_argument("--partners", type=int, default=10, help="half s3:// (rounded up), half https://")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=DeliveryPolicy().concurrency,
                        help="wirepub's delivery.concurrency; the ceiling gets as many requests in flight")
    parser.add_argument("--setups", default=",".join(SETUPS), help=f"any of {', '.join(SETUPS)}")
    parser.add_argument("--plain-http", action="store_true", help="http:// instead of https:// to the receiver")
    parser.add_argument("--profile", type=Path, help="write a cProfile of wirepub's first mixed push here")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON as well")
    args = parser.parse_args()
    setups = [s.strip() for s in args.setups.split(",") if s.strip()]
    if args.partners < 2 or args.stories < 1 or args.rounds < 1 or set(setups) - set(SETUPS):
        parser.error("need --partners >= 2, --stories >= 1, --rounds >= 1 and --setups from mixed,s3,https")

    no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1", "localhost"]))
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = no_proxy
    rng = random.Random(3)
    stories = [story_document(i, rng) for i in range(args.stories)]
    warmup = [story_document(100_000 + i, rng) for i in range(WARMUP_STORIES)]

    with tempfile.TemporaryDirectory(prefix="wirepub-fanout-") as tmp:
        scratch = Path(tmp)
        os.environ.update(dummy_aws_env(scratch))  # dummy keys; nothing from this machine's AWS setup
        moto: Any = None
        receiver: ReceiverProcess | None = None
        try:
            moto = MotoServer(scratch / "moto.log")
            receiver = ReceiverProcess(tls=not args.plain_http, ca_dir=scratch)
            specs = partner_specs(args.partners, receiver.url)
            env = Env(moto, receiver, specs, stories, args.concurrency, scratch)
            scheme = receiver.url.split("://", 1)[0]

            print(f"moto {moto.endpoint}, receiver {receiver.url}; warming up with {WARMUP_STORIES} stories...",
                  flush=True)
            warm, _, config = run_wirepub(env, "mixed", warmup)
            if warm.errors:
                print(f"warm-up problems: {warm.errors}", file=sys.stderr)
            phases: list[Phase] = []
            docs: dict[str, list[Doc]] = {}
            concurrency: dict[str, int] = {}
            for rnd in range(args.rounds):
                for setup in setups:
                    # Interleaved: wirepub first in odd rounds, the ceiling first in even ones (it needs
                    # wirepub's documents, so round 1 always starts with wirepub).
                    order = ["wirepub", "ceiling"] if rnd % 2 == 0 else ["ceiling", "wirepub"]
                    for who in order:
                        if who == "wirepub":
                            profile = args.profile if (args.profile and rnd == 0 and setup == setups[0]) else None
                            phase, delivered, config = run_wirepub(env, setup, stories, profile=profile)
                            docs.setdefault(setup, delivered)
                            concurrency.setdefault(setup, in_flight(config))
                        else:
                            phase = run_ceiling(env, setup, docs[setup], concurrency[setup], len(stories))
                        phases.append(phase)
                        extra = f", push {phase.push_rate:.0f}/s" if phase.push_rate else ""
                        problems = f"  PROBLEMS: {phase.errors}" if phase.errors else ""
                        print(f"round {rnd + 1} {setup:<6} {who:<8} {phase.deliveries:>6} in "
                              f"{phase.seconds:6.2f} s = {phase.rate:7.0f}/s{extra}{problems}", flush=True)
            rows = summarise(phases, setups)
            print_table(rows, args, concurrency.get(setups[0], args.concurrency), scheme)
            if args.json:
                print(json.dumps(rows, indent=2))
        finally:
            if receiver is not None:
                receiver.stop()
            if moto is not None:
                moto.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
