"""`callvault demo-data`: a store filled with synthetic calls stored exactly as captured."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import func, select

from callvault.capture.reads import CallReader
from callvault.runtime import Runtime
from callvault.settings import Settings
from callvault.store.tables import calls, customer_phones

CLI = [sys.executable, "-m", "callvault.cli.main", "demo-data"]


def test_demo_data_fills_a_readable_store(tmp_path):
    data = tmp_path / "data"
    first = subprocess.run(
        [*CLI, "--calls", "40", "--seed", "1", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert first.returncode == 0, first.stderr
    assert "stored 40 calls" in first.stderr
    again = subprocess.run(
        [*CLI, "--calls", "5", "--data-dir", str(data)], capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 1
    assert "--session-prefix" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    more = subprocess.run(
        [*CLI, "--calls", "5", "--session-prefix", "more-", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert more.returncode == 0, more.stderr

    runtime = Runtime.open(Settings(data_dir=data))
    try:
        with runtime.engine.connect() as conn:
            rows = conn.execute(select(calls.c.call_id, calls.c.session_id)).all()
            indexed = conn.execute(select(func.count()).select_from(customer_phones)).scalar_one()
        sessions = {r.session_id for r in rows}
        assert {f"demo-{n}" for n in range(40)} | {f"more-{n}" for n in range(5)} == sessions
        assert indexed == 45  # every synthetic customer number is complete and indexed
        details = CallReader(runtime).details(rows[0].call_id, "demo-test")
        assert details["contacts"][1]["type"] == "Customer"
        assert details["contacts"][1]["phoneE164"].startswith("+1")
    finally:
        runtime.close()
