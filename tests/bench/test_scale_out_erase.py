"""bench/scale_out_erase.py still runs: throwaway PostgreSQL and SeaweedFS, worker processes on an
unversioned bucket, capture servers, the small embedded end to end. Its figures are read by a
person, never asserted: this checks that every row is printed and that each process's CPU per
1,000 calls is shown beside each configuration."""

from __future__ import annotations

import re

import pytest

from helpers import run_bench

NUMBER = r"[\d,]+\.\d+"


@pytest.mark.slow  # process starts: the workers, three servers, PostgreSQL, SeaweedFS
def test_scale_out_erase_prints_every_target_row_and_every_process_cpu():
    run = run_bench(
        "scale_out_erase.py",
        *("--calls", "200", "--workers", "1,2", "--threads", "2"),
        *("--captures", "24", "--capture-kib", "16", "--e2e-calls", "200"),
        timeout=900,  # about a minute on a quiet machine; several under a run queue of 30
    )
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    for row in (
        rf"erasure calls/s, embedded, 1 worker \(200 calls\) +{NUMBER}",
        rf"PG \+ S3 \(unversioned\), 1 worker vs embedded +{NUMBER} +{NUMBER} +\d+\.\d\d  >= 0\.5x",
        rf"PG \+ S3 \(unversioned\), 2 workers vs 1 \(machine \d+% busy\) +{NUMBER} .* >= 1\.5x",
        r"worker CPU ms a call, PG \+ S3 \(unversioned\) 1 vs embedded .* <= 1\.5x",
        rf"capture 16 KiB calls/s, embedded \(8 conns\) +{NUMBER}",
        r"PG \+ S3 \(unversioned\) vs embedded .* >= 0\.8x",
        rf"first erasure s after worker spawn, embedded +{NUMBER} +<= 1 s",
        rf"first erasure s after worker spawn, PG \+ S3 +{NUMBER} +<= 1 s",
        rf"worker CPU s by then, embedded +{NUMBER}",
        rf"worker CPU s by then, PG \+ S3 +{NUMBER}",
        r"end to end calls/s, embedded \(200 calls, HTTP\) .* >= 0\.25x bare floor",
    ):
        assert re.search(row, out), (row, out)
    cpu = out[out.index("CPU seconds per 1,000 calls") :]
    for configuration, processes in (
        ("embedded end to end", ["API \\+ worker", "bench"]),
        ("embedded, 1 worker", ["worker 1", "bench"]),
        ("PG \\+ S3 unversioned, 1 worker x 2 threads", ["worker 1", "PostgreSQL", "SeaweedFS"]),
        ("PG \\+ S3 unversioned, 2 workers x 2 threads", ["worker 2", "PostgreSQL", "SeaweedFS"]),
        ("embedded capture", ["API", "bench"]),
        ("PG \\+ S3 unversioned capture", ["API", "PostgreSQL", "SeaweedFS", "bench"]),
    ):
        line = re.search(rf"^{configuration} .*$", cpu, re.M)
        assert line is not None, (configuration, cpu)
        for process in processes:
            assert re.search(rf"{process}[^,;]* \d+\.\d{{3}}", line.group(0)), (process, line)
