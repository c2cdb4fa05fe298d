"""bench/preview_latency.py still runs on a small store. Its figures are read by a person, never
asserted: this checks that it measured previews that found the target's calls."""

from __future__ import annotations

from helpers import run_bench


def test_preview_latency_prints_a_round_of_previews_beside_the_noop(tmp_path):
    run = run_bench(
        "preview_latency.py",
        "--store",
        str(tmp_path / "store"),
        "--calls",
        "300",
        "--requests",
        "20",
        "--rounds",
        "2",
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "customer whatIf, 20 of 300 calls, one connection" in run.stdout
    assert run.stdout.count("whatIf p50") == 2
    assert "no-op p50" in run.stdout
