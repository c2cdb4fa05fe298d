"""Legal holds against the eraser: every interleaving we can force (contract §12).

The rule under test: a call a hold covers is erased only if its data key was destroyed before
the hold committed; otherwise it is saved (item ``Held``, call readable, key intact). The one
outcome never allowed is a saved call without its key.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from callvault.capture.reads import CallReader
from callvault.demo import seed_calls
from callvault.holds.service import HoldScope, HoldService
from callvault.purge.loop import ErasureLoop, ErasureOptions
from callvault.purge.service import PurgeService
from callvault.store import purges

pytestmark = pytest.mark.both_backends

KILL_WORKER = Path(__file__).with_name("kill_worker.py")


def _hold(runtime, call_ids) -> dict:
    return HoldService(runtime).place(
        "Doe v. Acme", "litigation", HoldScope(call_ids=call_ids), "legal"
    )


def _item_statuses(runtime, request_id: str) -> list[str]:
    return [i["status"] for i in PurgeService(runtime).request(request_id)["items"]]


def _assert_saved(runtime, call_id: str) -> None:
    assert runtime.keystore.get(call_id) is not None, "a saved call lost its key"
    assert CallReader(runtime).details(call_id, "tester")["callId"] == call_id


def test_hold_committed_after_claim_is_seen_by_the_eraser(runtime):
    (call_id,) = seed_calls(runtime, 1, seed=11)
    accepted = PurgeService(runtime).purge_calls([call_id], False, "tester")
    worker = ErasureLoop(runtime, ErasureOptions())
    jobs = purges.claim(runtime.engine, worker.worker_id, 10, 30)
    assert [j.call_id for j in jobs] == [call_id]
    # The hold lands between the claim and the erasure; its placement saves the queued call.
    hold = _hold(runtime, [call_id])
    outcome = worker.eraser.erase(jobs)
    assert outcome.erased == []
    assert _item_statuses(runtime, accepted.request_id) == ["Held"]
    assert hold["coveredCalls"] == 1
    _assert_saved(runtime, call_id)


def test_eraser_spares_a_call_covered_by_a_hold_placement_did_not_see(runtime, monkeypatch):
    """The eraser's own check: a hold whose placement found nothing queued (the purge was
    accepted while the hold was being written) still stops the erasure."""
    (call_id,) = seed_calls(runtime, 1, seed=12)
    accepted = PurgeService(runtime).purge_calls([call_id], False, "tester")
    monkeypatch.setattr("callvault.store.holds.covered_being_erased", lambda conn, hold: [])
    _hold(runtime, [call_id])
    monkeypatch.undo()
    assert _item_statuses(runtime, accepted.request_id) == ["Purging"]
    assert ErasureLoop(runtime, ErasureOptions()).drain() == 1
    assert _item_statuses(runtime, accepted.request_id) == ["Held"]
    assert PurgeService(runtime).request(accepted.request_id)["state"] == "Held"
    _assert_saved(runtime, call_id)


def test_a_hold_placed_while_keys_are_being_destroyed_waits_and_does_not_count_them(runtime):
    """Force the eraser to stop between its hold check and its key destruction, then place a
    hold. Without the lock the placement would find the key, save the call, and the eraser would
    then destroy the key of a saved call."""
    (call_id,) = seed_calls(runtime, 1, seed=13)
    accepted = PurgeService(runtime).purge_calls([call_id], False, "tester")
    inside, proceed = threading.Event(), threading.Event()
    real_destroy = runtime.keystore.destroy

    def paused_destroy(ids):
        inside.set()
        assert proceed.wait(30)
        return real_destroy(ids)

    runtime.keystore.destroy = paused_destroy
    worker = ErasureLoop(runtime, ErasureOptions())
    erasing = threading.Thread(target=worker.run_once)
    erasing.start()
    assert inside.wait(30)
    placed: dict = {}
    placing = threading.Thread(target=lambda: placed.update(_hold(runtime, [call_id])))
    placing.start()
    # Give the placement every chance to run ahead; it must be blocked by the eraser's lock.
    placing.join(timeout=2)
    proceed.set()
    erasing.join(30)
    placing.join(30)
    assert not erasing.is_alive()
    assert not placing.is_alive()
    runtime.keystore.destroy = real_destroy
    assert placed["coveredCalls"] == 0  # past saving: not counted
    assert runtime.keystore.get(call_id) is None
    assert _item_statuses(runtime, accepted.request_id) == ["Purged"]


@pytest.mark.parametrize("when", ["before-destroy", "after-destroy"])
def test_worker_killed_between_hold_check_and_commit(runtime, tmp_path, when):
    """SIGKILL the worker process after its hold check, before (or just after) the key store
    deletes the keys; then place a hold and run a healthy worker."""
    (call_id,) = seed_calls(runtime, 1, seed=14, durable=True)
    accepted = PurgeService(runtime).purge_calls([call_id], False, "tester")
    settings = runtime.settings
    env = {
        **os.environ,
        "CALLVAULT_DATA_DIR": str(settings.data_dir),
        "CALLVAULT_KILL_WHEN": when,
        "CALLVAULT_PURGE_LEASE_SECONDS": "1",
    }
    for name in ("database_url", "keystore_url", "blob_url", "s3_endpoint_url", "master_key"):
        value = getattr(settings, name)
        if value is not None:
            env[f"CALLVAULT_{name.upper()}"] = str(value)
    run = subprocess.run(
        [sys.executable, str(KILL_WORKER)], env=env, capture_output=True, timeout=120
    )
    assert run.returncode == -9, run.stderr.decode()[-2000:]

    hold = _hold(runtime, [call_id])
    worker = ErasureLoop(runtime, ErasureOptions(lease_seconds=1))
    if when == "before-destroy":
        assert hold["coveredCalls"] == 1
        assert _item_statuses(runtime, accepted.request_id) == ["Held"]
        _assert_saved(runtime, call_id)
        worker.drain()
        _assert_saved(runtime, call_id)
    else:
        assert hold["coveredCalls"] == 0  # its key was gone: past saving
        assert runtime.keystore.get(call_id) is None
        # The killed worker's lease runs out; the erasure finishes despite the hold.
        deadline = time.monotonic() + 30
        while worker.run_once() == 0:
            assert time.monotonic() < deadline, "the killed worker's job never came back"
            time.sleep(0.1)
        assert _item_statuses(runtime, accepted.request_id) == ["Purged"]


def test_a_hold_saves_an_erasure_that_gave_up_and_its_release_resumes_it(runtime):
    """An erasure that gave up before the key went (a key store outage) still owes the call's
    erasure: a hold holds it, its release resumes it."""
    (call_id,) = seed_calls(runtime, 1, seed=15)
    accepted = PurgeService(runtime).purge_calls([call_id], False, "tester")
    from callvault.store.engine import write_transaction

    with write_transaction(runtime.engine) as conn:
        purges.give_up(conn, call_id, "key store unavailable: OperationalError")
    assert PurgeService(runtime).request(accepted.request_id)["state"] == "Failed"
    hold = _hold(runtime, [call_id])
    doc = PurgeService(runtime).request(accepted.request_id)
    assert (doc["state"], doc["items"][0]["status"]) == ("Held", "Held")
    _assert_saved(runtime, call_id)
    HoldService(runtime).release(hold["holdId"], "over", "legal")
    assert ErasureLoop(runtime, ErasureOptions()).drain() == 1
    assert _item_statuses(runtime, accepted.request_id) == ["Purged"]
    assert runtime.keystore.get(call_id) is None


def test_a_preview_of_a_call_being_erased_is_never_changed_by_the_erasure(runtime):
    (call_id,) = seed_calls(runtime, 1, seed=16)
    service = PurgeService(runtime)
    service.purge_calls([call_id], False, "tester")
    preview = service.purge_calls([call_id], True, "tester")
    assert [i.status for i in preview.items] == ["Purging"]  # the answer: as the real run
    _hold(runtime, [call_id])  # saves the call; must not touch the preview
    assert _item_statuses(runtime, preview.request_id) == ["WhatIf"]
    assert service.request(preview.request_id)["state"] == "Complete"
