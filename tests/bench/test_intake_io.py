"""bench/intake_io.py still runs on a small store, and leaves it as it found it (what it queued
is erased again). Its figures are read by a person, never asserted."""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import func, select

from callvault.runtime import Runtime
from callvault.settings import Settings
from callvault.store.tables import calls, purge_jobs
from helpers import BENCH, run_bench

sys.path.insert(0, str(BENCH))
from million_store import ensure_store


def _live_and_queued(store: Path) -> tuple[int, int]:
    runtime = Runtime.open(Settings(data_dir=store / "data", run_worker=False))
    try:
        with runtime.engine.connect() as conn:
            live = conn.execute(select(func.count()).select_from(calls)).scalar_one()
            queued = conn.execute(select(func.count()).select_from(purge_jobs)).scalar_one()
        return int(live), int(queued)
    finally:
        runtime.close()


def _intake_io(store: Path, *args: str) -> str:
    """intake_io.py's output on ``store``, a 500-call store like the one run_all.py keeps."""
    ensure_store(store, 500, say=False)
    run = run_bench("intake_io.py", "--store", str(store), *args)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def test_intake_io_prints_each_statement_and_erases_what_it_queued(tmp_path):
    out = _intake_io(tmp_path / "store", "--requests", "3")
    assert "3 requests of 100 IDs" in out
    assert "UPDATE calls SET status" in out
    assert "erased the 300 queued calls again" in out
    assert _live_and_queued(tmp_path / "store") == (200, 0)


def test_intake_io_measures_customer_previews_without_queueing_anything(tmp_path):
    out = _intake_io(tmp_path / "store", "--whatif")
    assert "50 customer previews" in out
    assert "INSERT INTO confirm_tokens" in out
    assert _live_and_queued(tmp_path / "store") == (500, 0)
