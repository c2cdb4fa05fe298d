"""The audit trail's statements: the head, one insert per append, the pending queue, the
sequencer's lock, paging."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, text

from callvault.store import audit
from callvault.store.engine import write_transaction

pytestmark = pytest.mark.both_backends

AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def _row(seq: int) -> dict[str, object]:
    return {
        "seq": seq,
        "at": AT,
        "actor": "tester",
        "action": "call.read",
        "request_id": None,
        "call_id": f"call-{seq}",
        "session_id": None,
        "details": f'{{"n":{seq}}}',
        "prev_hash": f"{seq - 1:064x}",
        "hash": f"{seq:064x}",
    }


@contextlib.contextmanager
def _statements(engine):
    """The SQL statements ``engine`` sends while the block runs (not BEGIN/COMMIT)."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "PRAGMA")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_the_head_is_none_until_an_event_and_then_the_highest_seq(runtime):
    with write_transaction(runtime.engine) as conn:
        assert audit.head(conn) is None
        # Inserted out of order: the head is the highest sequence number, not the last row.
        audit.insert_events(conn, [_row(2), _row(3), _row(1)])
        assert audit.head(conn) == (3, f"{3:064x}")


def test_an_append_is_one_insert_however_many_events_and_the_head_one_read(runtime):
    with write_transaction(runtime.engine) as conn, _statements(runtime.engine) as seen:
        audit.insert_events(conn, [_row(n) for n in range(1, 51)])
        audit.head(conn)
    assert len(seen) == 2, seen
    assert seen[0].lstrip().upper().startswith("INSERT INTO AUDIT_EVENTS")
    with runtime.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_events")).scalar_one() == 50


def test_events_page_in_sequence_order_after_a_seq_and_as_stored(runtime):
    with write_transaction(runtime.engine) as conn:
        audit.insert_events(conn, [_row(n) for n in (5, 1, 4, 2, 3)])
    rows = list(audit.iter_events(runtime.engine))
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0]["details"] == '{"n":1}'  # JSON text: decoding it is the trail's
    assert rows[0]["at"] == AT
    assert [r["seq"] for r in audit.iter_events(runtime.engine, after=2)] == [3, 4, 5]
    assert [r["seq"] for r in audit.iter_events(runtime.engine, after=1, limit=2)] == [2, 3]
    assert list(audit.iter_events(runtime.engine, after=5)) == []


def test_an_unfinished_page_gives_its_connection_back_when_closed(runtime):
    with write_transaction(runtime.engine) as conn:
        audit.insert_events(conn, [_row(n) for n in range(1, 4)])
    before = runtime.engine.pool.checkedout()
    events = audit.iter_events(runtime.engine)
    assert next(events)["seq"] == 1
    assert runtime.engine.pool.checkedout() == before + 1
    events.close()
    assert runtime.engine.pool.checkedout() == before


def test_a_pending_append_is_one_insert_and_takes_no_lock(runtime):
    """PostgreSQL's writers append unsequenced: one INSERT into audit_pending, no lock, no read
    of the head (the sequencer does those); SQLite's one writer never defers."""
    engine = runtime.engine
    pending = {k: v for k, v in _row(1).items() if k not in ("seq", "prev_hash", "hash")}
    with write_transaction(engine) as conn, _statements(engine) as seen:
        assert audit.defers_sequencing(conn) is (engine.dialect.name == "postgresql")
        audit.insert_pending(conn, [pending, pending])
    assert len(seen) == 1, seen
    assert seen[0].lstrip().upper().startswith("INSERT INTO AUDIT_PENDING")
    with write_transaction(engine) as conn:
        assert audit.has_pending(conn)
        ids = [r["id"] for r in audit.pending(conn, 10)]
        assert ids == sorted(ids)
        assert len(ids) == 2
        audit.delete_pending(conn, ids)
        assert not audit.has_pending(conn)


def test_the_sequencer_lock_is_postgresqls_alone_and_held_to_the_end_of_the_transaction(runtime):
    engine = runtime.engine
    postgresql = engine.dialect.name == "postgresql"
    with write_transaction(engine) as conn:
        with _statements(engine) as seen:
            audit.lock_sequencer(conn)
        # SQLite's write lock (taken at BEGIN IMMEDIATE) serialises sequencers: no statement.
        assert len(seen) == (1 if postgresql else 0), seen
        if postgresql:
            with engine.connect() as other:
                taken = other.execute(
                    text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": audit.SEQUENCER_LOCK}
                ).scalar_one()
                other.rollback()
            assert taken is False  # another sequencer waits for this transaction
    if postgresql:
        with engine.connect() as other:
            free = other.execute(
                text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": audit.SEQUENCER_LOCK}
            ).scalar_one()
            other.rollback()
        assert free is True
