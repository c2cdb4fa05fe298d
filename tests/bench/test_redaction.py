"""bench/redaction.py still runs, on a short call. Its figures are read by a person, never
asserted: this checks that it measured the redaction, its floor and the memory of both lengths."""

from __future__ import annotations

from helpers import run_bench


def test_redaction_bench_prints_both_formats_beside_their_floors():
    run = run_bench("redaction.py", "--minutes", "0.4", timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    for fmt in ("wav", "mp3"):
        assert f"{fmt} 0.4 min" in run.stdout
        assert f"{fmt} 0.1 min: redaction peak RSS MB" in run.stdout
    assert run.stdout.count("floor / redaction (target >= 0.5)") == 2
