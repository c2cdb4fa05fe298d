"""bench/erase_phases.py still runs on a small store. Its figures are read by a person, never
asserted: this checks that it erased what it accepted, timed the phases and named the pages."""

from __future__ import annotations

import re

from helpers import run_bench


def test_erase_phases_times_each_phase_and_names_the_pages_written(tmp_path):
    store = str(tmp_path / "store")
    built = run_bench("million_store.py", "--store", store, "--calls", "1500")
    assert built.returncode == 0, built.stdout + built.stderr
    run = run_bench("erase_phases.py", "--store", store, "--calls", "600", "--batch", "200")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "600 calls erased in batches of 200" in run.stdout
    for phase in ("key store", "blob", "finish_erased", "checkpoint"):
        assert phase in run.stdout, phase
    # Batches 2 and 3 wrote the calls table's pages, and dbstat named them.
    assert "calls database pages written, batches 2-3" in run.stdout
    assert re.search(r"^ +\d+\.\d\d  calls$", run.stdout, re.MULTILINE), run.stdout
