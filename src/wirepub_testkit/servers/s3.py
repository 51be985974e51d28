"""Real S3 over HTTP on 127.0.0.1: moto's server in a subprocess, one that enforces IAM, and a scripted
S3-speaking HTTP server.

- ``MotoServer(log)``: moto's S3 server, any credentials accepted; ``endpoint`` is its URL, ``stop()`` ends it.
- ``start_auth_s3(log)``: a second moto server that enforces IAM: only the keys it hands out work (``AuthS3``).
- ``start_scripted_s3()``: an HTTP server answering every request as told (a 503 SlowDown, say) and recording
  what it received, for what moto cannot be made to say.
- ``admin_client(endpoint)``: boto3 with explicit keys, to arrange and to look (never the code under test).
- ``dummy_aws_env(folder)``: an AWS environment of dummy keys, no shared files and no instance metadata, so
  nothing from the machine running the tests leaks in.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from wirepub_testkit.ports import LOCALHOST, free_port
from wirepub_testkit.servers import ServerUnavailable
from wirepub_testkit.waiting import WaitTimeout, wait_until

DUMMY_KEY_ID = "testing"
DUMMY_SECRET = "testing"
REGION = "us-east-1"
STARTUP_SECONDS = 20.0


def admin_client(endpoint: str, key_id: str = DUMMY_KEY_ID, secret: str = DUMMY_SECRET,
                 service: str = "s3") -> Any:
    """A boto3 client with explicit keys: what tests use to arrange and to look, never the code under test."""
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id=key_id,
                        aws_secret_access_key=secret,
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                                      request_checksum_calculation="when_required",
                                      response_checksum_validation="when_required"))


class MotoServer:
    """`python -m moto.server` as a subprocess on a free port of 127.0.0.1, its output in the file `log`."""

    def __init__(self, log: Path, env: dict[str, str] | None = None) -> None:
        if importlib.util.find_spec("moto") is None:
            raise ServerUnavailable("moto is not installed: pip install 'moto[server]' (wirepub's test extra)")
        self.port = free_port()
        self.endpoint = f"http://{LOCALHOST}:{self.port}"
        self.log = log
        child_env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
        child_env.update(env or {})
        self._log_file = log.open("wb")  # a file, not a pipe: moto logs every request and a full pipe stalls it
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", LOCALHOST, "-p", str(self.port)],
            stdout=self._log_file, stderr=subprocess.STDOUT, env=child_env)
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_until_ready(self) -> None:
        def answering() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto server exited with {self.process.returncode} before answering:\n"
                                   f"{self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1) as response:
                    return bool(response.status == 200)
            except (urllib.error.URLError, OSError):
                return False

        try:
            wait_until(answering, f"moto on {self.endpoint}", timeout=STARTUP_SECONDS, interval=0.1)
        except WaitTimeout:
            raise RuntimeError(f"moto server did not answer on {self.endpoint} within {STARTUP_SECONDS:.0f} s:\n"
                               f"{self.tail()}") from None

    def post(self, path: str, data: bytes) -> bytes:
        # text/plain: with a form content type Flask swallows the body and moto sees nothing.
        request = urllib.request.Request(f"{self.endpoint}{path}", data=data, method="POST",
                                         headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body: bytes = response.read()
            return body

    def tail(self, lines: int = 30) -> str:
        self._log_file.flush()
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log_file.close()


def dummy_aws_env(folder: Path) -> dict[str, str]:
    """Dummy keys for the standard chain, and nothing else from this machine's AWS setup: the shared config and
    credentials files point at names in `folder` that do not exist, and instance metadata is off."""
    return {
        "AWS_ACCESS_KEY_ID": DUMMY_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(folder / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(folder / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }


@dataclass(frozen=True)
class AuthS3:
    endpoint: str
    bucket: str
    writer: tuple[str, str]   # (key id, secret) allowed s3:* on everything
    reader: tuple[str, str]   # (key id, secret) allowed s3:GetObject only


def _allow(actions: list[str]) -> str:
    return json.dumps({"Version": "2012-10-17",
                       "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]})


@contextlib.contextmanager
def start_auth_s3(log: Path) -> Iterator[AuthS3]:
    """A moto server that checks signatures and IAM policies, like S3 does, with a bucket and two users.

    moto enforces IAM after INITIAL_NO_AUTH_ACTION_COUNT requests; we set users up while it still trusts
    everyone, then switch enforcement on for every request through its /moto-api/reset-auth endpoint.
    """
    server = MotoServer(log)
    try:
        iam = admin_client(server.endpoint, service="iam")
        keys = {}
        for user, actions in (("writer", ["s3:*"]), ("reader", ["s3:GetObject"])):
            iam.create_user(UserName=user)
            iam.put_user_policy(UserName=user, PolicyName="s3", PolicyDocument=_allow(actions))
            made = iam.create_access_key(UserName=user)["AccessKey"]
            keys[user] = (made["AccessKeyId"], made["SecretAccessKey"])
        bucket = f"wirepub-auth-{uuid.uuid4().hex[:12]}"
        admin_client(server.endpoint).create_bucket(Bucket=bucket)
        server.post("/moto-api/reset-auth", b"0")
        yield AuthS3(server.endpoint, bucket, writer=keys["writer"], reader=keys["reader"])
    finally:
        server.stop()


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class ScriptedS3:
    """Answers every request with `status`, an S3 error document for `code` (if any) and `headers`."""

    endpoint: str = ""
    status: int = 200
    code: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)

    def answer(self, status: int, code: str = "", headers: dict[str, str] | None = None) -> None:
        self.status, self.code, self.headers = status, code, dict(headers or {})


class _ScriptedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else every request stalls ~40 ms (PERFORMANCE-NOTES.md)
    script: ScriptedS3

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.script.requests.append(Recorded(self.command, self.path,
                                             {k.lower(): v for k, v in self.headers.items()}, body))
        payload = b""
        if self.script.code:
            payload = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{self.script.code}</Code>'
                       f"<Message>scripted {self.script.code}</Message><RequestId>r1</RequestId></Error>").encode()
        self.send_response(self.script.status)
        for name, value in self.script.headers.items():
            self.send_header(name, value)
        if payload:
            self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def start_scripted_s3() -> Iterator[ScriptedS3]:
    """An S3-speaking HTTP server on 127.0.0.1 answering as its ScriptedS3 is told, stopped on leaving."""
    script = ScriptedS3()
    handler = type("Handler", (_ScriptedHandler,), {"script": script})
    server = ThreadingHTTPServer((LOCALHOST, 0), handler)
    script.endpoint = f"http://{LOCALHOST}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield script
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
