"""The local-folder blob store: atomic visibility, idempotent deletion."""

from __future__ import annotations

import pytest

from callvault.blobs import open_blob_store
from callvault.blobs.folder import FolderBlobStore


def test_blob_is_invisible_until_committed(tmp_path):
    store = FolderBlobStore(tmp_path)
    writer = store.writer("audio/ab/k1")
    writer.write(b"part one ")
    assert list(store.iter_keys()) == []
    writer.write(b"part two")
    assert writer.commit() == 17
    handle, size = store.open("audio/ab/k1")
    with handle:
        assert handle.read() == b"part one part two"
    assert size == 17
    assert list(store.iter_keys()) == ["audio/ab/k1"]


def test_abort_leaves_nothing(tmp_path):
    store = FolderBlobStore(tmp_path)
    writer = store.writer("audio/x")
    writer.write(b"data")
    writer.abort()
    writer.abort()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_delete_is_idempotent(tmp_path):
    store = FolderBlobStore(tmp_path)
    w = store.writer("k")
    w.write(b"x")
    w.commit()
    assert store.delete("k") == 1
    assert store.delete("k") == 0
    with pytest.raises(FileNotFoundError):
        store.open("k")


@pytest.mark.parametrize("key", ["", "/abs", "../up", "a/../../b", ".tmp-x"])
def test_keys_cannot_escape_the_root(tmp_path, key):
    with pytest.raises(ValueError, match="invalid blob key"):
        FolderBlobStore(tmp_path).writer(key)


def test_sweep_removes_crash_leftovers(tmp_path):
    store = FolderBlobStore(tmp_path)
    store.writer("audio/a")  # never committed: as if the process died mid-upload
    assert store.sweep_temporaries() == 1
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_open_blob_store_by_url(tmp_path):
    assert isinstance(open_blob_store(tmp_path.as_uri()), FolderBlobStore)
    with pytest.raises(ValueError, match="unsupported"):
        open_blob_store("ftp://x/y")


def test_a_folder_blob_has_no_version_and_ignores_given_ones(tmp_path):
    store = FolderBlobStore(tmp_path)
    writer = store.writer("audio/a/v")
    writer.write(b"x")
    writer.commit()
    assert writer.version is None
    assert store.delete_many(["audio/a/v"], {"audio/a/v": "whatever"}) == {"audio/a/v": 1}
    assert list(store.iter_keys()) == []
