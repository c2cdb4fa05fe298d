"""bench/scale_out_erase.py still runs: throwaway PostgreSQL and SeaweedFS, worker processes (of
two threads here) on each bucket kind asked for. Its rates are read by a person, never asserted:
this checks that every configuration erased its calls and that each process's CPU is shown beside
them."""

from __future__ import annotations

import re

import pytest

from helpers import run_bench


@pytest.mark.slow  # about 40 s: three worker counts, each given 4 s to start
def test_scale_out_erase_measures_each_worker_count_with_every_process_cpu():
    run = run_bench(
        "scale_out_erase.py", "--calls", "200", "--buckets", "unversioned", "--threads", "2"
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"^embedded \(SQLite \+ folder\), 1 worker +\d+ +1\.00$", run.stdout, re.M)
    for n, workers in ((1, "worker process"), (2, "worker processes"), (4, "worker processes")):
        line = rf"^PostgreSQL \+ S3 \(unversioned\), {n} {workers} x 2 threads +\d+ +\d+\.\d\d$"
        assert re.search(line, run.stdout, re.M), run.stdout
        shown = re.search(rf"^  PG \+ S3 unversioned, {n}: (.*)$", run.stdout, re.M)
        assert shown is not None, run.stdout
        for process in ("PostgreSQL", "SeaweedFS", *(f"worker {k + 1}" for k in range(n))):
            assert re.search(rf"{process} \d+%", shown.group(1)), (process, shown.group(1))
    assert "(versioned)" not in run.stdout  # only the bucket kind asked for
