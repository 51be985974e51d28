"""s3:// destinations: a bucket and an optional key prefix, on AWS S3 or any S3-compatible store.

    s3://bucket                 documents land at <path>
    s3://bucket/wire/partner    documents land at wire/partner/<path>

The URL names no credentials (``s3://key:secret@bucket`` is refused) and has no query. A destination's
settings in wirepub.toml (``Destination.options``) are all optional:

``endpoint_url``
    An S3-compatible store (MinIO, Ceph, R2, Wasabi, a test server): ``https://s3.example.net``. Without
    it, AWS S3. With it, boto3's default CRC checksums are turned off (``request_checksum_calculation``
    and ``response_checksum_validation`` = ``"when_required"``), which many such stores reject, and each
    PUT carries a ``Content-MD5`` instead, which they all check.
``addressing_style``
    ``"path"`` (``endpoint/bucket/key``), ``"virtual"`` (``bucket.endpoint/key``) or ``"auto"``.
    Default: ``"path"`` with an ``endpoint_url`` (what self-hosted stores expect), ``"auto"`` without.
``region``
    The bucket's region, e.g. ``"eu-west-1"``. Default: the standard AWS configuration (AWS_REGION,
    AWS_DEFAULT_REGION, the profile's region), else us-east-1.
``profile``
    A profile name from the AWS shared credentials and config files (~/.aws/credentials, ~/.aws/config).
``access_key_id_env``, ``secret_access_key_env``, ``session_token_env``
    The NAMES of environment variables that hold a partner's own keys, never the keys themselves:
    ``access_key_id_env = "PARTNER_ACME_S3_KEY_ID"``. The first two go together; the session token is
    optional. A named variable that is unset is a ConfigError. Not together with ``profile``.
    Without keys and without a profile: the standard AWS credential chain (environment, shared files,
    SSO, container or instance role), as any boto3 program finds it.
``sse``, ``sse_kms_key_id``
    Server-side encryption of every object: ``"AES256"`` (S3-managed keys) or ``"aws:kms"``, with an
    optional KMS key id or ARN for the latter. Default: none requested (the bucket's default applies).
``cache_control``
    ``{item = "...", feed = "..."}``: the Cache-Control stored with each object, which S3 (and a CDN in
    front of it) serves to readers. Defaults: item ``"public, max-age=3600"`` (items can be withdrawn
    and replaced, so not immutable), feed ``"public, max-age=60"``. An empty string stores none.
    Probe objects always get ``"no-store"``.
``connect_timeout``, ``read_timeout``
    Seconds; defaults 5 and 30.
``max_pool_connections``
    HTTP connections kept to the store; default 32. The publisher calls put() from several threads over
    one client, so this should be at least the number of those threads.

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
import re
import secrets
from collections.abc import Mapping
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

from wirepub.errors import ConfigError, DestinationError
from wirepub.transports import (
    DeliveryError,
    Destination,
    Put,
    seconds_option,
    secret_from_env,
    text_option,
)
from wirepub.vocabulary import PutKind

OPTIONS = frozenset({
    "endpoint_url", "addressing_style", "region", "profile",
    "access_key_id_env", "secret_access_key_env", "session_token_env",
    "sse", "sse_kms_key_id", "cache_control", "connect_timeout", "read_timeout", "max_pool_connections",
})
DEFAULT_CACHE_CONTROL = {"item": "public, max-age=3600", "feed": "public, max-age=60"}
PROBE_CACHE_CONTROL = "no-store"
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 30.0
DEFAULT_MAX_POOL_CONNECTIONS = 32
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
_TEXT_TYPES = re.compile(r"(text/[^;]+|[^/;]+/([^;]+\+)?(xml|json))\Z")


def parse_s3_url(url: str) -> tuple[str, str]:
    """(bucket, prefix) of s3://bucket/prefix; the prefix has no leading, trailing or doubled slashes."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        # Never repeat the URL here: what is before the @ is probably a key and its secret.
        raise DestinationError("an s3:// destination URL must not carry credentials (s3://key:secret@bucket); "
                               "name environment variables in the destination's access_key_id_env and "
                               "secret_access_key_env options instead, or use a profile")
    if parts.scheme.lower() != "s3" or not parts.netloc or ":" in parts.netloc:
        raise DestinationError(f"destination {url!r}: an S3 destination is s3://bucket or s3://bucket/prefix")
    if parts.query or parts.fragment or url.rstrip().endswith(("?", "#")):
        raise DestinationError(f"destination {url!r}: s3:// URLs take no query or fragment; "
                               "settings go in the destination's options")
    prefix = "/".join(segment for segment in parts.path.split("/") if segment)
    return parts.netloc, prefix


