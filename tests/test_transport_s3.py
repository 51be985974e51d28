"""s3:// destinations, against real S3 over HTTP: moto's server in a subprocess, and a scripted server for
the answers moto will not give. Nothing here patches boto3."""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from wirepub.errors import ConfigError, DestinationError
from wirepub.transports import (
    DeliveryError,
    Destination,
    Misconfigured,
    Put,
    Refused,
    Throttled,
    Unreachable,
    open_transport,
)
from wirepub.transports.s3 import S3Transport, content_type, parse_s3_url
from wirepub_testkit.ports import free_port
from wirepub_testkit.servers.s3 import AuthS3, ScriptedS3, admin_client

ITEM = Put("items/story-1/v2.xml", b"<newsItem>caf\xc3\xa9</newsItem>", "application/vnd.iptc.g2.newsitem+xml",
           kind="item", format="newsml", story_id="story-1", version=2, idempotency_key="dlv-41")
FEED = Put("feeds/main.rss", b"<rss version='2.0'/>", "application/rss+xml", kind="feed", format="rss",
           idempotency_key="dlv-42")


def s3(endpoint: str, url: str, **options: Any) -> S3Transport:
    return S3Transport(Destination(url, {"endpoint_url": endpoint, **options}), base_dir=Path("."))


def keys_in(endpoint: str, bucket: str, client: Any = None) -> list[str]:
    listed = (client or admin_client(endpoint)).list_objects_v2(Bucket=bucket)
    return sorted(obj["Key"] for obj in listed.get("Contents", []))


# ---- what lands, and how ------------------------------------------------------------------------------

def test_an_item_and_a_feed_land_with_their_types_caching_and_metadata(s3_server, s3_bucket):
    t = s3(s3_server, f"s3://{s3_bucket}/wire")
    t.put(ITEM)
    t.put(FEED)
    t.close()
    client = admin_client(s3_server)

    item = client.get_object(Bucket=s3_bucket, Key="wire/items/story-1/v2.xml")
    assert item["Body"].read() == ITEM.data
    assert item["ContentType"] == "application/vnd.iptc.g2.newsitem+xml; charset=utf-8"
    assert item["CacheControl"] == "public, max-age=3600"
    assert item["Metadata"] == {"wirepub-story": "story-1", "wirepub-version": "2", "wirepub-format": "newsml",
                                "wirepub-idempotency-key": "dlv-41"}

    feed = client.get_object(Bucket=s3_bucket, Key="wire/feeds/main.rss")
    assert feed["Body"].read() == FEED.data
    assert feed["ContentType"] == "application/rss+xml; charset=utf-8"
    assert feed["CacheControl"] == "public, max-age=60"
    # A feed belongs to no one story: only the metadata the Put has.
    assert feed["Metadata"] == {"wirepub-format": "rss", "wirepub-idempotency-key": "dlv-42"}


def test_cache_control_is_configurable_per_kind(s3_server, s3_bucket):
    t = s3(s3_server, f"s3://{s3_bucket}", cache_control={"feed": "public, max-age=5", "item": ""})
    t.put(ITEM)
    t.put(FEED)
    client = admin_client(s3_server)
    assert "CacheControl" not in client.head_object(Bucket=s3_bucket, Key=ITEM.path)
    assert client.head_object(Bucket=s3_bucket, Key=FEED.path)["CacheControl"] == "public, max-age=5"


def test_non_ascii_metadata_is_percent_encoded_not_a_failed_delivery(s3_server, s3_bucket):
    t = s3(s3_server, f"s3://{s3_bucket}")
    t.put(Put("items/x.json", b"{}", "application/json", story_id="café", version=1))
    meta = admin_client(s3_server).head_object(Bucket=s3_bucket, Key="items/x.json")["Metadata"]
    assert meta["wirepub-story"] == "caf%C3%A9"


@pytest.mark.parametrize(("media_type", "stored"), [
    ("application/xml", "application/xml; charset=utf-8"),
    ("application/rss+xml", "application/rss+xml; charset=utf-8"),
    ("application/feed+json", "application/feed+json; charset=utf-8"),
    ("application/json", "application/json; charset=utf-8"),
    ("text/plain", "text/plain; charset=utf-8"),
    ("application/xml; charset=utf-8", "application/xml; charset=utf-8"),
    ("image/jpeg", "image/jpeg"),
    ("application/octet-stream", "application/octet-stream"),
])
def test_content_type_says_utf8_for_text_documents_only(media_type, stored):
    assert content_type(media_type) == stored


