"""bench/redaction.py still runs, on a short call. Its figures are read by a person, never
asserted: this checks that it measured, for both formats, the redaction, its floor, their ratio
and the memory above idle (a row of numbers under the table's header)."""

from __future__ import annotations

import re

from helpers import run_bench

HEADER = ("format", "min", "MB", "redact s", "floor s", "ratio", "peak RSS", "idle RSS")


def test_redaction_bench_prints_both_formats_beside_their_floors():
    run = run_bench("redaction.py", "--minutes", "0.4", timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert all(word in lines[0] for word in HEADER), lines[0]
    for fmt in ("wav", "mp3"):
        row = next((line for line in lines if line.startswith(f"{fmt} ")), None)
        assert row is not None, run.stdout
        values = row.split()[1:]
        assert values[0] == "0.4"
        # MB, redaction s, floor s, ratio, peak RSS, idle RSS, above idle: each a number
        assert len(values) == 8, row
        assert all(re.fullmatch(r"-?\d+(\.\d+)?", v) for v in values), row
        assert float(values[2]) > 0  # the redaction took time
        assert float(values[3]) > 0  # so did its floor
