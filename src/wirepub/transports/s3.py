"""s3:// destinations: a bucket and an optional key prefix, on AWS S3 or any S3-compatible store.

    s3://bucket                 documents land at <path>
    s3://bucket/wire/partner    documents land at wire/partner/<path>

The URL names no credentials (``s3://key:secret@bucket`` is refused) and has no query. The destination's
options (endpoint, addressing, region, credentials by reference, encryption, Cache-Control, timeouts) are
described, and checked, by schemas/transports/s3.schema.json. Without keys and without a profile, the
standard AWS credential chain applies (environment, shared files, SSO, container or instance role), as any
boto3 program finds it. With an ``endpoint_url`` (an S3-compatible store), boto3's default CRC checksums are
turned off, which many such stores reject, and each PUT carries a ``Content-MD5`` instead.

Each object carries ``Content-Type`` (``; charset=utf-8`` added for XML, JSON and text types),
``Cache-Control`` by kind, and user metadata ``wirepub-story``, ``wirepub-version``, ``wirepub-format``
and ``wirepub-idempotency-key`` (those the Put has), so a receiver can tell a re-send after a crash from
a new version. A PUT replaces an object atomically: readers see the old bytes or the new, never half.

botocore retries once at most (``standard`` mode, 2 attempts: S3's occasional 500/503 and dropped
keep-alive connections); anything longer is the delivery ledger's job, with its own backoff.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import boto3
from botocore.config import Config as BotocoreConfig
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConfigParseError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
    ProfileNotFound,
    SSLError,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from wirepub.clock import Clock, SystemClock
from wirepub.errors import ConfigError, DestinationError
from wirepub.transports import DeliveryError, Destination, Put, content_type, secret_from_env
from wirepub.transports.errors import Case, ErrorTable, Facts, Misconfigured, Refused, Throttled, Unreachable
from wirepub.transports.options import check_options
from wirepub.urls import shown
from wirepub.vocabulary import PutKind

PROBE_CACHE_CONTROL = "no-store"
# botocore's own: the first try and one quick retry; the ledger does the rest. (total_max_attempts, not
# max_attempts: botocore's max_attempts counts retries only, so max_attempts=2 would mean 3 tries.)
MAX_ATTEMPTS = 2

# Error codes after which trying again later can help (besides HTTP 408, 429 and 5xx).
RETRYABLE_CODES = frozenset({
    "SlowDown", "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled",
    "RequestThrottledException", "TooManyRequestsException", "RequestLimitExceeded", "BandwidthLimitExceeded",
    "RequestTimeout", "RequestTimeoutException", "InternalError", "ServiceUnavailable", "OperationAborted",
    "PriorRequestNotComplete", "RequestTimeTooSkewed",
})
# The store did not accept who we said we are.
REFUSED_CODES = frozenset({
    "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "TokenRefreshRequired",
    "InvalidClientTokenId", "UnrecognizedClientException", "InvalidSecurity", "AuthFailure",
})
DENIED_CODES = frozenset({"AccessDenied", "AllAccessDisabled", "AccountProblem"})
REGION_CODES = frozenset({"PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException"})

_AWS_KEY_ID = re.compile(r"(AKIA|ASIA|AROA|AIDA)[A-Z0-9]{12,}\Z")


def parse_s3_url(url: str) -> tuple[str, str]:
    """(bucket, prefix) of s3://bucket/prefix; the prefix has no leading, trailing or doubled slashes."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        # Never repeat the URL here: what is before the @ is probably a key and its secret.
        raise DestinationError("an s3:// destination URL must not carry credentials (s3://key:secret@bucket); "
                               "name environment variables in the destination's access_key_id_env and "
                               "secret_access_key_env options instead, or use a profile")
    if parts.scheme.lower() != "s3" or not parts.netloc or ":" in parts.netloc:
        raise DestinationError(f"destination {shown(url)!r}: an S3 destination is s3://bucket or s3://bucket/prefix")
    if parts.query or parts.fragment or url.rstrip().endswith(("?", "#")):
        raise DestinationError(f"destination {shown(url)!r}: s3:// URLs take no query or fragment; "
                               "settings go in the destination's options")
    prefix = "/".join(segment for segment in parts.path.split("/") if segment)
    return parts.netloc, prefix


