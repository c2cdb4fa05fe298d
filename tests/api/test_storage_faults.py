"""Storage failing under the API: capture answers 503 with nothing half-stored; an erasure waits
(item Purging), is retried, and completes when storage returns."""

from __future__ import annotations

import errno
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
        assert answer.headers["content-type"] == "application/problem+json"
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
