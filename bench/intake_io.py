"""Where a purge acceptance's time goes on a large store: each SQL statement's share, and what is
left for the commit (WAL write, fsync, automatic checkpoints), in one process, one request at a
time, each committed alone (no group commit, no HTTP).

Per statement it prints the read and write system calls it made (``/proc/self/io``: SQLite reads
and writes pages with pread/pwrite, so these count pages that missed its cache and pages it
wrote) and its time. ``--autocheckpoint 0`` switches SQLite's automatic checkpoint off for the
run (the drain after it checkpoints), which shows what the checkpoints cost the commits.

    .venv/bin/python bench/intake_io.py --store /var/tmp/callvault-bench [--autocheckpoint 0]

``--whatif`` measures the customer whatIf of run_all.py instead (the number with 20 calls): a
preview, whose commit does not wait for the disk.

The calls an intake run queues are erased afterwards (``ErasureLoop.drain``), so a kept store is
left as found.
"""

from __future__ import annotations

import argparse
import collections
import time
from pathlib import Path
from typing import Any

from million_store import TARGET_CALLS, TARGET_PHONE, settings_for
from run_all import _sample_ids
from sqlalchemy import event

from callvault.purge.loop import ErasureLoop, ErasureOptions
from callvault.purge.service import PurgeService
from callvault.runtime import Runtime


def _io() -> tuple[int, int]:
    fields = dict(line.split(":", 1) for line in Path("/proc/self/io").read_text().splitlines())
    return int(fields["syscr"]), int(fields["syscw"])


class StatementMeter:
    """Read/write system calls and time of each statement the engine runs."""

    def __init__(self, runtime: Runtime) -> None:
        self.stats: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0, 0, 0.0])
        self._start: tuple[int, int, float] = (0, 0, 0.0)
        event.listen(runtime.engine, "before_cursor_execute", self._before)
        event.listen(runtime.engine, "after_cursor_execute", self._after)

    def _before(self, *_: Any) -> None:
        self._start = (*_io(), time.perf_counter())

    def _after(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        reads, writes = _io()
        row = self.stats[" ".join(statement.split())[:70]]
        row[0] += 1
        row[1] += reads - self._start[0]
        row[2] += writes - self._start[1]
        row[3] += time.perf_counter() - self._start[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", type=Path, default=Path("/var/tmp/callvault-bench"))
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--whatif", action="store_true", help="customer previews instead")
    parser.add_argument("--autocheckpoint", type=int, help="PRAGMA wal_autocheckpoint (pages)")
    args = parser.parse_args()

    runtime = Runtime.open(settings_for(args.store))
    try:
        if args.autocheckpoint is not None:
            pragma = f"PRAGMA wal_autocheckpoint={args.autocheckpoint}"
            event.listen(runtime.engine, "connect", lambda dbapi, _record: dbapi.execute(pragma))
            runtime.engine.dispose()  # every connection from here on is a new one
        service = PurgeService(runtime)
        ids = [] if args.whatif else _sample_ids(runtime, args.requests * 100, time.time_ns())
        meter = StatementMeter(runtime)
        reads, writes = _io()
        began = time.perf_counter()
        for i in range(args.requests):
            if args.whatif:
                service.purge_customer(TARGET_PHONE, True, "bench-intake-io", region="US")
            else:
                service.purge_calls(ids[i * 100 : i * 100 + 100], False, "bench-intake-io")
        seconds = time.perf_counter() - began
        reads_after, writes_after = _io()
        reads, writes = reads_after - reads, writes_after - writes
        calls = args.requests * (TARGET_CALLS if args.whatif else 100)
        in_statements = sum(row[3] for row in meter.stats.values())
        what = "customer previews" if args.whatif else "requests of 100 IDs"
        print(
            f"{args.requests} {what}, each committed alone: "
            f"{args.requests / seconds:.1f} req/s, {1000 * seconds / args.requests:.1f} ms each"
        )
        print(
            f"  statements {1000 * in_statements / args.requests:.1f} ms, the rest (commit, "
            f"checkpoints, Python) {1000 * (seconds - in_statements) / args.requests:.1f} ms"
        )
        print(
            f"  read calls {reads / calls:.1f} per call, write calls {writes / calls:.1f} per call"
        )
        print(f"{'count':>6} {'reads':>8} {'writes':>8} {'ms each':>8}  statement")
        for text, (count, r, w, t) in sorted(meter.stats.items(), key=lambda kv: -kv[1][3]):
            print(f"{count:6.0f} {r:8.0f} {w:8.0f} {1000 * t / count:8.2f}  {text}")
        if not args.whatif:
            drained = ErasureLoop(runtime, ErasureOptions(batch_size=1000)).drain()
            print(f"(erased the {drained} queued calls again)")
    finally:
        runtime.close()


if __name__ == "__main__":
    main()
