"""The S3 blob backend against a real S3 server (SeaweedFS): a versioned bucket, and buckets whose
versioning is off, suspended or switched on later."""

from __future__ import annotations

import itertools
import os
import threading

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from callvault.blobs.s3 import S3BlobStore
from conftest import BUCKET

_prefixes = itertools.count()


@pytest.fixture
def store(scale_out):
    return S3BlobStore(
        BUCKET, f"unit-{next(_prefixes)}", endpoint_url=scale_out.s3.endpoint, part_size=5 << 20
    )


def _versions(store, key):
    return [(k, v, m) for k, v, m in store.iter_all_versions() if k == key]


def test_small_blob_round_trip_and_ranged_reads(store):
    data = os.urandom(100_000)
    writer = store.writer("audio/a/one")
    writer.write(data[:10])
    writer.write(data[10:])
    assert list(store.iter_keys()) == []  # invisible until committed
    assert writer.commit() == len(data)
    reader, size = store.open("audio/a/one")
    assert size == len(data)
    reader.seek(50_000)
    assert reader.read(1000) == data[50_000:51_000]
    reader.seek(0)
    assert reader.read() == data


def test_large_blob_streams_as_multipart_upload(store):
    chunk = os.urandom(1 << 20)
    writer = store.writer("audio/b/big")
    for _ in range(12):  # 12 MiB: three parts of 5 MiB
        writer.write(chunk)
    assert writer._upload_id is not None  # a multipart upload, not one buffered PUT
    assert writer.commit() == 12 << 20
    reader, size = store.open("audio/b/big")
    assert size == 12 << 20
    reader.seek((5 << 20) - 3)
    assert reader.read(6) == chunk[-3:] + chunk[:3]


def test_abort_leaves_no_object_and_no_open_upload(store):
    writer = store.writer("audio/c/gone")
    writer.write(os.urandom(6 << 20))
    writer.abort()
    assert list(store.iter_all_versions()) == []
    uploads = store.client.list_multipart_uploads(Bucket=BUCKET, Prefix=store.prefix)
    assert uploads.get("Uploads", []) == []


def test_delete_removes_every_version_and_delete_marker(store):
    key = "audio/d/versioned"
    for body in (b"v1", b"v2", b"v3"):
        writer = store.writer(key)
        writer.write(body)
        writer.commit()
    # A plain DELETE on a versioned bucket only hides the data behind a marker:
    store.client.delete_object(Bucket=BUCKET, Key=store.prefix + key)
    before = _versions(store, key)
    assert len([v for v in before if not v[2]]) == 3
    assert len([v for v in before if v[2]]) == 1
    neighbour = store.writer("audio/d/versioned-neighbour")  # shares the key as a prefix
    neighbour.write(b"keep")
    neighbour.commit()

    assert store.delete(key) == 4
    listed = store.client.list_object_versions(Bucket=BUCKET, Prefix=store.prefix + key)
    leftovers = [v["Key"] for v in listed.get("Versions", []) + listed.get("DeleteMarkers", [])]
    assert leftovers == [store.prefix + "audio/d/versioned-neighbour"]
    assert store.delete(key) == 0  # idempotent
    with pytest.raises(FileNotFoundError):
        store.open(key)


def test_delete_many_batches_and_reports_per_key(store):
    keys = [f"audio/e/k{n}" for n in range(30)]
    for key in keys:
        writer = store.writer(key)
        writer.write(b"x")
        writer.commit()
    result = store.delete_many([*keys, "audio/e/missing"])
    assert result == {**dict.fromkeys(keys, 1), "audio/e/missing": 0}
    assert list(store.iter_all_versions()) == []


def test_unreachable_s3_is_an_os_error(scale_out):
    client = boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    dead = S3BlobStore(BUCKET, "x", client=client)
    writer = dead.writer("audio/f/x")
    writer.write(b"data")
    with pytest.raises(OSError, match="S3 failed"):
        writer.commit()
    with pytest.raises(OSError, match="failed reading"):
        dead.open("audio/f/x")
    assert isinstance(dead.delete_many(["audio/f/x"])["audio/f/x"], Exception)


class _CountingClient:
    """The real boto3 client, counting the version listings asked of it."""

    def __init__(self, inner):
        self.inner = inner
        self.listings = 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def get_paginator(self, operation):
        if operation == "list_object_versions":
            self.listings += 1
        return self.inner.get_paginator(operation)


