"""End-to-end erasure rate on the embedded store, beside a bare floor measured in the same run.

Figure: calls accepted (100 IDs a request, through PurgeService) and erased (ErasureLoop.drain:
key destroyed first, blobs, rows, index, items, audit, WAL checkpoints) per second.
Floor: the same key-store deletes, calls/index deletes and blob unlinks of the same number of
calls in a plain loop, on an identical store with the same SQLite settings.

    .venv/bin/python bench/erase_rate.py --calls 10000
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from sqlalchemy import delete, select

from callvault.demo import seed_calls
from callvault.purge.loop import ErasureLoop, ErasureOptions
from callvault.purge.service import PurgeService
from callvault.runtime import Runtime
from callvault.settings import Settings
from callvault.store import purges
from callvault.store.engine import checkpoint, write_transaction
from callvault.store.keystore import data_keys
from callvault.store.tables import calls, customer_phones
from callvault.worker.process import WorkerOptions, WorkerThreads


def _store(root: Path, count: int) -> tuple[Runtime, list[str]]:
    runtime = Runtime.open(Settings(data_dir=root))
    ids = seed_calls(runtime, count, seed=5, batch=2000)
    checkpoint(runtime.engine)
    runtime.keystore.checkpoint()
    os.sync()
    return runtime, ids


def floor(runtime: Runtime, ids: list[str], batch: int) -> float:
    start = time.perf_counter()
    for i in range(0, len(ids), batch):
        chunk = ids[i : i + batch]
        with write_transaction(runtime.keystore.engine) as conn:
            conn.execute(delete(data_keys).where(data_keys.c.call_id.in_(chunk)))
        with runtime.engine.connect() as conn:
            keys = conn.execute(select(calls.c.blob_key).where(calls.c.call_id.in_(chunk)))
            paths = [k for (k,) in keys]
        for key in paths:
            (Path(runtime.settings.data_dir) / "blobs" / key).unlink()
        with write_transaction(runtime.engine) as conn:
            conn.execute(delete(customer_phones).where(customer_phones.c.call_id.in_(chunk)))
            conn.execute(delete(calls).where(calls.c.call_id.in_(chunk)))
    return len(ids) / (time.perf_counter() - start)


def measured(runtime: Runtime, ids: list[str], batch: int) -> tuple[float, float, float]:
    service = PurgeService(runtime)
    start = time.perf_counter()
    for i in range(0, len(ids), 100):
        service.purge_calls(ids[i : i + 100], False, "bench")
    accepted = time.perf_counter()
    erased = ErasureLoop(runtime, ErasureOptions(batch_size=batch)).drain()
    done = time.perf_counter()
    assert erased == len(ids), erased
    return (
        len(ids) / (done - start),
        len(ids) / (accepted - start),
        len(ids) / (done - accepted),
    )


def concurrent(runtime: Runtime, ids: list[str], batch: int) -> float:
    """Acceptance and erasure at once, as in `serve`: first request to last call erased."""
    workers = WorkerThreads(
        runtime,
        WorkerOptions(erasure=ErasureOptions(batch_size=batch), idle_poll_seconds=0.01),
        1,
        None,
    )
    service = PurgeService(runtime, on_queued=workers.notify)
    workers.start()
    start = time.perf_counter()
    for i in range(0, len(ids), 100):
        service.purge_calls(ids[i : i + 100], False, "bench")
    while purges.queue_stats(runtime.engine).depth:
        time.sleep(0.002)
    elapsed = time.perf_counter() - start
    workers.close()
    return len(ids) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bare, bare_ids = _store(Path(tmp) / "floor", args.calls)
        real, real_ids = _store(Path(tmp) / "real", args.calls)
        both, both_ids = _store(Path(tmp) / "both", args.calls)
        floor_rate = floor(bare, bare_ids, args.batch)
        total, intake, erase = measured(real, real_ids, args.batch)
        overlapped = concurrent(both, both_ids, args.batch)
        for runtime in (bare, real, both):
            runtime.close()
    print(f"{'figure (calls/s)':<44}{'value':>10}{'floor':>10}{'ratio':>8}")
    print(
        f"{'end-to-end: accept + erase ' + str(args.calls):<44}{total:>10.0f}"
        f"{floor_rate:>10.0f}{total / floor_rate:>8.2f}"
    )
    print(
        f"{'accept and erase concurrently (as in serve)':<44}{overlapped:>10.0f}"
        f"{floor_rate:>10.0f}{overlapped / floor_rate:>8.2f}"
    )
    print(f"{'  of which acceptance (100 IDs/request)':<44}{intake:>10.0f}")
    print(
        f"{'  of which erasure (worker drain)':<44}{erase:>10.0f}"
        f"{floor_rate:>10.0f}{erase / floor_rate:>8.2f}"
    )


if __name__ == "__main__":
    main()
