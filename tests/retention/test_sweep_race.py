"""Several workers sweep at once: each expired call is queued once (contract §15).

The interleaving is forced: both sweepers read the same page of expired calls before either
accepts it, so only the acceptance transaction (the calls chosen are claimed in the transaction
that writes the request) keeps the second from queuing them again. On PostgreSQL that runs with
the sweep's advisory lock switched off, and once more with it on (one worker sweeps at a time).
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from callvault.demo import seed_calls
from callvault.purge.loop import ErasureLoop, ErasureOptions
from callvault.retention.service import RetentionService
from callvault.runtime import Runtime
from callvault.store import retention as retention_store
from callvault.store.tables import calls, purge_items, purge_jobs, purge_requests

pytestmark = pytest.mark.both_backends

CALLS = 30


def _expired_store(runtime) -> list[str]:
    ids = seed_calls(runtime, CALLS, session_prefix="race-")
    with runtime.engine.begin() as conn:
        conn.execute(
            update(calls)
            .where(calls.c.call_id.in_(ids))
            .values(start_time=datetime.now(UTC) - timedelta(days=90))
        )
    return ids


def _queued_counts(runtime) -> Counter[str]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(
            select(purge_items.c.call_id)
            .join(purge_requests, purge_requests.c.request_id == purge_items.c.request_id)
            .where(purge_requests.c.kind == "retention")
        ).scalars()
        return Counter(rows)


def _race(settings, monkeypatch, *, lock: bool) -> list[int]:
    """Two workers (each its own engine, as two processes) sweep at once; returns what each
    queued."""
    if not lock:
        monkeypatch.setattr(retention_store, "try_lock_sweep", lambda conn: True)
    both_read = threading.Barrier(2, timeout=20)
    real_page = retention_store.expired_page
    first_page: set[int] = set()

    def page_then_wait(conn, *args, **kwargs):
        page = real_page(conn, *args, **kwargs)
        me = threading.get_ident()
        if me not in first_page:  # both hold the same first page before either accepts it
            first_page.add(me)
            if not lock:
                both_read.wait()
        return page

    monkeypatch.setattr(retention_store, "expired_page", page_then_wait)
    runtimes = [Runtime.open(settings) for _ in range(2)]
    queued = [0, 0]
    errors: list[BaseException] = []
    start = threading.Barrier(2, timeout=20)

    def sweeper(i: int) -> None:
        try:
            start.wait()
            queued[i] = RetentionService(runtimes[i], batch=7).sweep().queued
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sweeper, args=(i,)) for i in range(2)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        for rt in runtimes:
            rt.close()
    assert not errors, errors
    return queued


@pytest.mark.parametrize("lock", [False, True], ids=["acceptance-only", "advisory-lock"])
def test_two_workers_sweeping_at_once_queue_each_call_once(
    runtime, settings, monkeypatch, lock, backend
):
    if lock and backend != "pg-s3":
        pytest.skip("the sweep's advisory lock is PostgreSQL's; SQLite has one writer anyway")
    ids = _expired_store(runtime)
    RetentionService(runtime).put("sixty", 60, None, "officer")
    queued = _race(settings, monkeypatch, lock=lock)
    assert sum(queued) == CALLS
    counts = _queued_counts(runtime)
    assert set(counts) == set(ids)
    assert set(counts.values()) == {1}, "a call was queued twice"
    with runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(purge_jobs)).scalar_one() == CALLS
    assert ErasureLoop(runtime, ErasureOptions()).drain() == CALLS
