"""The migrations build exactly the schema the code declares, and the calls' status index is
partial: moving a call from Complete to Purging must not rewrite index pages."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from callvault.store.engine import make_engine
from callvault.store.migrate import head_revision, upgrade
from callvault.store.tables import metadata


def _declared_indexes(tmp_path, table: str) -> dict[str, str]:
    """Name -> CREATE INDEX statement of ``table``'s explicit indexes, after every migration."""
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master "
            "WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
            (table,),
        ).all()
    engine.dispose()
    return dict(rows)


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
    from sqlalchemy import text

    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine, "0005")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO api_users (name, client_id, secret_hash, permissions, disabled, "
                "created_at) VALUES ('old', 'cv_old', x'00', 'capture', 0, '2026-01-01')"
            )
        )
    upgrade(engine, "0007")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name, region FROM api_users")).all() == [("old", None)]
    engine.dispose()


def test_0013_gives_existing_users_no_password_and_adds_console_sessions(tmp_path):
    from sqlalchemy import inspect, text

    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine, "0012")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO api_users (name, client_id, secret_hash, permissions, disabled, "
                "created_at) VALUES ('old', 'cv_old', x'00', 'purge', 0, '2026-01-01')"
            )
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
