"""Storage failing under the API: capture answers 503 with nothing half-stored; an erasure waits
(item Purging), is retried, and completes when storage returns."""

from __future__ import annotations

import errno
import threading
import time

import pytest
from sqlalchemy import func, select

from callvault.store.tables import calls
from helpers import blob_objects, call_info, wav_bytes

pytestmark = pytest.mark.both_backends


class FailingBlobs:
    """The real store, with writes and/or deletes failing as a full disk or a dead S3 would."""

    def __init__(self, inner, error: OSError) -> None:
        self.inner = inner
        self.error = error
        self.fail_writes = True
        self.fail_deletes = True

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def writer(self, key, *, sync=True):
        real = self.inner.writer(key, sync=sync)
        store = self

        class Writer:
            @property
            def version(self):
                return real.version

            def write(self, data):
                if store.fail_writes:
                    raise store.error
                real.write(data)

            def commit(self):
                if store.fail_writes:
                    raise store.error
                return real.commit()

            def abort(self):
                real.abort()

        return Writer()

    def delete_many(self, keys, versions=None):
        if self.fail_deletes:
            return {k: self.error for k in keys}
        return self.inner.delete_many(keys, versions)


ERRORS = [
    OSError(errno.ENOSPC, "No space left on device"),
    PermissionError(errno.EACCES, "Permission denied"),
    OSError("S3 failed while uploading: could not connect"),
]


@pytest.mark.parametrize("error", ERRORS, ids=["disk-full", "permission", "s3-down"])
def test_capture_with_storage_down_is_503_and_stores_nothing(live, capture, error):
    live.runtime.blobs = FailingBlobs(live.runtime.blobs, error)
    with live.client(live.token("capture")) as client:
        answer = capture(client, call_info("down"), wav_bytes(2))
        assert answer.status_code == 503
        # A Tethr endpoint; httpx's Accept */* names no problem+json: Tethr JSON (contract §8).
        assert answer.headers["content-type"] == "application/json; charset=utf-8"
        assert "retry" in answer.json()["detail"]
        live.runtime.blobs.fail_writes = False
        again = capture(client, call_info("down"), wav_bytes(2))  # the same session: not taken
        assert again.status_code == 200
    live.runtime.blobs = live.runtime.blobs.inner
    with live.runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(calls)).scalar_one() == 1
    assert len([o for o in blob_objects(live.runtime) if "upload:" not in o]) == 1


def test_erasure_waits_for_storage_and_then_completes(live, capture):
    with live.client(live.token("capture", "read")) as client:
        call_id = capture(client, call_info("later")).json()["callId"]
    failing = FailingBlobs(live.runtime.blobs, ERRORS[0])
    failing.fail_writes = False
    live.runtime.blobs = failing
    with live.client(live.token("purge")) as client:
        rid = client.post("/purge/v1/calls", json={"ids": [call_id]}).json()["requestId"]
        time.sleep(1.5)  # several worker attempts fail meanwhile
        doc = client.get(f"/purge/v1/requests/{rid}").json()
        assert doc["state"] == "Purging"
        assert doc["items"][0]["status"] == "Purging"
        with live.client(live.token("capture", "read")) as reader:
            assert reader.get(f"/calls/v1/{call_id}").status_code == 404  # already unreadable
        failing.fail_deletes = False
        deadline = time.monotonic() + 60
        while (doc := client.get(f"/purge/v1/requests/{rid}").json())["state"] == "Purging":
            assert time.monotonic() < deadline, "erasure did not complete after storage returned"
            time.sleep(0.1)
    assert doc["state"] == "Complete"
    assert doc["items"][0]["status"] == "Purged"
    live.runtime.blobs = failing.inner
    assert not any(call_id in o for o in blob_objects(live.runtime))


def _keys(runtime) -> int:
    from callvault.store.keystore import data_keys

    with runtime.keystore.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(data_keys)).scalar_one())


class KeystoreSpy:
    """The real key store; ``put`` can fail, and says when it ran."""

    def __init__(self, inner, fail: bool = False) -> None:
        self.inner = inner
        self.fail = fail
        self.put_done = threading.Event()

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def put(self, call_id, wrapped):
        if self.fail:
            raise OSError(errno.EIO, "Input/output error")
        self.inner.put(call_id, wrapped)
        self.put_done.set()


def test_the_key_is_stored_while_the_blob_is_flushed(live, capture):
    """The wrapped key's commit and the blob's flush run side by side (neither needs the other;
    the call row needs both): the blob's commit here waits for the key to be stored."""
    keys = KeystoreSpy(live.runtime.keystore)
    blobs = FailingBlobs(live.runtime.blobs, OSError("unused"))
    blobs.fail_writes = False
    real_writer = blobs.writer

    def writer(key, *, sync=True):
        inner = real_writer(key, sync=sync)
        commit = inner.commit

        def waiting_commit():
            if not keys.put_done.wait(10):
                raise OSError("the key was not stored while the blob was flushed")
            return commit()

        inner.commit = waiting_commit
        return inner

    blobs.writer = writer
    live.runtime.keystore, live.runtime.blobs = keys, blobs
    try:
        with live.client(live.token("capture")) as client:
            assert capture(client, call_info("side-by-side"), wav_bytes(2)).status_code == 200
    finally:
        live.runtime.keystore, live.runtime.blobs = keys.inner, blobs.inner
    assert _keys(live.runtime) == 1


def test_a_blob_that_fails_to_commit_leaves_no_key(live, capture):
    blobs = FailingBlobs(live.runtime.blobs, OSError(errno.EIO, "Input/output error"))
    blobs.fail_writes = False
    real_writer = blobs.writer

    def writer(key, *, sync=True):
        inner = real_writer(key, sync=sync)

        def failing_commit():
            raise blobs.error

        inner.commit = failing_commit
        return inner

    blobs.writer = writer
    live.runtime.blobs = blobs
    try:
        with live.client(live.token("capture")) as client:
            assert capture(client, call_info("no-blob"), wav_bytes(2)).status_code == 503
    finally:
        live.runtime.blobs = blobs.inner
    assert _keys(live.runtime) == 0
    with live.runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(calls)).scalar_one() == 0
    assert [o for o in blob_objects(live.runtime) if "upload:" not in o] == []


def test_a_key_that_fails_to_store_leaves_no_blob(live, capture):
    keys = KeystoreSpy(live.runtime.keystore, fail=True)
    live.runtime.keystore = keys
    try:
        with live.client(live.token("capture")) as client:
            answer = capture(client, call_info("no-key"), wav_bytes(2))
            assert answer.status_code == 503
            assert "key store" in answer.json()["detail"]
    finally:
        live.runtime.keystore = keys.inner
    assert _keys(live.runtime) == 0
    with live.runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(calls)).scalar_one() == 0
    assert [o for o in blob_objects(live.runtime) if "upload:" not in o] == []