@pytest.mark.parametrize(("url", "path", "key"), [
    ("s3://{b}", "a/b.xml", "a/b.xml"),
    ("s3://{b}/", "a/b.xml", "a/b.xml"),
    ("s3://{b}/wire", "a/b.xml", "wire/a/b.xml"),
    ("s3://{b}/wire/", "a/b.xml", "wire/a/b.xml"),
    ("s3://{b}//wire//acme/", "b.xml", "wire/acme/b.xml"),
])
def test_the_prefix_is_joined_with_one_slash(s3_server, s3_bucket, url, path, key):
    t = s3(s3_server, url.format(b=s3_bucket))
    t.put(Put(path, b"x", "application/xml"))
    assert keys_in(s3_server, s3_bucket) == [key]


@pytest.mark.parametrize("path", ["../escape.xml", "a/../../b.xml", "/abs.xml", "a//b.xml", "a/./b.xml", "", "a/"])
def test_paths_must_be_plainly_relative(s3_server, s3_bucket, path):
    t = s3(s3_server, f"s3://{s3_bucket}/wire")
    with pytest.raises(DeliveryError, match="not a relative path") as caught:
        t.put(Put(path, b"x", "text/plain"))
    assert not caught.value.retryable
    assert keys_in(s3_server, s3_bucket) == []


def test_putting_again_replaces_the_object(s3_server, s3_bucket):
    t = s3(s3_server, f"s3://{s3_bucket}/p")
    t.put(Put("items/a.xml", b"first", "application/xml", version=1))
    t.put(Put("items/a.xml", b"second", "application/xml", version=2))
    got = admin_client(s3_server).get_object(Bucket=s3_bucket, Key="p/items/a.xml")
    assert got["Body"].read() == b"second"
    assert got["Metadata"]["wirepub-version"] == "2"
    assert keys_in(s3_server, s3_bucket) == ["p/items/a.xml"]


def test_delete_removes_and_missing_is_not_an_error(s3_server, s3_bucket):
    t = s3(s3_server, f"s3://{s3_bucket}/p")
    t.put(Put("items/a.xml", b"x", "application/xml"))
    t.put(Put("items/b.xml", b"y", "application/xml"))
    t.delete("items/a.xml")
    assert keys_in(s3_server, s3_bucket) == ["p/items/b.xml"]
    t.delete("items/a.xml")  # again: already gone
    t.delete("items/never.xml")
    assert keys_in(s3_server, s3_bucket) == ["p/items/b.xml"]


def test_probe_writes_and_leaves_nothing_behind(s3_server, s3_bucket):
    admin_client(s3_server).put_object(Bucket=s3_bucket, Key="p/keep.xml", Body=b"k")
    s3(s3_server, f"s3://{s3_bucket}/p").probe()
    assert keys_in(s3_server, s3_bucket) == ["p/keep.xml"]
    with pytest.raises(DeliveryError, match="does not exist"):  # it does talk to the store
        s3(s3_server, f"s3://{s3_bucket}-missing/p").probe()


def test_a_probe_that_may_write_but_not_delete_says_so(s3_auth_server: AuthS3, aws_env, monkeypatch):
    auth = s3_auth_server
    writer = admin_client(auth.endpoint, *auth.writer)
    bucket = f"{auth.bucket}-nodelete"
    writer.create_bucket(Bucket=bucket)
    writer.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
    monkeypatch.setenv("ACME_S3_KEY_ID", auth.writer[0])
    monkeypatch.setenv("ACME_S3_SECRET", auth.writer[1])
    t = s3(auth.endpoint, f"s3://{bucket}/p",
           access_key_id_env="ACME_S3_KEY_ID", secret_access_key_env="ACME_S3_SECRET")
    with pytest.raises(DeliveryError, match=r"probe object p/\.wirepub-probe-\w+ was written but could not be removed"
                       ".*s3:DeleteObject") as caught:
        t.probe()
    assert not caught.value.retryable
    assert [k.startswith("p/.wirepub-probe-") for k in keys_in(auth.endpoint, bucket, writer)] == [True]


def test_server_side_encryption_aes256(s3_server, s3_bucket):
    s3(s3_server, f"s3://{s3_bucket}", sse="AES256").put(ITEM)
    head = admin_client(s3_server).head_object(Bucket=s3_bucket, Key=ITEM.path)
    assert head["ServerSideEncryption"] == "AES256"


def test_server_side_encryption_kms_with_a_key(s3_server, s3_bucket):
    kms_key = admin_client(s3_server, service="kms").create_key()["KeyMetadata"]["Arn"]
    s3(s3_server, f"s3://{s3_bucket}", sse="aws:kms", sse_kms_key_id=kms_key).put(ITEM)
    head = admin_client(s3_server).head_object(Bucket=s3_bucket, Key=ITEM.path)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == kms_key


