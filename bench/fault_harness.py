"""Hundreds of fault-injection rounds (see tests/faults.py for what each round does and checks).

.venv/bin/python bench/fault_harness.py --rounds 300 --seed 1
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from faults import run_rounds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        report = run_rounds(Path(tmp) / "data", args.rounds, args.seed)
    print(f"rounds:                 {report.rounds}")
    print(f"captures acknowledged:  {report.captures_acked}")
    print(f"captures cut off:       {report.captures_cut_off}")
    print(f"purges accepted:        {report.purges_accepted} ({report.calls_purged} calls)")
    print(f"invariant violations:   {len(report.violations)}")
    for violation in report.violations:
        print(f"  - {violation}")
    print(f"time:                   {time.perf_counter() - started:.0f} s")
    sys.exit(1 if report.violations else 0)


if __name__ == "__main__":
    main()
