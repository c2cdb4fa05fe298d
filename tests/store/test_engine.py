"""SQLite is configured for safe erasure: WAL, secure_delete, foreign keys."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy

from callvault.store.engine import is_transient, make_engine, write_transaction
from helpers import commit_durability, durable_by_default


def test_sqlite_pragmas(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


@pytest.mark.both_backends
def test_a_relaxed_transaction_skips_the_flush_and_leaves_the_next_one_durable(runtime):
    engine = runtime.engine
    durable_by_default(engine)
    with write_transaction(engine) as conn:
        assert commit_durability(conn) == "durable"
    with write_transaction(engine, durable=False) as conn:
        assert commit_durability(conn) == "relaxed"
    # The pooled connection goes back durable, whichever transaction takes it next.
    for _ in range(3):
        with write_transaction(engine) as conn:
            assert commit_durability(conn) == "durable"
        with engine.connect() as conn:
            assert commit_durability(conn) == "durable"


@pytest.mark.both_backends
def test_a_failed_relaxed_transaction_leaves_the_connection_durable(runtime):
    engine = runtime.engine
    durable_by_default(engine)
    with pytest.raises(RuntimeError), write_transaction(engine, durable=False):
        raise RuntimeError("boom")
    with write_transaction(engine) as conn:
        assert commit_durability(conn) == "durable"


def test_a_relaxed_commit_survives_the_process_being_killed(tmp_path):
    """Relaxed means a power failure may lose it, not a crash of the process: the WAL is
    written before COMMIT returns, only not flushed to the disk."""
    db = tmp_path / "x.db"
    script = """
import os, signal, sys
from sqlalchemy import text
from callvault.store.engine import is_transient, make_engine, write_transaction
engine = make_engine("sqlite:///" + sys.argv[1])
with write_transaction(engine) as conn:
    conn.execute(text("CREATE TABLE t (v INTEGER)"))
with write_transaction(engine, durable=False) as conn:
    conn.execute(text("INSERT INTO t VALUES (7)"))
os.kill(os.getpid(), signal.SIGKILL)
"""
    done = subprocess.run([sys.executable, "-c", script, str(db)], timeout=60)
    assert done.returncode == -signal.SIGKILL
    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT v FROM t").scalars().all() == [7]
    engine.dispose()


@pytest.mark.both_backends
def test_a_failed_statement_does_not_carry_its_values_into_the_error(runtime):
    """A database error reaches the logs with its traceback; the values bound to the statement
    (a hold's reason, a user's name) must not ride along."""
    secret = "Jane Doe, +15125550100"
    statements = {
        "qmark": "SELECT * FROM no_such_table WHERE x = ?",
        "pyformat": "SELECT * FROM no_such_table WHERE x = %s",
    }
    statement = statements[runtime.engine.dialect.paramstyle]
    with runtime.engine.connect() as conn, pytest.raises(sqlalchemy.exc.DBAPIError) as raised:
        conn.exec_driver_sql(statement, (secret,))
    assert secret not in str(raised.value)


def test_sqlite_locked_past_its_wait_is_transient_and_a_bad_statement_is_not(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn, pytest.raises(sqlalchemy.exc.DBAPIError) as missing:
        conn.exec_driver_sql("SELECT * FROM no_such_table")
    assert not is_transient(missing.value)
    with write_transaction(engine), engine.connect() as other:
        other.exec_driver_sql("PRAGMA busy_timeout=0")
        with pytest.raises(sqlalchemy.exc.DBAPIError) as locked:
            other.exec_driver_sql("BEGIN IMMEDIATE")
    assert "locked" in str(locked.value)
    assert is_transient(locked.value)
    engine.dispose()


def test_a_postgresql_server_that_cannot_be_reached_is_transient():
    engine = sqlalchemy.create_engine("postgresql+psycopg://callvault@127.0.0.1:1/none")
    with pytest.raises(sqlalchemy.exc.DBAPIError) as refused:
        engine.connect()
    assert is_transient(refused.value)


@pytest.mark.parametrize("backend", ["pg-s3"], indirect=True)
def test_postgresql_errors_of_the_statement_itself_are_not_transient(runtime):
    with runtime.engine.connect() as conn:
        with pytest.raises(sqlalchemy.exc.DBAPIError) as missing:
            conn.exec_driver_sql("SELECT * FROM no_such_table")
        assert not is_transient(missing.value)
    too_many = ", ".join(["%s"] * 70_000)  # past the protocol's 65,535 bound values
    with runtime.engine.connect() as conn, pytest.raises(sqlalchemy.exc.DBAPIError) as limit:
        conn.exec_driver_sql(f"SELECT 1 WHERE 1 IN ({too_many})", tuple(range(70_000)))
    assert not is_transient(limit.value)


@pytest.mark.both_backends
@pytest.mark.settings(db_statement_timeout_seconds=0.5)
def test_a_statement_waiting_on_a_lock_is_cut_by_the_timeout(runtime, backend):
    """On PostgreSQL no statement of the service waits forever (issue 35): a lock held by
    another session, a transaction its client left idle, a slow statement are all cut after
    CALLVAULT_DB_STATEMENT_TIMEOUT_SECONDS, and the caller's retry takes over. (SQLite waits on
    its busy_timeout, tested above.)"""
    if backend == "embedded":
        pytest.skip("SQLite's lock wait is its busy_timeout")
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError, OperationalError

    holder = runtime.engine.connect()
    try:
        with holder.begin():
            holder.execute(text("SET LOCAL idle_in_transaction_session_timeout = 0"))
            holder.execute(text("SELECT pg_advisory_xact_lock(4242)"))
            with runtime.engine.connect() as waiter, pytest.raises(OperationalError) as caught:
                waiter.execute(text("SELECT pg_advisory_xact_lock(4242)"))
            # lock_not_available or query_canceled: both limits are the same length
            assert caught.value.orig.sqlstate in ("55P03", "57014")
            with runtime.engine.connect() as slow, pytest.raises(OperationalError) as caught:
                slow.execute(text("SELECT pg_sleep(5)"))
            assert caught.value.orig.sqlstate == "57014"  # query_canceled
    finally:
        holder.close()
    # A transaction its client leaves idle (holding whatever it locked) is ended by the server.
    with runtime.engine.connect() as idle:
        idle.begin()
        idle.execute(text("SELECT 1"))
        time.sleep(1.5)
        with pytest.raises(DBAPIError):
            idle.execute(text("SELECT 1"))
    # A migration and a VACUUM lift it for their own statements only.
    from callvault.store.engine import vacuum

    vacuum(runtime.engine, ("calls",))
    with runtime.engine.connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar() == "500ms"


@pytest.mark.both_backends
def test_among_selects_what_in_selects_and_runs_as_one_statement_each_time(runtime):
    """``among`` (an array on PostgreSQL, an expanding IN on SQLite) matches exactly the rows IN
    does, for one value, many, none, and with different values each execution (it is never
    served from a compiled statement with another execution's values)."""
    from callvault.demo import seed_calls
    from callvault.store.engine import among
    from callvault.store.tables import calls

    ids = seed_calls(runtime, 30, seed=3)
    with runtime.engine.connect() as conn:
        for wanted in (ids[:1], ids[:25], [*ids[5:6], "no-such-call"], [], ids[7:30]):
            found = conn.execute(
                sqlalchemy.select(calls.c.call_id).where(among(calls.c.call_id, wanted))
            ).scalars()
            assert sorted(found) == sorted(set(wanted) & set(ids))
