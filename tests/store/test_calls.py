"""The call store's writes: what must reach the disk before it returns, and what may not."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import select

from callvault.demo import seed_calls
from callvault.store import calls as call_store
from callvault.store.tables import calls


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
