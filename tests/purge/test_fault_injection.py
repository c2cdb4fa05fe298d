"""Dozens of SIGKILL rounds under capture and purge traffic; zero invariant violations."""

from __future__ import annotations

import os

from faults import run_rounds

ROUNDS = int(os.environ.get("CALLVAULT_FAULT_ROUNDS", "20"))


def test_random_kills_under_traffic_break_no_invariant(tmp_path):
    report = run_rounds(tmp_path / "data", ROUNDS, int(os.environ.get("CALLVAULT_FAULT_SEED", "3")))
    print(f"\n{report}")
    assert report.captures_acked > ROUNDS  # traffic really flowed
    assert report.purges_accepted > 0
    assert report.violations == []