@pytest.mark.parametrize("size", [10, 6 << 20])  # one PutObject; a multipart upload
def test_a_commit_names_its_version_and_deleting_by_it_lists_nothing(store, size):
    key = f"audio/g/v{size}"
    writer = store.writer(key)
    writer.write(os.urandom(size))
    writer.commit()
    [(_, version, _)] = _versions(store, key)
    assert writer.version == version
    counting = _CountingClient(store.client)
    store.client = counting
    assert store.delete_many([key], {key: version}) == {key: 1}
    assert counting.listings == 0
    assert _versions(store, key) == []
    # A retry after a crash deletes the same version again: it is gone, and that is no error.
    assert store.delete_many([key], {key: version}) == {key: 1}
    assert _versions(store, key) == []


def test_keys_without_a_known_version_are_still_listed_every_version(store):
    key, other = "audio/g/listed", "audio/g/known"
    versions = {}
    for k in (key, key, other):  # the first key written twice: two versions
        writer = store.writer(k)
        writer.write(b"x")
        writer.commit()
        versions[k] = writer.version
    assert len(_versions(store, key)) == 2
    counting = _CountingClient(store.client)
    store.client = counting
    result = store.delete_many([key, other], {other: versions[other]})
    assert result == {key: 2, other: 1}
    assert counting.listings == 1  # the unknown key's, alone
    assert list(store.iter_all_versions()) == []


# Buckets are unversioned by default, and a bucket's versioning may be switched on or suspended
# after calls were written to it. SeaweedFS gives every bucket volumes of its own (the test
# server's are capped), so the tests share one bucket per state, each test under its own prefix.
_made: dict[str | None, str] = {}


def _bucket(scale_out, versioning: str | None, own: bool = False) -> S3BlobStore:
    """A store on a bucket whose versioning is ``versioning`` (None: never set); ``own``: a new
    bucket, for a test that changes the bucket's versioning."""
    if versioning == "Enabled" and not own:
        name = BUCKET
    elif versioning in _made and not own:
        name = _made[versioning]
    else:
        name = f"callvault-{str(versioning).lower()}-{next(_prefixes)}"
        client = scale_out.s3.client()
        client.create_bucket(Bucket=name)
        if versioning is not None:
            client.put_bucket_versioning(
                Bucket=name, VersioningConfiguration={"Status": versioning}
            )
        if not own:
            _made[versioning] = name
    return S3BlobStore(
        name, f"plain-{next(_prefixes)}", endpoint_url=scale_out.s3.endpoint, part_size=5 << 20
    )


@pytest.mark.parametrize("size", [10, 6 << 20])  # one PutObject; a multipart upload
@pytest.mark.parametrize("versioning", [None, "Suspended"])
def test_without_versioning_a_commit_names_the_null_version_and_erasure_lists_nothing(
    scale_out, size, versioning
):
    # S3 names the one version of an object written while versioning is off (or suspended)
    # "null", though the write's answer names none: deleting by it removes the object for good,
    # so erasure needs no listing on the buckets most stores use.
    store = _bucket(scale_out, versioning)
    key = f"audio/h/n{size}"
    writer = store.writer(key)
    writer.write(os.urandom(size))
    writer.commit()
    assert writer.version == "null"
    counting = _CountingClient(store.client)
    store.client = counting
    assert store.delete_many([key], {key: writer.version}) == {key: 1}
    assert counting.listings == 0
    assert list(store.iter_all_versions()) == []
    # A retry after a crash: the version is gone already, and that is no error.
    assert store.delete_many([key], {key: writer.version}) == {key: 1}


