"""bench/capture_cpu.py still runs on a small store. Its figures are read by a person, never
asserted: this checks that it captured, read the threads' CPU and left the store as found."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from sqlalchemy import func, select

from callvault.runtime import Runtime
from callvault.settings import Settings
from callvault.store.tables import calls
from helpers import run_bench


def _live_calls(store: Path) -> int:
    runtime = Runtime.open(Settings(data_dir=store / "data", run_worker=False))
    try:
        with runtime.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(calls)).scalar_one())
    finally:
        runtime.close()


def _capture_cpu(store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """capture_cpu.py on a 300-call store, 30 captures."""
    return run_bench(
        "capture_cpu.py", "--store", str(store), "--calls", "300", "--captures", "30", *args
    )


def test_capture_cpu_splits_a_capture_by_thread_and_erases_what_it_captured(tmp_path):
    store = tmp_path / "store"
    run = _capture_cpu(store)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "30 captures of 256 KiB, one connection" in run.stdout
    assert re.search(r"ms a capture, \d+\.\d\d ms of it server CPU", run.stdout), run.stdout
    assert "event loop thread:" in run.stdout
    assert "other threads:" in run.stdout
    assert _live_calls(store) == 300


def test_capture_cpu_steps_times_the_thread_pool_steps_in_process(tmp_path):
    store = tmp_path / "store"
    run = _capture_cpu(store, "--steps")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "30 captures of 256 KiB in process, then processed" in run.stdout
    for step in (
        "session check",
        "key store put and commit",
        "row, digests, audit and commit",
        "processing (duration, Complete)",
        "blob write (the encryption runs before, untimed)",
        "blob fsync, rename, folder fsync",
    ):
        assert re.search(rf"^ +\d+\.\d{{3}} +\d+\.\d{{3}}  {re.escape(step)}$", run.stdout, re.M), (
            step
        )
    assert _live_calls(store) == 300