def _metadata_value(value: str) -> str:
    # S3 metadata travels as HTTP headers: ASCII only. Ids are ASCII by contract; anything else is
    # percent-encoded rather than failing a delivery over a label.
    return value if value.isascii() and value.isprintable() else quote(value, safe="")


def _status(*statuses: int) -> Callable[[Facts], bool]:
    return lambda facts: facts["status"] in statuses


def _answered_try_later(facts: Facts) -> bool:
    status = facts["status"]
    return status in (408, 429) or (isinstance(status, int) and status >= 500)


BUCKET_MISSING = ("{start}: the bucket {bucket!r} does not exist{at_endpoint}; create it, or correct the destination "
                  "URL{or_endpoint}")
DENIED = ("{start}: the credentials were refused ({code_or_403}{said_part}): they need {needed} on {scope}; "
          "{credentials_hint}")
ANSWERED = "{start}: the store answered {code_or_error} (HTTP {status}){said_part}"

# botocore's exceptions, and the store's error codes and statuses (facts "code" and "status") in ClientErrors.
ERRORS = ErrorTable(
    Case(ClientError, Misconfigured, BUCKET_MISSING, codes={"NoSuchBucket"}),
    Case(ClientError, Misconfigured, BUCKET_MISSING, codes={"", "404", "NotFound"}, when=_status(404)),
    Case(ClientError, Refused, "{start}: the credentials were refused ({code}{said_part}); {credentials_hint}",
         codes=REFUSED_CODES),
    Case(ClientError, Refused, DENIED, codes=DENIED_CODES),
    Case(ClientError, Refused, DENIED, codes={"", "403", "Forbidden"}, when=_status(403)),
    Case(ClientError, Misconfigured, "{start}: the bucket is not where wirepub looked ({code}{said_part}); set the "
         "option region to the bucket's region", codes=REGION_CODES),
    Case(ClientError, Throttled, ANSWERED, codes=RETRYABLE_CODES),
    Case(ClientError, Throttled, ANSWERED, when=_answered_try_later),
    Case(ClientError, Refused, ANSWERED),
    # Retryable: an instance or container role can be briefly unreachable; a probe says it at once.
    Case((NoCredentialsError, PartialCredentialsError, CredentialRetrievalError), Unreachable,
         "{start}: no usable AWS credentials ({exc}); {credentials_hint}"),
    Case(SSLError, Misconfigured, "{start}: TLS failed with {location}: {exc}; check endpoint_url and the store's "
         "certificate (AWS_CA_BUNDLE)", when=lambda facts: "CERTIFICATE_VERIFY_FAILED" in str(facts["exc"])),
    Case(SSLError, Unreachable, "{start}: TLS failed with {location}: {exc}"),
    # Refused, timed out, reset, closed mid-answer: the network or the store may mend.
    Case((BotocoreConnectionError, HTTPClientError), Unreachable,
         "{start}: cannot reach the store at {location} ({kind}: {exc})"),
    Case(ParamValidationError, Refused, "{start}: {exc}"),
    Case(BotoCoreError, Unreachable, "{start}: {kind}: {exc}"),
)


