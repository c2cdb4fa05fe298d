"""The audit trail's sequencer (contract §23): writers append without a lock held across their
commit, one sequencer orders and chains their events shortly after, and anyone recomputes the
chain from the API's output with the standard library and no secret of the instance."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest
from sqlalchemy import select, text, update

from callvault.audit.trail import AuditEvent, AuditTrail
from callvault.certificates.loop import AuditLoop, AuditOptions
from callvault.store.engine import write_transaction
from callvault.store.tables import audit_checkpoints, audit_events, audit_pending

pytestmark = pytest.mark.both_backends


def _append(trail: AuditTrail, runtime, n: int, actor: str = "tester") -> None:
    with write_transaction(runtime.engine) as conn:
        trail.append(conn, [AuditEvent("test.event", actor, details={"n": i}) for i in range(n)])


def _recompute(events: list[dict]) -> str:
    """A third party's check: only hashlib and json, from the API's JSON."""
    prev = "0" * 64
    for event in events:
        body = {k: v for k, v in event.items() if k != "hash"}
        digest = hashlib.sha256(
            json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()
        assert event["prevHash"] == prev, event["seq"]
        assert event["hash"] == digest, event["seq"]
        prev = digest
    return prev


def test_a_reader_sees_every_committed_event_chained_and_anyone_can_recompute_it(live):
    trail = AuditTrail(live.runtime.keys.audit_chain_key)
    for batch in range(3):
        _append(trail, live.runtime, 4, actor=f"writer-{batch}")
    with live.client(live.token("audit")) as client:
        events = client.get("/audit/v1/events", params={"limit": 1000}).json()["events"]
        lines = client.get("/audit/v1/events", params={"format": "jsonl"}).text.splitlines()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["actor"] for e in events if e["action"] == "test.event"] == [
        f"writer-{b}" for b in range(3) for _ in range(4)
    ]
    head = _recompute(events)
    assert _recompute([json.loads(line) for line in lines]) == head
    with live.runtime.engine.connect() as conn:
        assert conn.execute(select(audit_pending)).first() is None


def test_a_writer_does_not_wait_for_another_writers_commit(runtime, backend):
    """Transaction A appended and stays open; B appends and commits meanwhile. Today's promise
    on PostgreSQL (where writers run at once): no lock of the trail's is held across A's commit,
    so B never waits (a lock wait fails B at once). SQLite has one writer: B would wait there
    by design, so only the order is checked on both."""
    trail = AuditTrail(runtime.keys.audit_chain_key)
    _append(trail, runtime, 1, actor="before")
    if backend == "pg-s3":
        a_open, b_done = threading.Event(), threading.Event()
        failures: list[BaseException] = []

        def writer_a() -> None:
            try:
                with write_transaction(runtime.engine) as conn:
                    trail.append(conn, [AuditEvent("test.event", "A")])
                    a_open.set()
                    assert b_done.wait(30), "B did not finish while A was open"
            except BaseException as exc:  # reported below
                failures.append(exc)
                a_open.set()

        thread = threading.Thread(target=writer_a)
        thread.start()
        assert a_open.wait(30)
        with write_transaction(runtime.engine) as conn:
            conn.execute(text("SET LOCAL lock_timeout = '1s'"))
            trail.append(conn, [AuditEvent("test.event", "B")])
        b_done.set()
        thread.join(30)
        assert not failures, failures
        # A wrote first (a lower id) but committed last: the sequencer orders by what it sees
        # committed, so B is sequenced first or after, never lost, and the chain holds.
        actors = {"A", "B"}
    else:
        _append(trail, runtime, 1, actor="A")
        _append(trail, runtime, 1, actor="B")
        actors = {"A", "B"}
    trail.catch_up(runtime.engine)
    assert trail.verify(runtime.engine)[1] is None
    with runtime.engine.connect() as conn:
        seen = [r.actor for r in conn.execute(select(audit_events.c.actor).order_by("seq"))]
    assert seen[0] == "before"
    assert set(seen[1:]) == actors
    assert len(seen) == 3


def test_on_postgresql_a_writer_only_queues_and_the_loop_chains(runtime, backend):
    trail = AuditTrail(runtime.keys.audit_chain_key)
    _append(trail, runtime, 3)
    with runtime.engine.connect() as conn:
        waiting = len(conn.execute(select(audit_pending)).all())
        chained = len(conn.execute(select(audit_events)).all())
    if backend == "pg-s3":
        assert (waiting, chained) == (3, 0)
    else:
        assert (waiting, chained) == (0, 3)  # SQLite's one writer chains at once
    loop = AuditLoop(runtime, AuditOptions(checkpoint_seconds=3600))
    assert loop.step() >= 1  # chained what waited (PostgreSQL) and signed the first checkpoint
    with runtime.engine.connect() as conn:
        assert conn.execute(select(audit_pending)).first() is None
        assert len(conn.execute(select(audit_events)).all()) == 3
        first = conn.execute(select(audit_checkpoints)).all()
    assert [c.seq for c in first] == [3]
    _append(trail, runtime, 2)
    loop.step()
    with runtime.engine.connect() as conn:
        # Chained, but the next checkpoint is not due for an hour.
        assert len(conn.execute(select(audit_events)).all()) == 5
        assert len(conn.execute(select(audit_checkpoints)).all()) == 1
    assert AuditLoop(runtime, AuditOptions(checkpoint_seconds=0.001)).step() >= 1
    with runtime.engine.connect() as conn:
        assert [c.seq for c in conn.execute(select(audit_checkpoints).order_by("seq"))] == [3, 5]


def test_a_chain_rewritten_without_the_key_fails_verification(runtime):
    """Someone who can write the database edits an event and recomputes every hash after it
    (the public form needs no key): the instance's keyed mac still catches it."""
    trail = AuditTrail(runtime.keys.audit_chain_key)
    _append(trail, runtime, 4)
    trail.catch_up(runtime.engine)
    rows = [dict(r) for r in AuditTrail.iter_rows(runtime.engine)]
    rows[1]["actor"] = "mallory"
    prev = rows[0]["hash"]
    from callvault.audit.trail import event_json

    with runtime.engine.begin() as conn:
        for row in rows[1:]:
            public = event_json({**row, "prev_hash": prev})
            digest = hashlib.sha256(
                json.dumps(
                    {k: v for k, v in public.items() if k != "hash"},
                    sort_keys=True,
                    separators=(",", ":"),
                ).encode()
            ).hexdigest()
            conn.execute(
                update(audit_events)
                .where(audit_events.c.seq == row["seq"])
                .values(actor=row["actor"], prev_hash=prev, hash=digest)
            )
            prev = digest
    checked, problem = trail.verify(runtime.engine)
    assert (checked, problem) == (1, "event 2 was altered")