def test_without_sse_none_is_requested(s3_server, s3_bucket):
    s3(s3_server, f"s3://{s3_bucket}").put(ITEM)
    assert "ServerSideEncryption" not in admin_client(s3_server).head_object(Bucket=s3_bucket, Key=ITEM.path)


def test_one_transport_serves_many_threads(s3_server, s3_bucket):
    t = s3(s3_server, f"s3://{s3_bucket}/t")
    docs = [Put(f"items/{i}.xml", f"<i>{i}</i>".encode(), "application/xml") for i in range(40)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(t.put, docs))
    client = admin_client(s3_server)
    assert keys_in(s3_server, s3_bucket) == sorted(f"t/{d.path}" for d in docs)
    assert all(client.get_object(Bucket=s3_bucket, Key=f"t/{d.path}")["Body"].read() == d.data for d in docs[::7])


def test_the_registry_opens_it_by_scheme(s3_server, s3_bucket):
    t = open_transport(Destination(f"s3://{s3_bucket}/r", {"endpoint_url": s3_server}), base_dir=Path("."))
    assert isinstance(t, S3Transport)
    t.put(FEED)
    assert keys_in(s3_server, s3_bucket) == ["r/feeds/main.rss"]
    assert t.location == f"s3://{s3_bucket}/r at {s3_server}"


# ---- failures, and whether trying again can help -------------------------------------------------------

def test_a_missing_bucket_is_not_retryable_and_says_so(s3_server, aws_env):
    t = s3(s3_server, "s3://no-such-bucket-here/p")
    with pytest.raises(DeliveryError) as caught:
        t.put(ITEM)
    assert not caught.value.retryable
    assert isinstance(caught.value, Misconfigured)
    message = str(caught.value)
    assert message.startswith("s3://no-such-bucket-here/p: ")
    assert "the bucket 'no-such-bucket-here' does not exist" in message


def test_a_refused_connection_is_retryable(aws_env):
    port = free_port()
    t = S3Transport(Destination("s3://b/p", {"endpoint_url": f"http://127.0.0.1:{port}", "connect_timeout": 1}),
                    base_dir=Path("."))
    started = time.monotonic()
    with pytest.raises(DeliveryError) as caught:
        t.put(ITEM)
    assert caught.value.retryable
    assert isinstance(caught.value, Unreachable)
    assert str(caught.value).startswith("s3://b/p: ")
    assert "cannot reach the store" in str(caught.value)
    assert time.monotonic() - started < 5  # one quick botocore retry at most, then the ledger's turn


def test_a_store_that_never_answers_times_out_retryably(aws_env):
    with socket.socket() as silent:  # accepts connections (the kernel does), never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        endpoint = f"http://127.0.0.1:{silent.getsockname()[1]}"
        t = s3(endpoint, "s3://b", read_timeout=0.3)
        started = time.monotonic()
        with pytest.raises(DeliveryError, match="ReadTimeoutError") as caught:
            t.put(ITEM)
    assert caught.value.retryable
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(("status", "code", "retryable", "attempts"), [
    (503, "SlowDown", True, 2),
    (500, "InternalError", True, 2),
    (503, "ServiceUnavailable", True, 2),
    (400, "RequestTimeout", True, 2),
    (400, "InvalidArgument", False, 1),
    (400, "EntityTooLarge", False, 1),
])
def test_store_answers_decide_retryable(scripted_s3: ScriptedS3, aws_env, status, code, retryable, attempts):
    scripted_s3.answer(status, code)
    t = s3(scripted_s3.endpoint, "s3://b/p")
    with pytest.raises(DeliveryError) as caught:
        t.put(ITEM)
    assert caught.value.retryable is retryable
    assert isinstance(caught.value, Throttled if retryable else Refused)
    assert code in str(caught.value)
    assert str(caught.value).startswith("s3://b/p: ")
    assert len(scripted_s3.requests) == attempts  # botocore retries once, and only what may mend


def test_retry_after_is_passed_on(scripted_s3: ScriptedS3, aws_env):
    scripted_s3.answer(503, "SlowDown", {"Retry-After": "7"})
    with pytest.raises(DeliveryError) as caught:
        s3(scripted_s3.endpoint, "s3://b").put(ITEM)
    assert caught.value.retryable
    assert isinstance(caught.value, Throttled)
    assert caught.value.retry_after == 7


