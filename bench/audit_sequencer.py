"""The audit trail on PostgreSQL (issue 35 item 2, contract §23): what writers gain now that an
append takes no lock, and how soon the sequencer chains what they wrote.

    .venv/bin/python bench/audit_sequencer.py [--threads 8] [--seconds 10] [--durable]

A throwaway PostgreSQL cluster (tests/servers.py; ``--durable``: fsync and synchronous_commit
on, as in production; default off, as the tests run it) and one store on it. ``--threads``
writers each commit transactions of one audit event (what a capture, a read or an acceptance
appends) for ``--seconds``, twice per round, alternated over 3 rounds:

- ``lock``: the former append, emulated: the writer takes the fleet-wide advisory lock the
  trail used to take (``pg_advisory_xact_lock``) before its append, and so holds it across its
  commit, WAL flush included;
- ``no lock``: today's append (one INSERT into ``audit_pending``).

Meanwhile the audit loop (``certificates/loop.py``, the worker's, polling every 0.25 s) chains
what the writers queue, and a sampler reads the age of the oldest unsequenced event every 50 ms:
the sequencing lag, whose p50, p99 and worst are printed (contract: within 2 s). Appends a
second are the medians over the rounds; the ratio is no lock / lock.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from callvault.audit.trail import AuditEvent, AuditTrail  # noqa: E402
from callvault.certificates.loop import AUDIT_POLL_SECONDS, AuditLoop, AuditOptions  # noqa: E402
from callvault.crypto import generate_master_key  # noqa: E402
from callvault.runtime import Runtime  # noqa: E402
from callvault.settings import Settings  # noqa: E402
from callvault.store.audit import oldest_pending_at  # noqa: E402
from callvault.store.engine import write_transaction  # noqa: E402
from callvault.store.types import utcnow  # noqa: E402
from servers import start_postgres  # noqa: E402

FORMER_LOCK = 0x6361_6C6C  # the advisory lock every appender took before migration 0027


def _writers(runtime: Runtime, threads: int, seconds: float, lock: bool) -> int:
    trail = AuditTrail(runtime.keys.audit_chain_key)
    stop = time.monotonic() + seconds
    counts = [0] * threads

    def write(n: int) -> None:
        while time.monotonic() < stop:
            with write_transaction(runtime.engine) as conn:
                if lock:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": FORMER_LOCK})
                trail.append(conn, [AuditEvent("bench.event", f"writer-{n}", details={"n": 1})])
            counts[n] += 1

    workers = [threading.Thread(target=write, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--durable", action="store_true")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="callvault-bench-audit-"))
    pg = start_postgres(root / "pg", durable=args.durable)
    try:
        pg.execute("CREATE DATABASE cv")
        pg.execute("CREATE DATABASE ks")
        settings = Settings(
            data_dir=root / "data",
            database_url=pg.url("cv"),
            keystore_url=pg.url("ks"),
            master_key=generate_master_key(),
        )
        runtime = Runtime.open(settings)
        loop = AuditLoop(runtime, AuditOptions(checkpoint_seconds=10))
        done = threading.Event()
        lags: list[float] = []

        def sequencer() -> None:  # the worker's audit host, reduced to its one loop
            while not done.is_set():
                if not loop.step():
                    done.wait(AUDIT_POLL_SECONDS)

        def sampler() -> None:
            while not done.is_set():
                waiting = oldest_pending_at(runtime.engine)
                lags.append(0.0 if waiting is None else (utcnow() - waiting).total_seconds())
                done.wait(0.05)

        helpers = [threading.Thread(target=sequencer), threading.Thread(target=sampler)]
        for helper in helpers:
            helper.start()
        rates: dict[str, list[float]] = {"lock": [], "no lock": []}
        for _ in range(args.rounds):
            for name in ("lock", "no lock"):
                count = _writers(runtime, args.threads, args.seconds, name == "lock")
                rates[name].append(count / args.seconds)
        done.set()
        for helper in helpers:
            helper.join()
        loop.step()
        trail = AuditTrail(runtime.keys.audit_chain_key)
        checked, problem = trail.verify(runtime.engine)
        runtime.close()
    finally:
        pg.stop()

    durable = "fsync on" if args.durable else "fsync off"
    print(f"audit appends on PostgreSQL ({durable}), {args.threads} writers, {args.seconds:g} s")
    print(f"{'append':<10}{'appends/s (median)':>20}{'rounds':>30}")
    for name, values in rates.items():
        shown = ", ".join(f"{v:.0f}" for v in values)
        print(f"{name:<10}{statistics.median(values):>20.0f}{shown:>30}")
    ratio = statistics.median(rates["no lock"]) / statistics.median(rates["lock"])
    print(f"no lock / lock: {ratio:.2f}x")
    lags.sort()
    p = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))]  # noqa: E731
    print(
        f"sequencing lag over {len(lags)} samples: p50 {p(0.5):.3f} s, p99 {p(0.99):.3f} s, "
        f"worst {lags[-1]:.3f} s (contract: within 2 s)"
    )
    print(f"chain verified: {checked} events, {'intact' if problem is None else problem}")


if __name__ == "__main__":
    main()