class S3Transport:
    def __init__(self, destination: Destination, *, base_dir: Path, clock: Clock | None = None) -> None:
        del base_dir  # nothing local about a bucket
        self.clock: Clock = clock or SystemClock()
        self.bucket, self.prefix = parse_s3_url(destination.url)
        self.url = destination.url  # refused above if it carried credentials, a query or a fragment
        options = check_options(self.url, "s3", destination.options, "s3")
        self.endpoint_url = self._endpoint(options.get("endpoint_url"))
        self.sse: str | None = options.get("sse")
        self.sse_kms_key_id = _trimmed(options.get("sse_kms_key_id"))
        if self.sse_kms_key_id and self.sse != "aws:kms":
            raise ConfigError(f"{self.url}: option sse_kms_key_id needs sse = \"aws:kms\"")
        self.cache_control = {kind: header.strip() for kind, header in options["cache_control"].items()}
        profile = _trimmed(options.get("profile"))
        session_kwargs, self._secrets, self._credentials_hint = self._credentials(options, profile)
        try:
            session = boto3.Session(**session_kwargs)
        except ProfileNotFound:
            raise ConfigError(self._no_such_profile(profile)) from None
        except ConfigParseError as exc:
            raise ConfigError(f"{self.url}: cannot read the AWS config files: {exc}") from None
        self._client: Any = self._new_client(session, options)
        where = self.endpoint_url or f"AWS S3 ({self._client.meta.region_name or 'us-east-1'})"
        self.location = f"s3://{self.bucket}{'/' + self.prefix if self.prefix else ''} at {where}"
        self._closed = False

    def _new_client(self, session: Any, options: Mapping[str, Any]) -> Any:
        config_kwargs: dict[str, Any] = {
            "connect_timeout": float(options["connect_timeout"]),
            "read_timeout": float(options["read_timeout"]),
            "max_pool_connections": int(options["max_pool_connections"]),
            "retries": {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
            "s3": {"addressing_style": options.get("addressing_style") or ("path" if self.endpoint_url else "auto")},
        }
        if self.endpoint_url:
            config_kwargs["request_checksum_calculation"] = "when_required"
            config_kwargs["response_checksum_validation"] = "when_required"
        try:
            return session.client("s3", endpoint_url=self.endpoint_url, region_name=_trimmed(options.get("region")),
                                  config=BotocoreConfig(**config_kwargs))
        except ProfileNotFound:  # AWS_PROFILE naming a profile that is not there
            raise ConfigError(self._no_such_profile(_trimmed(options.get("profile")))) from None
        except BotoCoreError as exc:
            raise ConfigError(f"{self.url}: cannot set up the S3 client: {self._scrub(str(exc))}") from None

    def _no_such_profile(self, profile: str | None) -> str:
        """The profile boto3 did not find, named by where it came from: option profile, else the environment."""
        if profile:
            named = f"AWS profile {profile!r} (option profile)"
        else:
            # botocore looks at AWS_DEFAULT_PROFILE first
            variable = next((v for v in ("AWS_DEFAULT_PROFILE", "AWS_PROFILE") if os.environ.get(v)), "AWS_PROFILE")
            named = (f"AWS profile {os.environ.get(variable, '')!r}, named by the environment variable {variable} "
                     "in wirepub's environment,")
        return (f"{self.url}: {named} is not in the AWS shared credentials or config files; check the name, or "
                "AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE")

    # ---- options ----------------------------------------------------------------------------------------

    def _endpoint(self, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"{self.url}: option endpoint_url must be an http:// or https:// URL")
        if parts.username is not None or parts.password is not None:
            raise ConfigError(f"{self.url}: option endpoint_url must not carry credentials; name environment "
                              "variables in access_key_id_env and secret_access_key_env instead")
        return value.rstrip("/")

    def _credentials(self, options: Mapping[str, Any],
                     profile: str | None) -> tuple[dict[str, Any], tuple[str, ...], str]:
        """boto3.Session keywords, the secret values to keep out of messages, and what to check if refused."""
        names = {option: options.get(option)
                 for option in ("access_key_id_env", "secret_access_key_env", "session_token_env")}
        given = {option: name for option, name in names.items() if name is not None}
        if not given:
            if profile:
                return ({"profile_name": profile}, (),
                        f"check the keys of AWS profile {profile!r} (option profile) in the shared credentials "
                        "file")
            return ({}, (),
                    "check the AWS credentials this process finds through the standard chain (AWS_ACCESS_KEY_ID "
                    "and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, the shared credentials file, an instance or "
                    "container role), or give the partner's own keys with the options access_key_id_env and "
                    "secret_access_key_env, or a profile")
        if profile:
            raise ConfigError(f"{self.url}: use either option profile or the *_env key options, not both")
        if "access_key_id_env" not in given or "secret_access_key_env" not in given:
            raise ConfigError(f"{self.url}: options access_key_id_env and secret_access_key_env go together "
                              "(the names of the environment variables holding the key id and its secret)")
        values: dict[str, str] = {}
        for option in given:
            value = secret_from_env(self.url, options, option, name_check=_AWS_KEY_ID)
            assert value is not None
            values[option] = value
        kwargs = {"aws_access_key_id": values["access_key_id_env"],
                  "aws_secret_access_key": values["secret_access_key_env"],
                  "aws_session_token": values.get("session_token_env")}
        variables = ", ".join(f"{given[o]} (option {o})" for o in given)
        return kwargs, tuple(values.values()), f"check the keys in the environment variables {variables}"

    # ---- the contract -----------------------------------------------------------------------------------

    def key(self, path: str) -> str:
        """The object key for a document path; refuses paths that are not plainly relative."""
        segments = path.split("/")
        if not path or any(segment in ("", ".", "..") for segment in segments):
            raise Refused(f"{self.url}: path {path!r} is not a relative path below the destination "
                          "(no leading, trailing or doubled slashes, no . or .. segments)")
        return f"{self.prefix}/{path}" if self.prefix else path

    def put(self, doc: Put) -> None:
        key = self.key(doc.path)
        metadata = {"wirepub-format": doc.format, "wirepub-idempotency-key": doc.idempotency_key,
                    "wirepub-story": doc.story_id or "",
                    "wirepub-version": "" if doc.version is None else str(doc.version)}
        args: dict[str, Any] = {
            "Bucket": self.bucket, "Key": key, "Body": doc.data,
            "ContentType": content_type(doc.media_type),
            "Metadata": {name: _metadata_value(value) for name, value in metadata.items() if value},
        }
        cache_control = PROBE_CACHE_CONTROL if doc.kind == "probe" else self.cache_control.get(doc.kind, "")
        if cache_control:
            args["CacheControl"] = cache_control
        if self.sse:
            args["ServerSideEncryption"] = self.sse
            if self.sse_kms_key_id:
                args["SSEKMSKeyId"] = self.sse_kms_key_id
        if self.endpoint_url:
            # CRC checksums are off for S3-compatible stores (see above); MD5 is what all of them check.
            digest = hashlib.md5(doc.data, usedforsecurity=False).digest()
            args["ContentMD5"] = base64.b64encode(digest).decode("ascii")
        self._call("put_object", "put", key, args)

    def delete(self, path: str) -> None:
        key = self.key(path)
        # S3 answers 204 for a key that is not there: missing is not an error, as the contract wants.
        self._call("delete_object", "remove", key, {"Bucket": self.bucket, "Key": key})

    def probe(self) -> None:
        probe = Put(f".wirepub-probe-{secrets.token_hex(8)}", b"wirepub probe\n", "text/plain", kind=PutKind.PROBE)
        self.put(probe)
        try:
            self.delete(probe.path)
        except DeliveryError as exc:
            why = ("" if exc.retryable else
                   ": wirepub needs s3:DeleteObject too, to remove withdrawn stories")
            raise exc.reworded(f"{exc} (the probe object {self.key(probe.path)} was written but could not be "
                               f"removed{why})") from None

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._client.close()

    # ---- errors -----------------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _call(self, operation: str, verb: str, key: str, args: dict[str, Any]) -> None:
        try:
            getattr(self._client, operation)(**args)
        except (ClientError, BotoCoreError) as exc:
            raise ERRORS.error(exc, self._facts(exc, verb, key), self._scrub) from None

    def _facts(self, exc: Exception, verb: str, key: str) -> Facts:
        response = getattr(exc, "response", None) or {}
        error = response.get("Error") or {}
        meta = response.get("ResponseMetadata") or {}
        code = str(error.get("Code") or "")
        said = str(error.get("Message") or "").strip()
        at = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return Facts({
            "start": f"{self.url}: cannot {verb} {key}", "kind": type(exc).__name__, "location": self.location,
            "code": code, "code_or_error": code or "an error", "code_or_403": code or "HTTP 403",
            "status": meta.get("HTTPStatusCode"), "said_part": f": {said}" if said else "",
            "bucket": self.bucket, "at_endpoint": at, "or_endpoint": " or endpoint_url" if at else "",
            "credentials_hint": self._credentials_hint, "retry_after": _retry_after(meta), "needed": self._needed(),
            "scope": f"arn:aws:s3:::{self.bucket}/{self.prefix + '/' if self.prefix else ''}*",
        })

    def _needed(self) -> str:
        needed = "s3:PutObject and s3:DeleteObject"
        if self.sse == "aws:kms":
            needed += ", kms:GenerateDataKey and kms:Decrypt on the KMS key"
        return needed


def _trimmed(value: str | None) -> str | None:
    return value.strip() if value is not None else None


def _retry_after(meta: Mapping[str, Any]) -> float | None:
    value = (meta.get("HTTPHeaders") or {}).get("retry-after")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: rare from S3; the ledger's backoff applies
    return seconds if seconds is not None and seconds >= 0 else None
