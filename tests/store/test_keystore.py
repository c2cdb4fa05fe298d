"""The key store lives in its own database and forgets destroyed keys completely."""

from __future__ import annotations

import os

from callvault.store.keystore import KeyStore


def test_put_get_destroy(tmp_path):
    store = KeyStore(f"sqlite:///{tmp_path / 'keys.db'}")
    wrapped = os.urandom(60)
    store.put("call-1", wrapped)
    store.put("call-2", os.urandom(60))
    assert store.get("call-1") == wrapped
    assert store.destroy(["call-1", "missing"]) == 1
    assert store.get("call-1") is None
    assert store.get("call-2") is not None
    store.checkpoint()
    store.dispose()
    on_disk = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert wrapped not in on_disk  # secure_delete + checkpoint: no stale copy in file or WAL


def test_separate_from_calls_database(settings):
    assert settings.resolved_keystore_url != settings.resolved_database_url
