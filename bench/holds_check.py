"""The per-call hold check with 1,000 full-size active holds against none (contract §12).

    .venv/bin/python bench/holds_check.py [--calls N] [--holds N] [--entries N] [--rounds N]

In process, on a fresh embedded store in a temporary directory: ``--calls`` seeded calls, then the
check every purge, whatIf, capture and status answer asks (``store.holds.covering``: which active
holds cover these calls) timed for 100 call IDs and for 1 call ID with no hold, then again with
``--holds`` active holds, each naming ``--entries`` call IDs, session IDs and phone digests (the
contract's full size: 1,000 of each; none of them matching, the worst case: every pair is asked
and answered no). Prints the medians and their ratio; the contract asks for within 2x. No HTTP:
the request's own cost, the same with or without holds, would only shrink the ratio.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from callvault.demo import seed_calls
from callvault.runtime import Runtime
from callvault.settings import Settings
from callvault.store import holds
from callvault.store.engine import write_transaction
from callvault.store.types import utcnow


def _median_ms(runtime: Runtime, ids: list[str], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        with runtime.engine.connect() as conn:
            start = time.perf_counter()
            holds.covering(conn, ids)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _place(runtime: Runtime, count: int, entries: int) -> None:
    def filler(prefix: str) -> list[str]:
        return [f"{prefix}-{secrets.token_hex(8)}" for _ in range(entries)]

    for _ in range(count):
        with write_transaction(runtime.engine) as conn:
            holds.insert_hold(
                conn,
                {
                    "hold_id": secrets.token_hex(16),
                    "matter": "",
                    "reason": "",
                    "state": holds.ACTIVE,
                    "created_by": "bench",
                    "created_at": utcnow(),
                    "started_after": None,
                    "started_before": None,
                    "has_entries": True,
                    "sealed_scope": b"-",
                },
                filler("call"),
                filler("session"),
                [secrets.token_bytes(32) for _ in range(entries)],
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--holds", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runtime = Runtime.open(Settings(data_dir=Path(tmp) / "data"))
        try:
            ids = seed_calls(runtime, args.calls, seed=7)
            asks = {"100 IDs": ids[:100], "1 ID": ids[:1]}
            before = {name: _median_ms(runtime, asked, args.rounds) for name, asked in asks.items()}
            started = time.perf_counter()
            _place(runtime, args.holds, args.entries)
            placed = time.perf_counter() - started
            after = {name: _median_ms(runtime, asked, args.rounds) for name, asked in asks.items()}
        finally:
            runtime.close()
    print(
        f"{args.calls:,} calls; {args.holds:,} active holds of {args.entries:,} call IDs, "
        f"session IDs and phones each (placed in {placed:.1f} s)"
    )
    for name in asks:
        ratio = after[name] / before[name]
        print(
            f"  hold check, {name}: {before[name]:.3f} ms with no hold, "
            f"{after[name]:.3f} ms with them: {ratio:.2f}x"
        )


if __name__ == "__main__":
    main()
