"""Where a purge worker's erasure time goes on a large store: each phase of ``Eraser.erase``, its
wall time and its CPU time (all threads, kernel included) per erased call, in one process.

    .venv/bin/python bench/erase_phases.py [--store DIR] [--calls N] [--batch N]

``--calls`` random live calls of the kept store (bench/million_store.py's) are accepted in
requests of 100, then one ``ErasureLoop.drain()`` erases them with each phase timed: the legal
hold check, the key store's deletes and its checkpoint, the blob deletes, ``finish_erased`` (rows,
blind-index entries, items, jobs), the audit events and the calls database's checkpoint. Wall
time above CPU time is waiting (fsync, page reads).

Before each checkpoint of the calls database it also reads the WAL's frame headers: the pages
that batch wrote (every erased call's random pages), then names each page's table or index with
SQLite's ``dbstat``, so a reader sees which B-trees an erasure dirties and how many pages each.
The first batch is left out of those counts: its WAL also holds the acceptance's pages.

The calls are erased for real: run_all.py's store build tops the store up again.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import sqlite3
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

from million_store import settings_for
from run_all import _sample_ids

from callvault.purge import eraser as eraser_module
from callvault.purge.loop import ErasureLoop, ErasureOptions
from callvault.purge.service import PurgeService
from callvault.runtime import Runtime
from callvault.store import purges
from callvault.store.engine import checkpoint


class Phases:
    """Wall and CPU seconds spent in each wrapped function."""

    def __init__(self) -> None:
        self.wall: collections.defaultdict[str, float] = collections.defaultdict(float)
        self.cpu: collections.defaultdict[str, float] = collections.defaultdict(float)

    def timed(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.wall[name] += time.perf_counter() - wall
                self.cpu[name] += time.process_time() - cpu

        return wrapper


WAL_HEADER, FRAME_HEADER = 32, 24


def wal_pages(database: Path) -> list[int]:
    """The page number of every frame in ``database``'s WAL, in order (duplicates kept)."""
    wal = Path(f"{database}-wal")
    try:
        data = wal.read_bytes()
    except FileNotFoundError:
        return []
    if len(data) < WAL_HEADER:
        return []
    page_size = struct.unpack(">I", data[8:12])[0]
    frame = FRAME_HEADER + page_size
    return [
        struct.unpack(">I", data[at : at + 4])[0]
        for at in range(WAL_HEADER, len(data) - frame + 1, frame)
    ]


class WalPages:
    """The distinct pages each batch wrote, read from the WAL before its checkpoint."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.batches: list[list[int]] = []

    def before(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.batches.append(wal_pages(self.database))
            return function(*args, **kwargs)

        return wrapper

    def by_btree(self, skip_first: bool = True) -> tuple[int, int, collections.Counter[str]]:
        """(frames, distinct pages, distinct pages by table or index) of the batches kept."""
        kept = self.batches[1:] if skip_first else self.batches
        with contextlib.closing(sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)) as db:
            owner = dict(db.execute("SELECT pageno, name FROM dbstat"))
        frames = sum(len(pages) for pages in kept)
        distinct = [set(pages) for pages in kept]
        named: collections.Counter[str] = collections.Counter()
        for pages in distinct:
            for page in pages:
                named[owner.get(page, "(freed, or the file header)")] += 1
        return frames, sum(len(pages) for pages in distinct), named


@contextlib.contextmanager
def instrumented(
    runtime: Runtime, worker: ErasureLoop, phases: Phases, wal: WalPages
) -> Iterator[None]:
    eraser = worker.eraser
    wrap = [
        (runtime.keystore, "destroy", "key store deletes"),
        (runtime.keystore, "checkpoint", "key store checkpoint"),
        (runtime.blobs, "delete_many", "blob deletes"),
        (eraser.governance, "spare", "legal hold check"),
        (eraser.trail, "append", "audit events"),
        (purges, "finish_erased", "finish_erased (rows, items, jobs)"),
        (purges, "claim", "claim"),
        (eraser, "erase", "erase, in all"),
    ]
    with contextlib.ExitStack() as stack:
        for owner, name, label in wrap:
            stack.enter_context(
                mock.patch.object(owner, name, phases.timed(label, getattr(owner, name)))
            )
        # Innermost, so that reading the WAL is not counted as the checkpoint's time.
        stack.enter_context(
            mock.patch.object(
                eraser_module,
                "checkpoint",
                phases.timed("calls database checkpoint", wal.before(checkpoint)),
            )
        )
        yield


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", type=Path, default=Path("/var/tmp/callvault-bench"))
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()

    runtime = Runtime.open(settings_for(args.store))
    try:
        ids = _sample_ids(runtime, args.calls, time.time_ns())
        service = PurgeService(runtime)
        # An actor of its own each run: the per-user hourly quota would stop the tenth run.
        actor = f"bench-erase-phases-{time.time_ns()}"
        for i in range(0, len(ids), 100):
            service.purge_calls(ids[i : i + 100], False, actor)
        worker = ErasureLoop(runtime, ErasureOptions(batch_size=args.batch))
        phases = Phases()
        database = Path(str(runtime.engine.url.database))
        wal = WalPages(database)
        with instrumented(runtime, worker, phases, wal):
            wall, cpu = time.perf_counter(), time.process_time()
            erased = worker.drain()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if erased != len(ids):
            raise SystemExit(f"erased {erased} calls, expected {len(ids)}")
        print(
            f"{erased:,} calls erased in batches of {args.batch}: {erased / wall:,.0f} calls/s, "
            f"{1e6 * wall / erased:,.0f} us a call ({1e6 * cpu / erased:,.0f} us of CPU)"
        )
        print(f"{'wall us':>8} {'cpu us':>8} {'share':>6}  phase (per erased call)")
        for label, seconds in sorted(phases.wall.items(), key=lambda kv: -kv[1]):
            print(
                f"{1e6 * seconds / erased:8.0f} {1e6 * phases.cpu[label] / erased:8.0f} "
                f"{100 * seconds / wall:5.1f}%  {label}"
            )
        frames, distinct, named = wal.by_btree()
        if len(wal.batches) < 2:
            return
        per_call = float(erased - min(args.batch, erased)) or 1.0
        print(
            f"calls database pages written, batches 2-{len(wal.batches)}: "
            f"{frames / per_call:.1f} WAL frames and {distinct / per_call:.1f} distinct pages "
            "a call"
        )
        for name, count in named.most_common():
            print(f"{count / per_call:8.2f}  {name}")
    finally:
        runtime.close()


if __name__ == "__main__":
    main()
