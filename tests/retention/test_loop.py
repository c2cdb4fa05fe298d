"""The retention loop runs in every worker host, at CALLVAULT_RETENTION_INTERVAL_SECONDS."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from callvault.demo import seed_calls
from callvault.retention.loop import RetentionLoop
from callvault.retention.service import RetentionService
from callvault.settings import Settings
from callvault.store.tables import calls
from callvault.worker.host import WorkerHost
from callvault.worker.process import WorkerOptions, worker_host, worker_options


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
    worker = worker_host(runtime, WorkerOptions(idle_poll_seconds=0.05))
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
    loop = RetentionLoop(runtime, every_seconds=0.0)
    host = WorkerHost([loop])
    calls_made = []

    def broken() -> None:
        calls_made.append(1)
        raise RuntimeError("database went away")

    monkeypatch.setattr(loop.service, "sweep", broken)
    host.run_pass()  # logs the failure, and is due again at the next interval
    host.run_pass()
    assert len(calls_made) == 2


def test_the_loop_counts_what_it_queued_and_is_due_only_at_its_interval(runtime, monkeypatch):
    (expired,) = seed_calls(runtime, 1, session_prefix="i-")
    with runtime.engine.begin() as conn:
        conn.execute(
            update(calls)
            .where(calls.c.call_id == expired)
            .values(start_time=datetime.now(UTC) - timedelta(days=40))
        )
    RetentionService(runtime).put("thirty", 30, None, "officer")
    loop = RetentionLoop(runtime, every_seconds=3600)
    sweeps = []
    sweep = loop.service.sweep
    monkeypatch.setattr(loop.service, "sweep", lambda: sweeps.append(1) or sweep())
    host = WorkerHost([loop])
    assert host.run_pass() == 1
    assert host.run_pass() == 0
    assert len(sweeps) == 1  # not due again for an hour