def test_s3_compatible_stores_get_content_md5_and_no_crc_checksums(scripted_s3: ScriptedS3, aws_env):
    scripted_s3.answer(200, headers={"ETag": '"abc"'})
    s3(scripted_s3.endpoint, "s3://b/p").put(ITEM)
    [request] = scripted_s3.requests
    assert request.method == "PUT"
    assert request.path == "/b/p/items/story-1/v2.xml"  # path-style addressing by default with an endpoint
    assert request.body == ITEM.data
    assert request.headers["content-md5"] == base64.b64encode(hashlib.md5(ITEM.data).digest()).decode()
    assert not [h for h in request.headers if h.startswith(("x-amz-checksum", "x-amz-sdk-checksum"))]
    assert "aws-chunked" not in request.headers.get("content-encoding", "")


# ---- credentials ---------------------------------------------------------------------------------------

def test_partner_keys_from_named_environment_variables(s3_auth_server: AuthS3, aws_env, monkeypatch):
    auth = s3_auth_server
    # The standard chain's keys (aws_env's dummies) are refused by this server ...
    with pytest.raises(DeliveryError, match="credentials were refused"):
        s3(auth.endpoint, f"s3://{auth.bucket}/chain").put(ITEM)
    # ... so landing proves the partner's keys came from the variables the options name.
    monkeypatch.setenv("ACME_S3_KEY_ID", auth.writer[0])
    monkeypatch.setenv("ACME_S3_SECRET", auth.writer[1])
    t = s3(auth.endpoint, f"s3://{auth.bucket}/acme",
           access_key_id_env="ACME_S3_KEY_ID", secret_access_key_env="ACME_S3_SECRET")
    t.put(ITEM)
    t.probe()
    writer = admin_client(auth.endpoint, *auth.writer)
    assert writer.get_object(Bucket=auth.bucket, Key=f"acme/{ITEM.path}")["Body"].read() == ITEM.data
    for secret in auth.writer:
        assert secret not in t.location
    assert t.location == f"s3://{auth.bucket}/acme at {auth.endpoint}"


@pytest.mark.parametrize(("who", "code"), [
    ("unknown", "InvalidAccessKeyId"),
    ("wrong-secret", "SignatureDoesNotMatch"),
    ("reader", "AccessDenied"),
])
def test_refused_credentials_are_not_retryable_and_name_variables_not_values(
        s3_auth_server: AuthS3, aws_env, monkeypatch, who, code):
    auth = s3_auth_server
    key_id, secret = {"unknown": ("AKIAUNKNOWNKEY000000", "unknown-secret-value"),
                      "wrong-secret": (auth.writer[0], auth.writer[1][::-1]),
                      "reader": auth.reader}[who]
    monkeypatch.setenv("ACME_S3_KEY_ID", key_id)
    monkeypatch.setenv("ACME_S3_SECRET", secret)
    t = s3(auth.endpoint, f"s3://{auth.bucket}/acme",
           access_key_id_env="ACME_S3_KEY_ID", secret_access_key_env="ACME_S3_SECRET")
    with pytest.raises(DeliveryError) as caught:
        t.put(ITEM)
    message = str(caught.value)
    assert not caught.value.retryable
    assert isinstance(caught.value, Refused)
    assert message.startswith(f"s3://{auth.bucket}/acme: ")
    assert "credentials were refused" in message and code in message
    assert "ACME_S3_KEY_ID" in message and "ACME_S3_SECRET" in message
    assert key_id not in message and secret not in message


