"""bench/suppression_check.py still runs, on small numbers. Its figures are read by a person,
never asserted: this checks that it measured both series of checks and both stores."""

from __future__ import annotations

from helpers import run_bench


def test_suppression_check_prints_checks_and_captures_beside_their_floors():
    run = run_bench(
        "suppression_check.py", "--checks", "20", "--captures", "5", "--suppressions", "500"
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "check, 20 calls each" in run.stdout
    assert "floor (two unsuppressed numbers)" in run.stdout
    assert "500 suppressions written" in run.stdout
    assert "ratio:" in run.stdout
