"""Batched acceptance takes locks in the eraser's order (rows, then the audit chain's lock), so a
batch and an erasure of one of its calls never deadlock on PostgreSQL.

The interleaving is forced: two purge requests are queued into one batch while a transaction
standing in for the eraser holds the second call's row; once the batch is blocked on that row,
the stand-in appends to the audit trail and commits. If the batch had taken the chain's lock while
locking its rows, PostgreSQL would kill one side with DeadlockDetected.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select, text

from callvault.audit.trail import AuditEvent
from callvault.demo import seed_calls
from callvault.purge.service import PurgeService
from callvault.store.tables import calls


def _blocked_on_a_row_lock(runtime) -> bool:
    with runtime.engine.connect() as conn:
        waiting = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        ).scalar_one()
    return bool(waiting)


@pytest.mark.parametrize("backend", ["pg-s3"], indirect=True)
def test_a_batch_and_an_erasure_of_its_call_do_not_deadlock(runtime):
    first, second = seed_calls(runtime, 2, seed=4)
    service = PurgeService(runtime)
    committer = service._writes
    with committer._cond:
        committer._leading = True  # let both requests queue into one batch

    eraser_has_row = threading.Event()
    eraser_done = threading.Event()
    errors: list[BaseException] = []

    def eraser() -> None:
        try:
            with runtime.engine.begin() as conn:
                conn.execute(
                    select(calls.c.call_id).where(calls.c.call_id == second).with_for_update()
                )
                eraser_has_row.set()
                deadline = time.monotonic() + 20
                while not _blocked_on_a_row_lock(runtime):
                    assert time.monotonic() < deadline, "the batch never reached the row"
                    time.sleep(0.02)
                service.trail.append(conn, [AuditEvent("call.erased", "eraser", None, second)])
        except BaseException as exc:
            errors.append(exc)
        finally:
            eraser_done.set()

    with ThreadPoolExecutor(3) as pool:
        standing_in = pool.submit(eraser)
        assert eraser_has_row.wait(10)
        asked = [
            pool.submit(service.purge_calls, [first], False, "tester"),
            pool.submit(service.purge_calls, [second], False, "tester"),
        ]
        while len(committer._queue) < 2:
            time.sleep(0.001)
        with committer._cond:
            committer._leading = False
            committer._cond.notify_all()
        results = [a.result(timeout=60) for a in asked]
        standing_in.result(timeout=60)
    assert errors == []
    assert [r.items[0].status for r in results] == ["Purging", "Purging"]