def test_a_profile_from_the_shared_credentials_file(s3_auth_server: AuthS3, aws_env, monkeypatch, tmp_path):
    auth = s3_auth_server
    credentials = tmp_path / "credentials"
    credentials.write_text(f"[acme]\naws_access_key_id = {auth.writer[0]}\n"
                           f"aws_secret_access_key = {auth.writer[1]}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    s3(auth.endpoint, f"s3://{auth.bucket}/profiled", profile="acme").put(FEED)
    assert "profiled/feeds/main.rss" in keys_in(auth.endpoint, auth.bucket, admin_client(auth.endpoint, *auth.writer))
    with pytest.raises(ConfigError, match="'nobody'.*not in the AWS shared credentials"):
        s3(auth.endpoint, f"s3://{auth.bucket}", profile="nobody")


def test_no_credentials_at_all_says_where_to_put_them(scripted_s3: ScriptedS3, aws_env, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(DeliveryError, match="no usable AWS credentials.*access_key_id_env"):
        s3(scripted_s3.endpoint, "s3://b").put(ITEM)
    assert scripted_s3.requests == []


@pytest.mark.parametrize("unset", ["ACME_S3_KEY_ID", "ACME_S3_SECRET", "ACME_S3_TOKEN"])
def test_an_unset_variable_is_a_config_error_naming_option_and_variable(aws_env, monkeypatch, unset):
    values = {"ACME_S3_KEY_ID": "AKIAVALUEVALUEVALUE1", "ACME_S3_SECRET": "s3cr3t-value",
              "ACME_S3_TOKEN": "t0ken-value"}
    for name, value in values.items():
        if name != unset:
            monkeypatch.setenv(name, value)
    option = {"ACME_S3_KEY_ID": "access_key_id_env", "ACME_S3_SECRET": "secret_access_key_env",
              "ACME_S3_TOKEN": "session_token_env"}[unset]
    with pytest.raises(ConfigError) as caught:
        S3Transport(Destination("s3://b", {"access_key_id_env": "ACME_S3_KEY_ID",
                                           "secret_access_key_env": "ACME_S3_SECRET",
                                           "session_token_env": "ACME_S3_TOKEN"}), base_dir=Path("."))
    message = str(caught.value)
    assert f"option {option} names the environment variable {unset}, which is not set" in message
    assert not any(value in message for value in values.values())


@pytest.mark.parametrize("value", ["AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"])
def test_a_key_given_where_a_variable_name_belongs_is_refused_without_repeating_it(aws_env, value):
    with pytest.raises(ConfigError, match="NAME of an environment variable") as caught:
        S3Transport(Destination("s3://b", {"access_key_id_env": value, "secret_access_key_env": value}),
                    base_dir=Path("."))
    assert value not in str(caught.value)


# ---- configuration -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("options", "says"), [
    ({"endpoint": "http://x"}, "unknown option"),
    ({"addressing_style": "sideways"}, "addressing_style"),
    ({"sse": "rot13"}, "sse"),
    ({"sse": "AES256", "sse_kms_key_id": "k"}, "sse_kms_key_id"),
    ({"connect_timeout": 0}, "connect_timeout"),
    ({"connect_timeout": 1e300}, "connect_timeout"),
    ({"max_pool_connections": 10**9}, "max_pool_connections must be a whole number of at least 1 and at most"),
    ({"read_timeout": "slow"}, "read_timeout"),
    ({"max_pool_connections": "many"}, "max_pool_connections"),
    ({"cache_control": {"items": "no-cache"}}, "cache_control"),
    ({"cache_control": {"item": "a\r\nX-Evil: 1"}}, "cache_control"),
    ({"endpoint_url": "ftp://store"}, "endpoint_url"),
    ({"region": ""}, "region"),
    ({"profile": "acme", "access_key_id_env": "A", "secret_access_key_env": "B"}, "profile"),
    ({"access_key_id_env": "A"}, "go together"),
])
def test_bad_options_are_config_errors(aws_env, options, says):
    with pytest.raises(ConfigError, match=says):
        S3Transport(Destination("s3://b", options), base_dir=Path("."))


def test_an_endpoint_with_credentials_is_refused_without_repeating_them(aws_env):
    with pytest.raises(ConfigError) as caught:
        S3Transport(Destination("s3://b", {"endpoint_url": "https://key:hunter2@store.example"}), base_dir=Path("."))
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(("url", "bucket", "prefix"), [
    ("s3://b", "b", ""), ("s3://b/", "b", ""), ("s3://b/x/y/", "b", "x/y"), ("s3://b//x", "b", "x"),
])
def test_urls(url, bucket, prefix):
    assert parse_s3_url(url) == (bucket, prefix)


@pytest.mark.parametrize("url", ["s3://", "s3:///prefix", "s3://b:9000/x", "s3://b/x?region=eu", "s3://b/x#f"])
def test_urls_that_cannot_be_used(url):
    with pytest.raises(DestinationError):
        parse_s3_url(url)


def test_a_url_carrying_credentials_is_refused_without_repeating_them():
    with pytest.raises(DestinationError) as caught:
        parse_s3_url("s3://AKIAIOSFODNN7EXAMPLE:hunter2@bucket/wire")
    assert "hunter2" not in str(caught.value) and "AKIAIOSFODNN7EXAMPLE" not in str(caught.value)


def test_location_on_aws_names_bucket_and_region(aws_env):
    t = S3Transport(Destination("s3://newsroom/wire", {"region": "eu-west-1"}), base_dir=Path("."))
    assert t.location == "s3://newsroom/wire at AWS S3 (eu-west-1)"
    t.close()
    t.close()  # closing twice is harmless