def content_type(media_type: str) -> str:
    """The Content-Type to store: UTF-8 said explicitly for XML, JSON and text documents."""
    base = media_type.split(";", 1)[0].strip().lower()
    if _TEXT_TYPES.match(base) and "charset=" not in media_type.lower():
        return f"{media_type}; charset=utf-8"
    return media_type


def _metadata_value(value: str) -> str:
    # S3 metadata travels as HTTP headers: ASCII only. Ids are ASCII by contract; anything else is
    # percent-encoded rather than failing a delivery over a label.
    return value if value.isascii() and value.isprintable() else quote(value, safe="")


class S3Transport:
    def __init__(self, destination: Destination, *, base_dir: Path) -> None:
        del base_dir  # nothing local about a bucket
        self.url = destination.url
        self.bucket, self.prefix = parse_s3_url(destination.url)
        options = dict(destination.options or {})
        unknown = sorted(set(options) - OPTIONS)
        if unknown:
            raise ConfigError(f"{self.url}: unknown option(s) {', '.join(unknown)} for an s3:// destination "
                              f"(known: {', '.join(sorted(OPTIONS))})")

        self.endpoint_url = self._endpoint(options.get("endpoint_url"))
        addressing = self._choice(options, "addressing_style", ("path", "virtual", "auto"),
                                  "path" if self.endpoint_url else "auto")
        region = text_option(self.url, options, "region")
        profile = text_option(self.url, options, "profile")
        self.sse = self._choice(options, "sse", ("AES256", "aws:kms"), None)
        self.sse_kms_key_id = text_option(self.url, options, "sse_kms_key_id")
        if self.sse_kms_key_id and self.sse != "aws:kms":
            raise ConfigError(f"{self.url}: option sse_kms_key_id needs sse = \"aws:kms\"")
        self.cache_control = self._cache_control(options.get("cache_control"))
        connect_timeout = seconds_option(self.url, options, "connect_timeout", DEFAULT_CONNECT_TIMEOUT)
        read_timeout = seconds_option(self.url, options, "read_timeout", DEFAULT_READ_TIMEOUT)
        pool = options.get("max_pool_connections", DEFAULT_MAX_POOL_CONNECTIONS)
        if isinstance(pool, bool) or not isinstance(pool, int) or pool < 1:
            raise ConfigError(f"{self.url}: option max_pool_connections must be a whole number of at least 1")

        session_kwargs, self._secrets, self._credentials_hint = self._credentials(options, profile)
        try:
            session = boto3.Session(**session_kwargs)
        except ProfileNotFound:
            raise ConfigError(f"{self.url}: AWS profile {profile!r} (option profile) is not in the AWS shared "
                              "credentials or config files; check the name, or AWS_SHARED_CREDENTIALS_FILE "
                              "and AWS_CONFIG_FILE") from None
        except ConfigParseError as exc:
            raise ConfigError(f"{self.url}: cannot read the AWS config files: {exc}") from None

        config_kwargs: dict[str, Any] = {
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
            "max_pool_connections": pool,
            "retries": {"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
            "s3": {"addressing_style": addressing},
        }
        if self.endpoint_url:
            config_kwargs["request_checksum_calculation"] = "when_required"
            config_kwargs["response_checksum_validation"] = "when_required"
        try:
            self._client: Any = session.client("s3", endpoint_url=self.endpoint_url, region_name=region,
                                               config=BotocoreConfig(**config_kwargs))
        except ProfileNotFound as exc:  # AWS_PROFILE naming a profile that is not there
            raise ConfigError(f"{self.url}: {exc}; check AWS_PROFILE or set option profile") from None
        except BotoCoreError as exc:
            raise ConfigError(f"{self.url}: cannot set up the S3 client: {self._scrub(str(exc))}") from None

        where = self.endpoint_url or f"AWS S3 ({self._client.meta.region_name or 'us-east-1'})"
        self.location = f"s3://{self.bucket}{'/' + self.prefix if self.prefix else ''} at {where}"
        self._closed = False

    # ---- options ----------------------------------------------------------------------------------------

    def _choice(self, options: Mapping[str, Any], name: str, allowed: tuple[str, ...],
                default: str | None) -> str | None:
        value = options.get(name, default)
        if value is not None and value not in allowed:
            raise ConfigError(f"{self.url}: option {name} must be one of {', '.join(map(repr, allowed))}, "
                              f"not {value!r}")
        return None if value is None else str(value)

    def _endpoint(self, value: Any) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value) if isinstance(value, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"{self.url}: option endpoint_url must be an http:// or https:// URL")
        if parts.username is not None or parts.password is not None:
            raise ConfigError(f"{self.url}: option endpoint_url must not carry credentials; name environment "
                              "variables in access_key_id_env and secret_access_key_env instead")
        return str(value).rstrip("/")

    def _cache_control(self, value: Any) -> dict[str, str]:
        chosen = dict(DEFAULT_CACHE_CONTROL)
        if value is None:
            return chosen
        if not isinstance(value, Mapping) or set(value) - set(DEFAULT_CACHE_CONTROL):
            raise ConfigError(f"{self.url}: option cache_control must be a table with keys item and/or feed, "
                              "e.g. {item = \"public, max-age=3600\", feed = \"public, max-age=60\"}")
        for kind, header in value.items():
            if not isinstance(header, str) or not header.isascii() or "\n" in header or "\r" in header:
                raise ConfigError(f"{self.url}: option cache_control.{kind} must be a one-line ASCII string")
            chosen[kind] = header.strip()
        return chosen

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
            raise DeliveryError(f"{self.url}: path {path!r} is not a relative path below the destination "
                                "(no leading, trailing or doubled slashes, no . or .. segments)", retryable=False)
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
            raise DeliveryError(f"{exc} (the probe object {self.key(probe.path)} was written but could not be "
                                f"removed{why})", retryable=exc.retryable, retry_after=exc.retry_after) from None

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
        except ClientError as exc:
            raise self._client_error(exc, verb, key) from None
        except (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError) as exc:
            # Retryable: an instance or container role can be briefly unreachable; a probe says it at once.
            raise DeliveryError(f"{self.url}: cannot {verb} {key}: no usable AWS credentials "
                                f"({self._scrub(str(exc))}); {self._credentials_hint}", retryable=True) from None
        except SSLError as exc:
            verify_failed = "CERTIFICATE_VERIFY_FAILED" in str(exc)
            hint = "; check endpoint_url and the store's certificate (AWS_CA_BUNDLE)" if verify_failed else ""
            raise DeliveryError(f"{self.url}: cannot {verb} {key}: TLS failed with {self.location}: {exc}{hint}",
                                retryable=not verify_failed) from None
        except (BotocoreConnectionError, HTTPClientError) as exc:
            # Refused, timed out, reset, closed mid-answer: the network or the store may mend.
            raise DeliveryError(f"{self.url}: cannot {verb} {key}: cannot reach the store at {self.location} "
                                f"({type(exc).__name__}: {exc})", retryable=True) from None
        except ParamValidationError as exc:
            raise DeliveryError(f"{self.url}: cannot {verb} {key}: {exc}", retryable=False) from None
        except BotoCoreError as exc:
            raise DeliveryError(f"{self.url}: cannot {verb} {key}: {type(exc).__name__}: "
                                f"{self._scrub(str(exc))}", retryable=True) from None

    def _client_error(self, exc: Any, verb: str, key: str) -> DeliveryError:
        response = exc.response or {}
        error = response.get("Error") or {}
        meta = response.get("ResponseMetadata") or {}
        code = str(error.get("Code") or "")
        status = meta.get("HTTPStatusCode")
        said = self._scrub(str(error.get("Message") or "")).strip()
        said_part = f": {said}" if said else ""
        start = f"{self.url}: cannot {verb} {key}"
        if code == "NoSuchBucket" or (status == 404 and code in ("", "404", "NotFound")):
            where = f" at {self.endpoint_url}" if self.endpoint_url else ""
            return DeliveryError(f"{start}: the bucket {self.bucket!r} does not exist{where}; create it, or "
                                 "correct the destination URL" + (" or endpoint_url" if where else ""),
                                 retryable=False)
        if code in REFUSED_CODES:
            return DeliveryError(f"{start}: the credentials were refused ({code}{said_part}); "
                                 f"{self._credentials_hint}", retryable=False)
        if code in DENIED_CODES or (status == 403 and code in ("", "403", "Forbidden")):
            needed = "s3:PutObject and s3:DeleteObject"
            if self.sse == "aws:kms":
                needed += ", kms:GenerateDataKey and kms:Decrypt on the KMS key"
            scope = f"arn:aws:s3:::{self.bucket}/{self.prefix + '/' if self.prefix else ''}*"
            return DeliveryError(f"{start}: the credentials were refused ({code or 'HTTP 403'}{said_part}): "
                                 f"they need {needed} on {scope}; {self._credentials_hint}", retryable=False)
        if code in REGION_CODES:
            return DeliveryError(f"{start}: the bucket is not where wirepub looked ({code}{said_part}); "
                                 "set the option region to the bucket's region", retryable=False)
        retryable = code in RETRYABLE_CODES or status in (408, 429) or (isinstance(status, int) and status >= 500)
        return DeliveryError(f"{start}: the store answered {code or 'an error'} (HTTP {status}){said_part}",
                             retryable=retryable, retry_after=_retry_after(meta) if retryable else None)


def _retry_after(meta: Mapping[str, Any]) -> float | None:
    value = (meta.get("HTTPHeaders") or {}).get("retry-after")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: rare from S3; the ledger's backoff applies
    return seconds if seconds is not None and seconds >= 0 else None
