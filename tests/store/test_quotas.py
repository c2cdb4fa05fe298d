"""The erasure quota's lock: PostgreSQL's alone, held to the end of the acceptance's transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from callvault.store import quotas
from callvault.store.engine import write_transaction

pytestmark = pytest.mark.both_backends


def _try_lock(engine) -> bool:
    """Whether another session could take the quota's lock now (it gives it back at once)."""
    with engine.connect() as other:
        got = other.execute(
            text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": quotas.QUOTA_LOCK}
        ).scalar_one()
        other.rollback()
    return bool(got)


def test_the_quota_lock_is_one_statement_on_postgresql_and_none_on_sqlite(runtime):
    engine = runtime.engine
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    with write_transaction(engine) as conn:
        event.listen(engine, "before_cursor_execute", record)
        try:
            quotas.lock_quota(conn)
        finally:
            event.remove(engine, "before_cursor_execute", record)
    if engine.dialect.name == "postgresql":
        assert len(seen) == 1, seen
        assert "pg_advisory_xact_lock" in seen[0]
    else:
        # SQLite's write lock, taken at BEGIN IMMEDIATE, already serialises acceptances.
        assert seen == []


def test_the_quota_lock_is_held_until_the_transaction_ends(runtime):
    engine = runtime.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's write lock is the quota's lock there")
    assert _try_lock(engine)
    with write_transaction(engine) as conn:
        quotas.lock_quota(conn)
        assert not _try_lock(engine)  # an acceptance on another node waits for this one
    assert _try_lock(engine)