def test_a_null_version_is_still_erased_for_good_after_versioning_is_switched_on(scale_out):
    # A plain DELETE would now only hide the object behind a delete marker; deleting the
    # recorded "null" version removes the data itself.
    store = _bucket(scale_out, None, own=True)
    writer = store.writer("audio/h/before")
    writer.write(b"recorded before versioning")
    writer.commit()
    store.client.put_bucket_versioning(
        Bucket=store.bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    assert store.delete_many(["audio/h/before"], {"audio/h/before": writer.version}) == {
        "audio/h/before": 1
    }
    assert list(store.iter_all_versions()) == []


class _Unsure:
    """The real client, made to answer like a store that leaves the version out of a write's
    answer, and optionally like credentials that may not read the bucket's versioning."""

    def __init__(self, inner, may_ask: bool):
        self.inner = inner
        self.may_ask = may_ask
        self.asked = 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def put_object(self, **kwargs):
        return {k: v for k, v in self.inner.put_object(**kwargs).items() if k != "VersionId"}

    def get_bucket_versioning(self, **kwargs):
        self.asked += 1
        if not self.may_ask:
            raise ClientError({"Error": {"Code": "AccessDenied"}}, "GetBucketVersioning")
        return self.inner.get_bucket_versioning(**kwargs)


@pytest.mark.parametrize(
    ("versioning", "may_ask"), [("Enabled", True), ("Enabled", False), (None, False)]
)
def test_a_version_not_known_for_sure_is_left_unnamed_and_erasure_lists(
    scale_out, versioning, may_ask
):
    # "null" is assumed only when the bucket says its versioning is off or suspended: were it on
    # and the answer silent, deleting "null" would leave the real version behind.
    store = _bucket(scale_out, versioning)
    store.client = unsure = _Unsure(store.client, may_ask)
    for key in ("audio/h/unsure", "audio/h/unsure-too"):
        writer = store.writer(key)
        writer.write(b"x")
        writer.commit()
        assert writer.version is None
    # Asked once, allowed or not: a refusal is not asked again at every capture.
    assert unsure.asked == 1
    result = store.delete_many(["audio/h/unsure", "audio/h/unsure-too"])
    assert result == {"audio/h/unsure": 1, "audio/h/unsure-too": 1}
    assert list(store.iter_all_versions()) == []


class _SideBySide:
    """The real client, whose DeleteObjects waits until a second one is in flight (so requests
    sent one after the other fail on the barrier's timeout), and fails any batch holding
    ``poisoned``."""

    def __init__(self, inner, poisoned: str):
        self.inner = inner
        self.poisoned = poisoned
        self.barrier = threading.Barrier(2, timeout=10)
        self.requests = 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def delete_objects(self, **kwargs):
        self.requests += 1
        self.barrier.wait()  # raises BrokenBarrierError if no other request comes
        if any(o["Key"].endswith(self.poisoned) for o in kwargs["Delete"]["Objects"]):
            raise ClientError({"Error": {"Code": "SlowDown"}}, "DeleteObjects")
        return self.inner.delete_objects(**kwargs)


def test_one_erasure_sends_its_deletes_side_by_side_and_a_failed_request_fails_its_keys(store):
    # SeaweedFS spreads concurrent DeleteObjects over its cores, one request over one: a worker's
    # batch of 1,000 goes as several requests at once. A request that fails fails its keys only.
    keys = [f"audio/i/k{n:02}" for n in range(8)]
    versions = {}
    for key in keys:
        writer = store.writer(key)
        writer.write(b"x")
        writer.commit()
        versions[key] = writer.version
    side_by_side = _SideBySide(store.client, poisoned="k00")
    store.client = side_by_side
    result = store.delete_many(keys, versions)
    store.client = side_by_side.inner
    assert side_by_side.requests == 4  # 8 keys over 4 requests of 2
    assert isinstance(result.pop("audio/i/k00"), OSError | ClientError)
    assert isinstance(result.pop("audio/i/k01"), OSError | ClientError)  # k00's request-mate
    assert result == dict.fromkeys(keys[2:], 1)
    assert [k for k, _, _ in store.iter_all_versions()] == ["audio/i/k00", "audio/i/k01"]


def test_a_server_that_never_answers_fails_the_request_instead_of_holding_it(monkeypatch):
    """Issue 35's stall: botocore's defaults (60 s a read, times the retries) let one silent
    request hold a worker, and the jobs its heartbeat kept leased, for many minutes. Each
    attempt is now bounded by the store's timeout: the read fails, and says so."""
    import socket

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "callvault-test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []

    def accept_and_say_nothing() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)  # read nothing, answer nothing, keep it open

    threading.Thread(target=accept_and_say_nothing, daemon=True).start()
    port = listener.getsockname()[1]
    silent = S3BlobStore(
        BUCKET, "silent", endpoint_url=f"http://127.0.0.1:{port}", timeout_seconds=0.2
    )
    outcome: list[BaseException | None] = []

    def read() -> None:
        try:
            silent.open("audio/x")
        except BaseException as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(30)  # botocore's defaults would keep it for 8 minutes
    listener.close()
    for conn in held:
        conn.close()
    assert not reader.is_alive(), "a request to a silent server was still waiting after 30 s"
    assert isinstance(outcome[0], OSError)
    assert 1 <= len(held) <= 4  # a few attempts, each cut by the timeout
