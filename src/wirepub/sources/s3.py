"""An S3 bucket prefix as a source (kind s3): story files put there (.json, .md, .txt: the hot folder's kinds and
rules, sources/storyfiles.py), read by whichever node collects, each object once across nodes.

Every `interval` seconds the objects directly under `prefix` are listed (not those in deeper "folders", such as
rejected/; not names starting with '.' or '~', which are being uploaded). Each is claimed in the store (source,
key, ETag) before it is read: a claim that is done or rejected is never read again, and one held by a node that
died is taken over after `claim_seconds`. An object replaced under the same key has another ETag: it is read again,
as the story's next version if it names none. One that cannot be published is moved to `rejected` (default
prefix + rejected/) with a .error.txt beside it that says key, field and reason; never deleted. Recorded objects
stay where they are (the claims remember them), as files stay in the hot folder.

Credentials by reference: access_key_id_env and secret_access_key_env name environment variables; left out,
boto3's own chain (environment, profile, instance or pod role).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Collection, Sequence
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

import boto3
from botocore.config import Config as BotocoreConfig
from botocore.exceptions import BotoCoreError, ClientError

from wirepub.clock import Clock
from wirepub.config import SourceSettings, this_process
from wirepub.errors import SourceError, StoryError
from wirepub.progress import Progress
from wirepub.sources import Collected, Rejection
from wirepub.sources.storyfiles import MAX_FILE_BYTES, SUFFIXES, Incomplete, document_of
from wirepub.store import Store
from wirepub.story import Story, StoryDefaults, story_from_document
from wirepub.vocabulary import ClaimState

DEFAULT_INTERVAL = 10.0


class S3Inbox:
    kind = "s3"

    def __init__(self, settings: SourceSettings, store: Store, clock: Clock, *,
                 defaults: StoryDefaults | None = None, node: str | None = None) -> None:
        self.name = settings.name
        self.store = store
        self.clock = clock
        self.settings = settings
        self.interval: float | None = float(settings.option("interval", DEFAULT_INTERVAL))
        self.bucket: str = settings.option("bucket")
        prefix = str(settings.option("prefix", ""))
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        rejected = str(settings.option("rejected", "rejected/"))
        self.rejected = self.prefix + (rejected if rejected.endswith("/") else rejected + "/")
        self.claim_seconds = float(settings.option("claim_seconds", 300))
        self.batch = int(settings.option("batch", 500))
        self.node = node or this_process()
        self.defaults = defaults or StoryDefaults(language=settings.language)
        self._client: Any = None
        self._taken: dict[str, tuple[str, str]] = {}   # ref -> (key, etag)

    def _s3(self) -> Any:
        if self._client is None:
            keys: dict[str, str] = {}
            for option, name in (("access_key_id_env", "aws_access_key_id"),
                                 ("secret_access_key_env", "aws_secret_access_key")):
                env = self.settings.option(option)
                if env:
                    if not os.environ.get(env):
                        raise SourceError(f"source {self.name}: the environment variable {env} is not set")
                    keys[name] = os.environ[env]
            timeout = float(self.settings.option("timeout", 30))
            self._client = boto3.session.Session().client(
                "s3", endpoint_url=self.settings.option("endpoint_url"), region_name=self.settings.option("region"),
                config=BotocoreConfig(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 3},
                                      s3={"addressing_style": "path"} if self.settings.option("endpoint_url") else {},
                                      request_checksum_calculation="when_required",
                                      response_checksum_validation="when_required"), **keys)
        return self._client

    def _failed(self, exc: Exception, what: str) -> SourceError:
        code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else type(exc).__name__
        return SourceError(f"source {self.name}: s3://{self.bucket}/{self.prefix} cannot be {what}: {code} "
                           f"({str(exc).splitlines()[0][:200]})")

    def _listing(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        try:
            pages = self._s3().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix,
                                                                         Delimiter="/")
            for page in pages:
                out += page.get("Contents", [])
        except (ClientError, BotoCoreError) as exc:
            raise self._failed(exc, "listed") from None
        return [o for o in out if _is_story_key(o["Key"], self.prefix)]

    # --- the Source protocol --------------------------------------------------------------------------------

    def collect(self, *, settle: float = 0.0, settled: Collection[str] = (),
                only: Collection[str] | None = None, progress: Progress | None = None) -> Collected:
        out = Collected()
        listed = self._listing()
        keys = [(o["Key"], o["ETag"].strip('"')) for o in listed]
        finished = self.store.claims.settled(self.name, keys)
        now = self.clock.now()
        for obj, (key, etag) in zip(listed, keys, strict=True):
            if (key, etag) in finished or len(self._taken) >= self.batch:
                continue
            if not self.store.claims.claim(self.name, key, etag, self.node, now, seconds=self.claim_seconds):
                continue   # another node has it
            ref = f"s3://{self.bucket}/{key}"
            self._taken[ref] = (key, etag)
            try:
                out.stories.append(self._read(key, etag, obj["LastModified"], ref))
            except StoryError as exc:
                out.rejected.append(Rejection(ref, exc))
            except Exception as exc:   # one odd object never stops the others
                out.rejected.append(Rejection(ref, StoryError(f"could not be read ({type(exc).__name__}: {exc})",
                                                              file=ref)))
        return out

    def _read(self, key: str, etag: str | None, modified: datetime, ref: str) -> Story:
        try:
            got = self._s3().get_object(Bucket=self.bucket, Key=key, **({"IfMatch": etag} if etag else {}))
            if got.get("ContentLength", 0) > MAX_FILE_BYTES:
                raise StoryError(f"{got['ContentLength']:,} bytes, more than the {MAX_FILE_BYTES:,} a story file "
                                 "may have", file=ref)
            raw = got["Body"].read(MAX_FILE_BYTES + 1)
        except (ClientError, BotoCoreError) as exc:
            raise StoryError(f"cannot be read: {exc}", file=ref) from None
        name = PurePosixPath(key).name
        try:
            document = document_of(raw, name, ref)
        except Incomplete as exc:
            raise StoryError(exc.reason, file=ref, field=exc.field) from None
        defaults = dataclasses.replace(self.defaults, version_created=modified)
        story = story_from_document(document, origin=ref, defaults=defaults)
        named = SUFFIXES[PurePosixPath(name).suffix.lower()] == "text"
        return dataclasses.replace(story, named_by=name) if named else story

    def read(self, ref: str) -> Story:
        key = ref.removeprefix(f"s3://{self.bucket}/")
        try:
            head = self._s3().head_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise StoryError(f"cannot be read: {exc}", file=ref) from None
        return self._read(key, None, head["LastModified"], ref)

    def done(self, refs: Sequence[str]) -> None:
        for ref in refs:
            taken = self._taken.pop(ref, None)
            if taken is not None:
                self.store.claims.settle(self.name, *taken, ClaimState.DONE, self.clock.now())

    def reject(self, rejection: Rejection) -> None:
        """Move the object to rejected/ with a .error.txt beside it (copy, then delete: S3 has no rename)."""
        taken = self._taken.pop(rejection.ref, None)
        if taken is None:
            return
        key, etag = taken
        name = PurePosixPath(key).name
        target = self.rejected + name
        try:
            s3 = self._s3()
            if _exists(s3, self.bucket, target):
                stamp = self.clock.now().strftime("%Y%m%dT%H%M%S%f")
                path = PurePosixPath(name)
                target = f"{self.rejected}{path.stem}.{stamp}{path.suffix}"
            s3.copy_object(Bucket=self.bucket, Key=target, CopySource={"Bucket": self.bucket, "Key": key})
            s3.put_object(Bucket=self.bucket, Key=target + ".error.txt", Body=f"{rejection.error}\n".encode(),
                          ContentType="text/plain; charset=utf-8")
            s3.delete_object(Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise self._failed(exc, f"changed (moving {key} to {target})") from None
        self.store.claims.settle(self.name, key, etag, ClaimState.REJECTED, self.clock.now())

    def check(self) -> str:
        listed = self._listing()
        waiting = len(listed) - len(self.store.claims.settled(self.name, [(o["Key"], o["ETag"].strip('"'))
                                                                          for o in listed]))
        return f"s3://{self.bucket}/{self.prefix}: listed, {len(listed)} story file(s), {waiting} not yet read"


def _is_story_key(key: str, prefix: str) -> bool:
    name = key[len(prefix):]
    return "/" not in name and bool(name) and not name.startswith((".", "~")) and \
        PurePosixPath(name).suffix.lower() in SUFFIXES


def _exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError:
        return False
    return True
