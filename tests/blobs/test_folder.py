"""The local-folder blob store: atomic visibility, idempotent deletion."""

from __future__ import annotations

import os
import threading

import pytest

from callvault.blobs import folder as folder_module
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


def _blobs(store: FolderBlobStore, keys: list[str]) -> None:
    for key in keys:
        writer = store.writer(key)
        writer.write(b"x" * 100)
        writer.commit()


def test_delete_many_answers_for_each_key(tmp_path):
    store = FolderBlobStore(tmp_path)
    present = [f"audio/{folder}/{n}" for folder in "0a" for n in range(3)]
    _blobs(store, present)
    answer = store.delete_many([*present, "audio/0/missing", "../escape"])
    assert {key: answer[key] for key in present} == dict.fromkeys(present, 1)
    assert answer["audio/0/missing"] == 0
    assert isinstance(answer["../escape"], ValueError)
    assert list(store.iter_keys()) == []


def test_a_folder_that_cannot_be_flushed_fails_its_own_keys_only(tmp_path, monkeypatch):
    store = FolderBlobStore(tmp_path)
    keys = [f"audio/{folder}/{n}" for folder in "0a" for n in range(3)]
    _blobs(store, keys)
    real = folder_module._fsync_dir

    def failing(path):
        if path.name == "a":
            raise OSError("the disk said no")
        real(path)

    monkeypatch.setattr(folder_module, "_fsync_dir", failing)
    answer = store.delete_many(keys)
    assert [k for k in keys if answer[k] == 1] == [k for k in keys if "/0/" in k]
    assert all(isinstance(answer[k], OSError) for k in keys if "/a/" in k)


def test_each_folder_is_emptied_by_one_thread(tmp_path, monkeypatch):
    """A thread per file spent more CPU handing out the unlinks than making them, and threads
    unlinking in one folder queue on its lock: a folder's files go to one thread, at most
    ``delete_threads`` of them."""
    store = FolderBlobStore(tmp_path, delete_threads=4)
    keys = [f"audio/{folder}/{n:02}" for folder in "0123456789abcdef" for n in range(20)]
    _blobs(store, keys)
    threads_of: dict[str, set[int]] = {}
    real = os.unlink

    def recorded(path, *args, **kwargs):
        folder = os.path.basename(os.path.dirname(os.fspath(path)))
        threads_of.setdefault(folder, set()).add(threading.get_ident())
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", recorded)
    assert set(store.delete_many(keys).values()) == {1}
    assert sorted(threads_of) == list("0123456789abcdef")
    assert all(len(threads) == 1 for threads in threads_of.values())
    assert len(set().union(*threads_of.values())) <= 4
