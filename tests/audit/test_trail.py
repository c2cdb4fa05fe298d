"""The audit trail's hash chain detects edits, deletions, insertions and reordering, on both
backends (PostgreSQL's writers append unsequenced; ``verify`` chains them first)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, update

from callvault.audit.trail import AuditEvent, AuditTrail
from callvault.store.engine import write_transaction
from callvault.store.tables import audit_events

pytestmark = pytest.mark.both_backends


@pytest.fixture
def trail(runtime):
    trail = AuditTrail(runtime.keys.audit_chain_key)
    for batch in range(3):
        with write_transaction(runtime.engine) as conn:
            trail.append(
                conn,
                [
                    AuditEvent("test.event", "tester", details={"n": batch * 10 + i})
                    for i in range(4)
                ],
            )
    trail.catch_up(runtime.engine)  # PostgreSQL: chain what the writers queued
    return trail


def test_intact_chain_verifies(runtime, trail):
    assert trail.verify(runtime.engine) == (12, None)


def test_edited_event_is_detected(runtime, trail):
    with runtime.engine.begin() as conn:
        conn.execute(update(audit_events).where(audit_events.c.seq == 5).values(actor="mallory"))
    checked, problem = trail.verify(runtime.engine)
    assert checked == 4
    assert "event 5 was altered" in problem


def test_deleted_event_is_detected(runtime, trail):
    with runtime.engine.begin() as conn:
        conn.execute(delete(audit_events).where(audit_events.c.seq == 7))
    assert "event 7 is missing" in trail.verify(runtime.engine)[1]


def test_inserted_event_is_detected(runtime, trail):
    with runtime.engine.begin() as conn:
        conn.execute(update(audit_events).where(audit_events.c.seq == 12).values(seq=13))
        row = dict(
            conn.execute(audit_events.select().where(audit_events.c.seq == 11)).mappings().one()
        )
        conn.execute(audit_events.insert().values({**row, "seq": 12, "actor": "mallory"}))
    checked, problem = trail.verify(runtime.engine)
    assert checked == 11
    assert problem is not None
    assert "event 12" in problem


def test_reordered_events_are_detected(runtime, trail):
    with runtime.engine.begin() as conn:
        conn.execute(update(audit_events).where(audit_events.c.seq == 3).values(seq=100))
        conn.execute(update(audit_events).where(audit_events.c.seq == 4).values(seq=3))
        conn.execute(update(audit_events).where(audit_events.c.seq == 100).values(seq=4))
    assert trail.verify(runtime.engine)[1] is not None


def test_recomputed_chain_without_the_key_fails(runtime, trail):
    import os

    forged = AuditTrail(os.urandom(32))
    assert forged.verify(runtime.engine)[1] is not None
