"""The retention sweep runs in every purge worker, at CALLVAULT_RETENTION_INTERVAL_SECONDS."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from callvault.api.app import worker_options
from callvault.demo import seed_calls
from callvault.purge.worker import PurgeWorker, WorkerOptions
from callvault.retention.service import RetentionService
from callvault.settings import Settings
from callvault.store.tables import calls


def test_the_interval_setting_reaches_the_worker(tmp_path):
    assert Settings(data_dir=tmp_path).retention_interval_seconds == 60
    options = worker_options(Settings(data_dir=tmp_path, retention_interval_seconds=5))
    assert options.retention_interval_seconds == 5


@pytest.mark.parametrize("seconds", [0, -1])
def test_the_interval_must_be_positive(tmp_path, seconds):
    with pytest.raises(ValueError, match="retention_interval_seconds"):
        Settings(data_dir=tmp_path, retention_interval_seconds=seconds)


def test_a_running_worker_sweeps_and_erases_expired_calls(runtime):
    expired, kept = seed_calls(runtime, 2, session_prefix="w-")
    with runtime.engine.begin() as conn:
        conn.execute(
            update(calls)
            .where(calls.c.call_id == expired)
            .values(start_time=datetime.now(UTC) - timedelta(days=40))
        )
        conn.execute(
            update(calls)
            .where(calls.c.call_id == kept)
            .values(start_time=datetime.now(UTC) - timedelta(days=1))
        )
    RetentionService(runtime).put("thirty", 30, None, "officer")
    worker = PurgeWorker(runtime, WorkerOptions(idle_poll_seconds=0.05))
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while runtime.keystore.get(expired) is not None:
            assert time.monotonic() < deadline, "the worker never swept the expired call"
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(30)
    with runtime.engine.connect() as conn:
        left = set(conn.execute(select(calls.c.call_id)).scalars())
    assert left == {kept}


def test_a_failing_sweep_does_not_stop_the_worker(runtime, monkeypatch):
    worker = PurgeWorker(runtime, WorkerOptions(retention_interval_seconds=0.0))
    calls_made = []

    def broken() -> None:
        calls_made.append(1)
        raise RuntimeError("database went away")

    monkeypatch.setattr(worker.retention, "sweep", broken)
    worker._retention_if_due()  # logs the failure, and is due again at the next interval
    worker._retention_if_due()
    assert len(calls_made) == 2
