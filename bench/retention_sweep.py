"""The retention sweep on a 1,000,000-call store (issue 16), beside floors measured in the same run.

Figures:

- empty sweep: ``RetentionService.sweep()`` with a policy (every direction) that no call has
  reached yet, median and p99 of many sweeps. Floor: one primary-key lookup of a call on the same
  store (the cheapest query there is), median of as many.
- expiring sweep: a policy that 100,000 of the million calls are past. Total time, calls queued
  per second, requests written (at most 1,000 calls each), and how long each batch's write
  transaction held the write lock (from BEGIN IMMEDIATE to the end of COMMIT): median and max.
- probe: while that sweep runs, a thread alternates a capture (``seed_calls`` of one call: blob,
  key, row, index, as capture stores them) and a purge intake of one live call
  (``PurgeService.purge_calls``); its worst and p99 latency, beside the same probe's without a
  sweep, measured just before (the floor).

The sweep only reads and writes the calls table and the purge tables, so the store's calls are
inserted as bare rows in bulk (random sealed bytes, no blob or key: about a minute instead of the
eight ``bench/million_store.py`` takes); the probe's captures are real. 900,000 calls started in
the last 300 days, 100,000 between 400 and 410 days ago, directions Inbound and Outbound. The
store is kept in ``--store`` and put back after the run (the queued calls live again, the purge
tables emptied), so the next run measures the same store.

    .venv/bin/python bench/retention_sweep.py                      # 1,000,000 calls
    .venv/bin/python bench/retention_sweep.py --calls 20000 --expired 2000 --sweeps 50  # quick
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from callvault.demo import seed_calls
from callvault.purge.service import PurgeService
from callvault.retention.service import MAX_CALLS_PER_REQUEST, RetentionService
from callvault.runtime import Runtime
from callvault.settings import Settings
from callvault.store import engine as store_engine
from callvault.store import group_commit
from callvault.store.engine import checkpoint, write_transaction
from callvault.store.tables import calls, purge_items, purge_jobs, purge_requests

DAY = timedelta(days=1)


def _open(store: Path) -> Runtime:
    return Runtime.open(Settings(data_dir=store / "data", run_worker=False))


def _bulk_rows(runtime: Runtime, start: int, count: int, now: datetime, expired: bool) -> None:
    rng = random.Random(start)
    rows = []
    for n in range(start, start + count):
        if expired:
            started = now - 400 * DAY - timedelta(seconds=rng.uniform(0, 10 * 86400))
        else:
            started = now - timedelta(seconds=rng.uniform(0, 300 * 86400))
        call_id = f"{rng.getrandbits(128):032x}"
        rows.append(
            {
                "call_id": call_id,
                "session_id": f"ret-bench-{n}",
                "status": "Complete",
                "start_time": started,
                "end_time": None,
                "direction": rng.choice(("Inbound", "Outbound")),
                "contact_types": "Agent\x1fCustomer",
                "sealed": os.urandom(96),
                "audio_format": "wav",
                "audio_content_type": "audio/wav",
                "audio_bytes": 2048,
                "blob_key": f"audio/{call_id[0]}/{call_id}",
                "duration_sec": 60.0,
                "captured_at": now,
            }
        )
    with write_transaction(runtime.engine) as conn:
        conn.execute(insert(calls), rows)


def ensure_store(store: Path, total: int, expired: int) -> Runtime:
    runtime = _open(store)
    _reset(runtime)
    with runtime.engine.connect() as conn:
        have = conn.execute(
            select(func.count()).select_from(calls).where(calls.c.session_id.like("ret-bench-%"))
        ).scalar_one()
    if have != total:
        if have:
            with write_transaction(runtime.engine) as conn:
                conn.execute(delete(calls))
        now = datetime.now(UTC)
        started = time.perf_counter()
        step = 20_000
        for offset in range(0, total, step):
            n = min(step, total - offset)
            # The first ``expired`` rows are the old ones.
            old = max(0, min(n, expired - offset))
            if old:
                _bulk_rows(runtime, offset, old, now, expired=True)
            if n - old:
                _bulk_rows(runtime, offset + old, n - old, now, expired=False)
            if (offset // step) % 10 == 0:
                print(f"  store: {offset + n:,} calls", file=sys.stderr, flush=True)
        checkpoint(runtime.engine)
        print(f"  store built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    os.sync()
    return runtime


def _reset(runtime: Runtime) -> None:
    """Put the store back as it was before a run: no policy, no request, every call live."""
    with write_transaction(runtime.engine) as conn:
        conn.exec_driver_sql("DELETE FROM retention_policies")
        conn.execute(delete(purge_jobs))
        conn.execute(delete(purge_items))
        conn.execute(delete(purge_requests))
        conn.execute(
            update(calls)
            .where(calls.c.status == "Purging")
            .values(
                status=func.coalesce(calls.c.status_before_purge, "Complete"),
                status_before_purge=None,
            )
        )
        conn.execute(delete(calls).where(calls.c.session_id.like("probe-%")))
    checkpoint(runtime.engine)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@contextmanager
def timed_write_transactions(into: list[float]) -> Iterator[None]:
    """Record how long each of the sweep's write transactions (this thread's; the probe's are
    left out) holds the write lock: from BEGIN IMMEDIATE taken to COMMIT done."""
    real = store_engine.write_transaction
    sweeper = threading.get_ident()

    @contextmanager
    def timing(engine: Engine) -> Iterator[Connection]:
        with real(engine) as conn:
            started = time.perf_counter()
            yield conn
        if threading.get_ident() == sweeper:
            into.append(time.perf_counter() - started)

    group_commit.write_transaction = timing  # type: ignore[assignment]
    try:
        yield
    finally:
        group_commit.write_transaction = real


def empty_sweeps(runtime: Runtime, count: int) -> tuple[list[float], list[float]]:
    service = RetentionService(runtime)
    service.put("never-yet", 3650, None, "bench")  # no call is 10 years old
    ids = _some_ids(runtime, 1000)
    sweeps, floor = [], []
    for i in range(count):
        t = time.perf_counter()
        outcome = service.sweep()
        sweeps.append(time.perf_counter() - t)
        assert outcome.queued == 0
        t = time.perf_counter()
        with runtime.engine.connect() as conn:
            conn.execute(select(calls.c.status).where(calls.c.call_id == ids[i % len(ids)])).all()
        floor.append(time.perf_counter() - t)
    service.delete("never-yet", "bench")
    return sweeps, floor


def _some_ids(runtime: Runtime, n: int) -> list[str]:
    with runtime.engine.connect() as conn:
        return list(
            conn.execute(
                select(calls.c.call_id)
                .where(calls.c.start_time > datetime.now(UTC) - 300 * DAY)
                .limit(n)
            ).scalars()
        )


class Probe:
    """Capture one call, then accept a purge of one live call, over and over; latencies."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.purges = PurgeService(runtime)
        self.targets = _some_ids(runtime, 5000)
        self.latencies: dict[str, list[float]] = {"capture": [], "intake": []}
        self.n = 0

    def once(self) -> None:
        self.n += 1
        t = time.perf_counter()
        seed_calls(
            self.runtime,
            1,
            session_prefix=f"probe-{time.time_ns()}-",
            durable=True,
            start=datetime.now(UTC) - DAY,
        )
        self.latencies["capture"].append(time.perf_counter() - t)
        t = time.perf_counter()
        self.purges.purge_calls([self.targets.pop()], False, "probe")
        self.latencies["intake"].append(time.perf_counter() - t)

    def run_until(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.once()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", type=Path, default=Path("/var/tmp/callvault-retention-bench"))
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--expired", type=int, default=100_000)
    parser.add_argument("--sweeps", type=int, default=300)
    parser.add_argument("--probe-floor", type=int, default=100, help="probe rounds, no sweep")
    args = parser.parse_args()

    runtime = ensure_store(args.store, args.calls, args.expired)
    try:
        empty, floor = empty_sweeps(runtime, args.sweeps)

        probe = Probe(runtime)
        for _ in range(args.probe_floor):
            probe.once()
        probe_floor = {k: list(v) for k, v in probe.latencies.items()}
        probe.latencies = {"capture": [], "intake": []}

        service = RetentionService(runtime)
        service.put("one-year", 365, None, "bench")
        locks: list[float] = []
        stop = threading.Event()
        prober = threading.Thread(target=probe.run_until, args=(stop,))
        prober.start()
        with timed_write_transactions(locks):
            started = time.perf_counter()
            outcome = service.sweep()
            sweep_seconds = time.perf_counter() - started
        stop.set()
        prober.join()
        assert outcome.queued == args.expired, (outcome.queued, args.expired)
    finally:
        _reset(runtime)
        runtime.close()

    ms = 1000.0
    rows: list[tuple[str, float, float | None, str]] = [
        (
            f"empty sweep p50 ms ({args.calls:,} calls)",
            statistics.median(empty) * ms,
            statistics.median(floor) * ms,
            "< 10 ms",
        ),
        ("  empty sweep p99 ms", _pct(empty, 0.99) * ms, _pct(floor, 0.99) * ms, ""),
        (f"expiring sweep s ({args.expired:,} calls)", sweep_seconds, None, ""),
        ("  calls queued/s", outcome.queued / sweep_seconds, None, ""),
        (
            f"  requests (at most {MAX_CALLS_PER_REQUEST:,} calls each)",
            len(outcome.request_ids),
            None,
            "",
        ),
        ("  write lock held per batch p50 ms", statistics.median(locks) * ms, None, ""),
        ("  write lock held per batch max ms", max(locks) * ms, None, "a few 100 ms"),
    ]
    for kind in ("capture", "intake"):
        during, alone = probe.latencies[kind], probe_floor[kind]
        rows.append(
            (
                f"{kind} probe worst ms during sweep ({len(during)} rounds)",
                max(during) * ms,
                max(alone) * ms,
                "a few 100 ms",
            )
        )
        rows.append((f"  {kind} probe p99 ms", _pct(during, 0.99) * ms, _pct(alone, 0.99) * ms, ""))
        rows.append(
            (
                f"  {kind} probe p50 ms",
                statistics.median(during) * ms,
                statistics.median(alone) * ms,
                "",
            )
        )
    print(
        f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}; SQLite (embedded store)"
    )
    print(f"{'figure':<52}{'value':>11}{'floor':>11}{'ratio':>7}  target")
    for figure, value, base, target in rows:
        floor_text = "" if base is None else f"{base:,.2f}"
        ratio = "" if not base else f"{value / base:.2f}"
        print(f"{figure:<52}{value:>11,.2f}{floor_text:>11}{ratio:>7}  {target}")


if __name__ == "__main__":
    main()
