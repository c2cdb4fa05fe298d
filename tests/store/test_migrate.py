"""The migrations build exactly the schema the code declares, and the calls' status index is
partial: moving a call from Complete to Purging must not rewrite index pages."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from callvault.store.engine import make_engine
from callvault.store.migrate import alembic_config, head_revision, upgrade
from callvault.store.tables import metadata


def _indexes_of(engine, table: str) -> dict[str, str]:
    """Name -> CREATE INDEX statement of ``table``'s explicit indexes."""
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master "
            "WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
            (table,),
        ).all()
    return dict(rows)


def _store_at(tmp_path, revision: str, *statements: str):
    """A store migrated up to ``revision``, with ``statements`` run in it."""
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine, revision)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    return engine


def _declared_indexes(tmp_path, table: str) -> dict[str, str]:
    """``table``'s explicit indexes after every migration."""
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    try:
        return _indexes_of(engine, table)
    finally:
        engine.dispose()


def test_migrations_match_the_declared_tables(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []


def test_only_concluded_calls_are_indexed_by_status(tmp_path):
    indexes = _declared_indexes(tmp_path, "calls")
    assert "ix_calls_status" not in indexes
    assert "WHERE status = 'Concluded'" in indexes["ix_calls_concluded"]


def test_only_items_still_purging_are_indexed_by_call(tmp_path):
    """Erasure looks items up by call only while Purging; whatIf and NotFound items, and items
    already Purged, must not cost an index entry (at a million calls each is a random page)."""
    indexes = _declared_indexes(tmp_path, "purge_items")
    assert sorted(indexes) == ["ix_purge_items_held", "ix_purge_items_purging"]
    assert "WHERE status = 'Purging'" in indexes["ix_purge_items_purging"]
    assert "WHERE status = 'Held'" in indexes["ix_purge_items_held"]


def test_0007_adds_a_nullable_region_to_existing_users(tmp_path):
    engine = _store_at(
        tmp_path,
        "0005",
        "INSERT INTO api_users (name, client_id, secret_hash, permissions, disabled, "
        "created_at) VALUES ('old', 'cv_old', x'00', 'capture', 0, '2026-01-01')",
    )
    upgrade(engine, "0007")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name, region FROM api_users")).all() == [("old", None)]
    engine.dispose()


def test_0013_gives_existing_users_no_password_and_adds_console_sessions(tmp_path):
    from sqlalchemy import inspect

    engine = _store_at(
        tmp_path,
        "0012",
        "INSERT INTO api_users (name, client_id, secret_hash, permissions, disabled, "
        "created_at) VALUES ('old', 'cv_old', x'00', 'purge', 0, '2026-01-01')",
    )
    upgrade(engine, "0013")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name, password_hash FROM api_users")).all() == [
            ("old", None)
        ]
    assert "console_sessions" in inspect(engine).get_table_names()
    engine.dispose()


def test_0014_leaves_existing_calls_without_a_blob_version(tmp_path):
    from sqlalchemy import inspect

    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine, "0013")
    assert "blob_version" not in {c["name"] for c in inspect(engine).get_columns("calls")}
    upgrade(engine, "0014")
    column = next(c for c in inspect(engine).get_columns("calls") if c["name"] == "blob_version")
    assert column["nullable"] is True
    engine.dispose()


