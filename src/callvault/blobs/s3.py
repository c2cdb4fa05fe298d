"""The S3 blob backend (boto3), for deployments that outgrow one disk.

Uploads stream as multipart uploads (parts of ``part_size``), so memory stays flat; nothing is
visible under a key until the upload completes. Reads are ranged GETs behind a seekable file
object. Erasure deletes *every version and delete marker* of a key by version ID: on a versioned
bucket a plain DELETE only adds a delete marker and keeps the data.

Each commit records the one version it made, so erasure deletes that version without listing the
key's. A versioned bucket's answer names it. On a bucket whose versioning is off (the default) or
suspended, S3 calls an object's one version ``null`` and the answer names none: deleting version
``null`` removes the object for good, even after versioning is switched on (when a plain DELETE
would only hide it behind a marker). ``null`` is assumed only when the bucket says its versioning
is off or suspended; otherwise an unnamed version is left unknown and erasure lists the key.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

MIN_PART = 5 * 1024 * 1024  # S3's smallest part but the last
NULL_VERSION = "null"  # S3's version ID of an object written while versioning was off/suspended
UNKNOWN = "unknown"  # a bucket's versioning when the credentials may not read it
# Objects per DeleteObjects request (S3 allows 1,000). The server answers a request only when it
# has deleted every object of it, and a versioned delete costs SeaweedFS several filer writes:
# a request of 1,000 on a busy machine took minutes, past any timeout a worker can wait out, and
# when a worker gives up on a request the server goes on working on it while the retry queues
# behind it (issue 35's stall). Requests of 100 are answered within seconds, even then.
DELETE_BATCH = 100
PARALLEL_DELETES = 4  # DeleteObjects requests one erasure batch has in flight at once


@contextlib.contextmanager
def _as_os_error(doing: str) -> Iterator[None]:
    """S3 failures surface as OSError, like a failing disk, so callers handle one kind."""
    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise OSError(f"S3 failed while {doing}: {exc}") from exc


class S3Writer:
    def __init__(self, store: S3BlobStore, key: str) -> None:
        self._store = store
        self._key = key
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._size = 0
        self.version: str | None = None

    def _flush_part(self) -> None:
        s3, bucket = self._store.client, self._store.bucket
        if self._upload_id is None:
            self._upload_id = s3.create_multipart_upload(Bucket=bucket, Key=self._key)["UploadId"]
        number = len(self._parts) + 1
        answer = s3.upload_part(
            Bucket=bucket,
            Key=self._key,
            PartNumber=number,
            UploadId=self._upload_id,
            Body=bytes(self._buffer),
        )
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})
        self._buffer.clear()

    def write(self, data: bytes) -> None:
        self._buffer += data
        self._size += len(data)
        if len(self._buffer) >= self._store.part_size:
            with _as_os_error("uploading"):
                self._flush_part()

    def commit(self) -> int:
        with _as_os_error("completing an upload"):
            return self._commit()

    def _commit(self) -> int:
        s3, bucket = self._store.client, self._store.bucket
        if self._upload_id is None:
            answer = s3.put_object(Bucket=bucket, Key=self._key, Body=bytes(self._buffer))
        else:
            if self._buffer:
                self._flush_part()
            answer = s3.complete_multipart_upload(
                Bucket=bucket,
                Key=self._key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts},
            )
        self._buffer.clear()
        self.version = self._store.version_written(answer)
        return self._size

    def abort(self) -> None:
        self._buffer.clear()
        if self._upload_id is not None:
            upload_id, self._upload_id = self._upload_id, None
            # An abandoned upload holds only ciphertext; a bucket lifecycle rule reaps it.
            with contextlib.suppress(BotoCoreError, ClientError):
                self._store.client.abort_multipart_upload(
                    Bucket=self._store.bucket, Key=self._key, UploadId=upload_id
                )


class S3RangeReader(io.RawIOBase):
    """Seekable reads of one object through ranged GETs, ``window`` bytes at a time."""

    def __init__(self, store: S3BlobStore, key: str, size: int, window: int = 1024 * 1024) -> None:
        super().__init__()
        self._store, self._key, self.size, self._window = store, key, size, window
        self._pos = 0
        self._cache_start = 0
        self._cache = b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._pos >= self.size:
            return 0
        offset = self._pos - self._cache_start
        if not 0 <= offset < len(self._cache):
            end = min(self.size, self._pos + max(self._window, len(buffer))) - 1
            with _as_os_error("reading"):
                answer = self._store.client.get_object(
                    Bucket=self._store.bucket, Key=self._key, Range=f"bytes={self._pos}-{end}"
                )
                self._cache = answer["Body"].read()
            self._cache_start, offset = self._pos, 0
        piece = self._cache[offset : offset + len(buffer)]
        view = memoryview(buffer).cast("B")
        view[: len(piece)] = piece
        self._pos += len(piece)
        return len(piece)


class S3BlobStore:
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        part_size: int = 8 * 1024 * 1024,
        client: Any = None,
        delete_threads: int = 16,
        timeout_seconds: float = 20.0,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.part_size = max(part_size, MIN_PART)
        # "standard" retry mode backs off on throttling (503 SlowDown) and transient errors.
        # Every attempt is bounded: botocore's defaults (60 s to connect, 60 s per read, here
        # times 8 attempts) let one silent request hold a worker, and the jobs whose lease its
        # heartbeat kept renewing, for many minutes while it logged nothing (issue 35). A
        # request now fails within about 3 x (timeout + 5 s); the job is retried with backoff,
        # and the worker host reports a step that waits 30 s (worker/host.py).
        config = Config(
            retries={"mode": "standard", "max_attempts": 3},
            max_pool_connections=32,
            connect_timeout=min(5.0, timeout_seconds),
            read_timeout=timeout_seconds,
        )
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url, config=config)
        self._pool = ThreadPoolExecutor(delete_threads, thread_name_prefix="s3-delete")
        self._versioning: str | None = None  # the bucket's, once asked: see _bucket_versioning

    def version_written(self, answer: Mapping[str, Any]) -> str | None:
        """The version a write made, from the write's answer (see the module's docstring); None
        when not known for sure, so that erasure lists the key's versions."""
        named = answer.get("VersionId")
        if named:
            return str(named)
        # Were versioning on and the answer silent (a store that leaves it out), deleting "null"
        # would leave the real version behind: assumed only where the bucket says it is off.
        return NULL_VERSION if self._bucket_versioning() in ("", "Suspended") else None

    def _bucket_versioning(self) -> str | None:
        """The bucket's versioning: "" (never set), "Suspended" or "Enabled"; UNKNOWN when these
        credentials may not ask (s3:GetBucketVersioning), None when asking failed: neither
        assumes anything.

        Asked once, a refusal included (not again at every capture); a failure is asked again.
        A bucket switched from off to on later names its versions in the answers, and one
        switched from on to suspended only costs its erasures a listing.
        """
        if self._versioning is None:
            try:
                answer = self.client.get_bucket_versioning(Bucket=self.bucket)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("AccessDenied", "403"):
                    self._versioning = UNKNOWN
                return None
            except BotoCoreError:
                return None
            self._versioning = str(answer.get("Status", ""))
        return self._versioning

    def _full(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"invalid blob key {key!r}")
        return self.prefix + key

    def writer(self, key: str, *, sync: bool = True) -> S3Writer:
        return S3Writer(self, self._full(key))

    def open(self, key: str) -> tuple[S3RangeReader, int]:
        full = self._full(key)
        try:
            size = int(self.client.head_object(Bucket=self.bucket, Key=full)["ContentLength"])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(key) from None
            raise OSError(f"blob store failed reading {key}") from exc
        except BotoCoreError as exc:
            raise OSError(f"blob store failed reading {key}") from exc
        return S3RangeReader(self, full, size), size

    def _versions(self, full: str) -> list[dict[str, str]]:
        """Every version and delete marker of exactly this key."""
        found: list[dict[str, str]] = []
        pages = self.client.get_paginator("list_object_versions").paginate(
            Bucket=self.bucket, Prefix=full
        )
        for page in pages:
            for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
                if entry["Key"] == full:
                    found.append({"Key": full, "VersionId": entry["VersionId"]})
        return found

    def delete(self, key: str) -> int:
        result = self.delete_many([key])[key]
        if isinstance(result, Exception):
            raise OSError(f"blob store failed deleting {key}") from result
        return result

    def delete_many(
        self, keys: list[str], versions: Mapping[str, str] | None = None
    ) -> dict[str, int | Exception]:
        known = versions or {}
        result: dict[str, int | Exception] = {}
        versions_of: dict[str, list[dict[str, str]]] = {}

        def listed(key: str) -> tuple[str, list[dict[str, str]] | Exception]:
            try:
                full = self._full(key)
                if key in known:
                    # Written once, by a commit that named its version: nothing else to find,
                    # no listing to pay. (Deleting a version already gone succeeds: retries
                    # are safe.)
                    return key, [{"Key": full, "VersionId": known[key]}]
                return key, self._versions(full)
            except (BotoCoreError, ClientError, ValueError) as exc:
                return key, exc

        # Known versions cost nothing to find; only the others are listed (in threads).
        found_all = [listed(k) for k in keys if k in known]
        found_all += self._pool.map(listed, [k for k in keys if k not in known])
        for key, found in found_all:
            if isinstance(found, Exception):
                result[key] = found
            else:
                versions_of[key] = found
        owner = {(v["Key"], v["VersionId"]): k for k, vs in versions_of.items() for v in vs}
        objects = [v for vs in versions_of.values() for v in vs]
        failed: dict[str, Exception] = {}

        def delete(batch: list[dict[str, str]]) -> Any:
            try:
                return self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )
            except (BotoCoreError, ClientError) as exc:
                return exc

        # Sent PARALLEL_DELETES requests at a time (of at most DELETE_BATCH objects): an S3
        # server works on concurrent requests at once, where one request of 1,000 keeps
        # SeaweedFS on one core (bench/README.md, "PostgreSQL + S3").
        size = max(1, min(DELETE_BATCH, -(-len(objects) // PARALLEL_DELETES)))
        batches = [objects[start : start + size] for start in range(0, len(objects), size)]
        with ThreadPoolExecutor(PARALLEL_DELETES, thread_name_prefix="s3-delete") as senders:
            answers = list(senders.map(delete, batches))
        for batch, answer in zip(batches, answers, strict=True):
            if isinstance(answer, Exception):
                for v in batch:
                    failed[owner[(v["Key"], v["VersionId"])]] = answer
                continue
            for error in answer.get("Errors", []):
                owning = owner.get((error["Key"], error.get("VersionId", "")))
                if owning is not None:
                    failed[owning] = OSError(f"{error.get('Code')}: {error.get('Message')}")
        for key, found in versions_of.items():
            result[key] = failed.get(key, len(found))
        return result

    def iter_keys(self) -> Iterator[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            for entry in page.get("Contents", []):
                yield entry["Key"][len(self.prefix) :]

    def iter_aged(self) -> Iterator[tuple[str, float]]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            for entry in page.get("Contents", []):
                yield entry["Key"][len(self.prefix) :], entry["LastModified"].timestamp()

    def iter_all_versions(self) -> Iterator[tuple[str, str, bool]]:
        """(key, version ID, is a delete marker) for everything under the prefix (tests, audits)."""
        pages = self.client.get_paginator("list_object_versions").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        )
        for page in pages:
            for entry in page.get("Versions", []):
                yield entry["Key"][len(self.prefix) :], entry["VersionId"], False
            for entry in page.get("DeleteMarkers", []):
                yield entry["Key"][len(self.prefix) :], entry["VersionId"], True
