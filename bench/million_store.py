"""The large store the benchmarks run on: N synthetic calls, one customer number with 20 of them.

Built with `callvault.demo.seed_calls` (what `callvault demo-data` runs): every call has its own
data key, sealed details, encrypted audio and blind-index entry, exactly as capture stores it.
The store is kept between runs (``--store DIR``) and topped up to N live calls, since the erasure
benchmark erases some of it each time.

    .venv/bin/python bench/million_store.py --store /var/tmp/callvault-bench --calls 1000000
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from callvault.auth.users import NewCredentials, create_user
from callvault.demo import seed_calls
from callvault.phone import to_e164
from callvault.purge.loop import ErasureLoop, ErasureOptions
from callvault.runtime import Runtime
from callvault.settings import Settings
from callvault.store.engine import checkpoint
from callvault.store.tables import calls, customer_phones

# A UK number: the random customers are all North American, so only the 20 seeded calls match.
TARGET_PHONE = "+44 20 7946 0958"
TARGET_CALLS = 20


@dataclass(frozen=True)
class StoreReport:
    data_dir: Path
    calls: int
    added: int
    seconds: float  # spent adding calls in this run

    @property
    def rate(self) -> float:
        return self.added / self.seconds if self.added else float("nan")


def settings_for(store: Path) -> Settings:
    return Settings(data_dir=store / "data", run_worker=False)


def bench_user(store: Path, prefix: str, permissions: list[str]) -> NewCredentials:
    """A new API user of the kept store, named afresh each run: a user's hourly purge quota and
    rate limit would otherwise carry over from one run to the next."""
    runtime = Runtime.open(settings_for(store))
    try:
        return create_user(runtime.engine, f"{prefix}-{time.time_ns()}", permissions)
    finally:
        runtime.close()


def _count(runtime: Runtime) -> tuple[int, int]:
    digest = runtime.keys.blind_index(to_e164(TARGET_PHONE, "US") or "")
    with runtime.engine.connect() as conn:
        live = conn.execute(
            select(func.count()).select_from(calls).where(calls.c.status == "Complete")
        ).scalar_one()
        target = conn.execute(
            select(func.count())
            .select_from(customer_phones)
            .where(customer_phones.c.digest == digest)
        ).scalar_one()
    return live, target


def ensure_store(store: Path, total: int, say: bool = True) -> StoreReport:
    """Top the store up to ``total`` live calls, ``TARGET_CALLS`` of them the target number's."""
    runtime = Runtime.open(settings_for(store))
    try:
        # A run cut short may have left accepted purges behind: finish them, so the erasure
        # figure of this run counts only its own backlog.
        ErasureLoop(runtime, ErasureOptions()).drain()
        live, target = _count(runtime)
        started = time.perf_counter()
        added = 0
        if target < TARGET_CALLS:
            prefix = f"target-{time.time_ns()}-"
            added += len(
                seed_calls(
                    runtime, TARGET_CALLS - target, phones=[TARGET_PHONE], session_prefix=prefix
                )
            )
        missing = total - live - added
        step = 100_000
        while missing > 0:
            n = min(step, missing)
            prefix = f"bulk-{time.time_ns()}-"
            added += len(seed_calls(runtime, n, session_prefix=prefix, batch=5000))
            missing -= n
            if say:
                rate = added / (time.perf_counter() - started)
                print(f"  store: {live + added:,} calls ({rate:,.0f} calls/s)", flush=True)
        checkpoint(runtime.engine)
        runtime.keystore.checkpoint()
        seconds = time.perf_counter() - started
        # Flush what the top-up wrote: write-back running under the benchmarks would slow them.
        os.sync()
        return StoreReport(store / "data", live + added, added, seconds)
    finally:
        runtime.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--calls", type=int, default=1_000_000)
    args = parser.parse_args()
    report = ensure_store(args.store, args.calls)
    print(f"{report.calls:,} calls; added {report.added:,} in {report.seconds:.0f} s")


if __name__ == "__main__":
    main()