def test_a_store_at_head_is_opened_without_running_alembic(tmp_path, monkeypatch):
    """serve, worker and every CLI command upgrade the store as they open it; one already at head
    needs neither Alembic's environment nor its scripts loaded (most of a reopen's time)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("Alembic ran on a store already at head")

    monkeypatch.setattr(command, "upgrade", refuse)
    upgrade(engine)
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head_revision()
    engine.dispose()


def test_the_head_read_from_the_scripts_text_is_alembics_head():
    """A start compares the store's revision with the head read from the scripts' lines as text
    (Alembic not imported); it must be the head Alembic itself finds."""
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_0015_keeps_customer_phones_in_one_b_tree_digests_intact(tmp_path):
    """An erasure deletes a call's digests at random places: as a rowid table with two indexes
    that was three pages a digest, one B-tree keyed by (digest, call) and its call index two."""
    engine = _store_at(
        tmp_path,
        "0014",
        "INSERT INTO calls (call_id, session_id, status, start_time, direction, contact_types, "
        "sealed, audio_bytes, blob_key, captured_at) VALUES "
        "('c1', 's1', 'Concluded', '2026-01-01', 'Inbound', '[]', x'00', 1, 'k1', '2026-01-01'), "
        "('c2', 's2', 'Concluded', '2026-01-01', 'Inbound', '[]', x'00', 1, 'k2', '2026-01-01')",
        "INSERT INTO customer_phones (digest, call_id) VALUES "
        "(x'01', 'c1'), (x'02', 'c1'), (x'01', 'c2')",
    )
    upgrade(engine, "0015")
    with engine.connect() as conn:
        sql = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'customer_phones'"
        ).scalar_one()
        rows = conn.execute(text("SELECT hex(digest), call_id FROM customer_phones")).all()
    assert "WITHOUT ROWID" in sql.upper()
    assert sorted(rows) == [("01", "c1"), ("01", "c2"), ("02", "c1")]
    assert sorted(_indexes_of(engine, "customer_phones")) == ["ix_customer_phones_call_id"]
    with engine.begin() as conn:  # the foreign key still cascades
        conn.execute(text("DELETE FROM calls WHERE call_id = 'c1'"))
    with engine.connect() as conn:
        left = conn.execute(text("SELECT call_id FROM customer_phones")).scalars().all()
    assert left == ["c2"]
    engine.dispose()


def test_0020_and_the_stores_opening_seal_the_texts_of_existing_holds(tmp_path):
    import json

    from callvault.crypto import KeyRing, decode_master_key, generate_master_key
    from callvault.holds.service import HoldService
    from callvault.runtime import Runtime
    from callvault.settings import Settings

    master = generate_master_key()
    data = tmp_path / "data"
    data.mkdir()
    scope = json.dumps({"callIds": [], "sessionIds": ["s1"], "phoneNumbers": ["+14155550163"]})
    sealed_scope = KeyRing(decode_master_key(master)).seal_record(scope.encode(), "hold-scope:h1")
    engine = make_engine(f"sqlite:///{data / 'callvault.db'}")
    upgrade(engine, "0019")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO legal_holds (hold_id, matter, reason, state, created_by, created_at,"
                " released_by, released_at, release_reason, has_entries, sealed_scope) VALUES"
                " ('h1', 'Roe jane@example.org', 'asked by +1 415 555 0163', 'Released', 'o',"
                " '2026-01-01 00:00:00.000000', 'o', '2026-01-02 00:00:00.000000',"
                " 'settled with Jane', 1, :scope)"
            ),
            {"scope": sealed_scope},
        )
        conn.execute(text("INSERT INTO hold_entries VALUES ('h1', 'session', 's1')"))
    engine.dispose()

    runtime = Runtime.open(Settings(data_dir=data, master_key=master))
    try:
        with runtime.engine.connect() as conn:
            row = conn.execute(
                text("SELECT matter, reason, release_reason, sealed_texts FROM legal_holds")
            ).one()
            assert row[:3] == ("", "", None)
            assert row[3]
            assert conn.execute(text("SELECT count(*) FROM hold_entries")).scalar_one() == 1
        hold = HoldService(runtime).get("h1")
        assert (hold["matter"], hold["reason"], hold["releaseReason"]) == (
            "Roe jane@example.org",
            "asked by +1 415 555 0163",
            "settled with Jane",
        )
        assert hold["scope"]["sessionIds"] == ["s1"]
        assert hold["scope"]["phoneNumbers"] == []  # released: forgotten
        assert hold["scope"]["phoneNumbersForgotten"] == 1
    finally:
        runtime.close()


def test_0022_keeps_existing_purge_requests_without_a_suppression(tmp_path):
    engine = _store_at(
        tmp_path,
        "0020",
        "INSERT INTO purge_requests (request_id, created_at, kind, what_if, requested_by, state, "
        "queued) VALUES ('r1', '2026-01-01 00:00:00.000000', 'customer', 0, 'u', 'Complete', 0)",
    )
    upgrade(engine, "0022")
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT request_id, suppression_id FROM purge_requests").all()
        tables = {
            r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table'")
        }
    assert rows == [("r1", None)]
    assert {"suppressions", "suppression_digests", "suppressed_captures"} <= tables
    engine.dispose()
