"""The call store's writes: what must reach the disk before it returns, and what may not."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from callvault.demo import seed_calls
from callvault.store import calls as call_store
from callvault.store.engine import is_transient, make_engine, write_transaction
from callvault.store.tables import calls, customer_phones
from callvault.store.types import utcnow


@pytest.fixture
def durability(monkeypatch):
    """The ``durable`` flag of every write transaction the call store opens."""
    seen: list[bool] = []
    original = call_store.write_transaction

    @contextlib.contextmanager
    def spy(engine, durable=True):
        seen.append(durable)
        with original(engine, durable) as conn:
            yield conn

    monkeypatch.setattr(call_store, "write_transaction", spy)
    return seen


@pytest.mark.both_backends
def test_marking_a_call_processed_is_relaxed(runtime, durability):
    """Concluded -> Complete may be lost to a power failure: the start-up backlog processes every
    Concluded call again (api/app.py), so it need not wait for the disk."""
    (call_id,) = seed_calls(runtime, 1)
    with runtime.engine.begin() as conn:
        conn.execute(calls.update().values(status="Concluded"))
    call_store.mark_processed(runtime.engine, call_id, 12.5)
    assert durability == [False]
    with runtime.engine.connect() as conn:
        row = conn.execute(select(calls.c.status, calls.c.duration_sec)).one()
    assert (row.status, row.duration_sec) == ("Complete", 12.5)


def test_existing_calls_names_only_the_calls_with_a_row(runtime):
    stored = seed_calls(runtime, 2, session_prefix="e-")
    assert call_store.existing_calls(runtime.engine, [*stored, "never-stored"]) == set(stored)
    assert call_store.existing_calls(runtime.engine, []) == set()


def _bulk_row(n: int) -> dict[str, object]:
    return {
        "call_id": f"bulk{n:028d}",
        "session_id": f"bulk-session-{n}",
        "status": "Complete",
        "start_time": utcnow(),
        "end_time": None,
        "direction": "Inbound",
        "contact_types": "Agent\x1fCustomer",
        "sealed": b"sealed-%d" % n,
        "audio_format": "wav",
        "audio_content_type": "audio/wav",
        "audio_bytes": 100 + n,
        "blob_key": f"audio/bulk{n}",
        "blob_version": None,
        "duration_sec": None,
        "captured_at": utcnow(),
    }


@pytest.mark.both_backends
def test_calls_stored_in_bulk_take_one_insert_per_table(runtime):
    """demo.seed_calls stores a batch of calls in bulk: one insert of the calls, one of their
    blind-index rows, whatever the batch's size."""
    engine = runtime.engine
    rows = [_bulk_row(n) for n in range(5)]
    index = [{"digest": bytes([n]) * 32, "call_id": rows[n]["call_id"]} for n in range(3)]
    inserts: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT"):
            inserts.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with write_transaction(engine) as conn:
            call_store.insert_many(conn, rows, index)
        with write_transaction(engine) as conn:
            call_store.insert_many(conn, [_bulk_row(9)], [])  # no index rows: no second insert
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert len(inserts) == 3, inserts
    with engine.connect() as conn:
        stored = call_store.get_call(conn, "bulk" + "0" * 28)
        digests = conn.execute(select(customer_phones.c.digest, customer_phones.c.call_id)).all()
        count = len(conn.execute(select(calls.c.call_id)).all())
    assert stored is not None
    assert (stored.session_id, stored.sealed, stored.audio_bytes) == (
        "bulk-session-0",
        b"sealed-0",
        100,
    )
    assert stored.contact_types == ("Agent", "Customer")
    assert count == 6
    assert sorted((bytes(d), c) for d, c in digests) == sorted(
        (r["digest"], r["call_id"]) for r in index
    )


@pytest.mark.both_backends
def test_a_bulk_insert_with_a_live_twin_stores_nothing_of_its_batch(runtime):
    with write_transaction(runtime.engine) as conn:
        call_store.insert_many(conn, [_bulk_row(1)], [])
    twin = {**_bulk_row(2), "session_id": "bulk-session-1"}
    with pytest.raises(IntegrityError), write_transaction(runtime.engine) as conn:
        call_store.insert_many(conn, [_bulk_row(3), twin], [])
    assert call_store.existing_calls(runtime.engine, [_bulk_row(3)["call_id"]]) == set()


@pytest.mark.both_backends
def test_a_calls_audio_state_is_read_as_of_now(runtime):
    # One statement on a pooled driver connection (asked before every piece of audio served).
    (call_id,) = seed_calls(runtime, 1, seed=3)
    with runtime.engine.connect() as conn:
        blob_key = conn.execute(select(calls.c.blob_key).where(calls.c.call_id == call_id)).scalar()
    state = call_store.audio_state(runtime.engine, call_id)
    assert state == call_store.AudioState("Complete", False, blob_key)
    with runtime.engine.begin() as conn:
        conn.execute(
            calls.update()
            .where(calls.c.call_id == call_id)
            .values(status="Purging", redacting=True, blob_key="audio/elsewhere")
        )
    state = call_store.audio_state(runtime.engine, call_id)
    assert state == call_store.AudioState("Purging", True, "audio/elsewhere")
    assert call_store.audio_state(runtime.engine, "no-such-call") is None
    assert runtime.engine.pool.checkedout() == 0


@pytest.mark.both_backends
def test_a_failing_audio_state_is_a_database_error_and_gives_its_connection_back(runtime):
    (call_id,) = seed_calls(runtime, 1, seed=4)
    with runtime.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE calls RENAME TO calls_away")
    try:
        with pytest.raises(DBAPIError) as raised:
            call_store.audio_state(runtime.engine, call_id)
        # As SQLAlchemy wraps a driver's error: what maps to a 503 elsewhere, and the call ID
        # bound to the statement not in its message.
        assert call_id not in str(raised.value)
        assert runtime.engine.pool.checkedout() == 0
    finally:
        with runtime.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE calls_away RENAME TO calls")
    assert call_store.audio_state(runtime.engine, call_id) is not None


def test_an_audio_state_without_its_database_is_a_transient_database_error():
    # No server listens there: the connect fails, and says so as any query's connect would
    # (a 503 with Retry-After where it reaches a client, not a 500).
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    try:
        with pytest.raises(DBAPIError) as raised:
            call_store.audio_state(engine, "c-1")
        assert is_transient(raised.value)
        assert raised.value.statement is None
    finally:
        engine.dispose()
