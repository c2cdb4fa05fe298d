"""The key store lives in its own database and forgets destroyed keys completely."""

from __future__ import annotations

import contextlib
import os
import sqlite3

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


def _data_keys_sql(path) -> str:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return str(
            db.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'data_keys'"
            ).fetchone()[0]
        )


def test_data_keys_are_one_b_tree_keyed_by_call_id(tmp_path):
    # A rowid table keeps the call ID in an index of its own: destroying a key wrote two
    # pages where one does (bench/README.md, "Erasure").
    KeyStore(f"sqlite:///{tmp_path / 'keys.db'}").dispose()
    assert "WITHOUT ROWID" in _data_keys_sql(tmp_path / "keys.db").upper()


# data_keys as key stores made before the layout change have it.
_ROWID_LAYOUT = """
CREATE TABLE data_keys (
    call_id VARCHAR(32) NOT NULL,
    wrapped BLOB NOT NULL,
    created_at DATETIME NOT NULL,
    PRIMARY KEY (call_id)
)
"""


def test_a_key_store_of_the_rowid_layout_is_rebuilt_once_keys_intact(tmp_path):
    path = tmp_path / "keys.db"
    kept = {f"call-{n}": os.urandom(60) for n in range(50)}
    destroyed = os.urandom(60)
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA secure_delete=ON")
        db.execute(_ROWID_LAYOUT)
        rows = [*kept.items(), ("gone", destroyed)]
        db.executemany("INSERT INTO data_keys VALUES (?, ?, '2026-12-01 00:00:00.000000')", rows)
        db.execute("DELETE FROM data_keys WHERE call_id = 'gone'")
        db.commit()
    store = KeyStore(f"sqlite:///{path}")
    assert "WITHOUT ROWID" in _data_keys_sql(path).upper()
    assert {call_id: store.get(call_id) for call_id in kept} == kept
    assert store.get("gone") is None
    store.put("call-new", os.urandom(60))
    store.dispose()
    again = KeyStore(f"sqlite:///{path}")  # already rebuilt: opens as it is
    assert again.get("call-new") is not None
    assert again.existing([*kept, "call-new"]) == {*kept, "call-new"}
    again.checkpoint()
    again.dispose()
    on_disk = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert destroyed not in on_disk
    with contextlib.closing(sqlite3.connect(path)) as db:
        names = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
    assert names == {
        "data_keys",
        "signing_keys",
        "sqlite_autoindex_signing_keys_1",
        "staged_keys",
        "sqlite_autoindex_staged_keys_1",
    }


def test_owners_created_before_pages_in_call_id_order(tmp_path):
    from datetime import timedelta

    from callvault.store.types import utcnow

    store = KeyStore(f"sqlite:///{tmp_path / 'keys.db'}")
    for call_id in ["c", "a", "d", "b"]:
        store.put(call_id, os.urandom(60))
    later = utcnow() + timedelta(seconds=5)
    assert store.owners_created_before(later, "", 3) == ["a", "b", "c"]
    assert store.owners_created_before(later, "c", 3) == ["d"]
    assert store.owners_created_before(utcnow() - timedelta(hours=1), "", 3) == []
    store.dispose()


def test_keys_stored_in_bulk_take_one_insert(tmp_path):
    """demo.seed_calls stores a batch's keys in bulk: one insert, one transaction."""
    from sqlalchemy import event

    from callvault.store.types import utcnow

    store = KeyStore(f"sqlite:///{tmp_path / 'keys.db'}")
    rows = [
        {"call_id": f"call-{n}", "wrapped": os.urandom(60), "created_at": utcnow()}
        for n in range(5)
    ]
    inserts: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT"):
            inserts.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        store.put_many(rows)
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    assert len(inserts) == 1, inserts
    assert [store.get(r["call_id"]) for r in rows] == [r["wrapped"] for r in rows]
    store.dispose()
