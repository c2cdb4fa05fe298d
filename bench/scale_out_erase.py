"""Erasure rate on PostgreSQL + S3 with 1, 2 and 4 `callvault worker` processes, beside the
embedded default (SQLite + folder, one worker process) measured in the same run.

Each configuration gets a fresh store of --calls synthetic calls and its worker processes; once
they are running, the clock starts, every call is accepted for purge (100 IDs a request,
in-process) and the clock stops when the queue is empty.
Throwaway PostgreSQL and SeaweedFS servers are started on loopback (tests/servers.py), with the
test cluster's settings: PostgreSQL runs with fsync and synchronous_commit off, so its commits
cost no flush, while the embedded store's do.

Beside each rate, the CPU time each process (with its children) spent while the clock ran, as a
share of the elapsed time (the machine has os.cpu_count() cores: 2 cores is 200%), so a reader
sees whether the machine or the design is the bound.

``--threads`` gives each PostgreSQL + S3 worker process that many threads (``callvault worker
--concurrency``: batches in flight side by side); the embedded worker keeps one.
``--buckets`` picks the S3 bucket's versioning: a versioned bucket (each call's version ID kept
at capture), an unversioned one (S3's default; the version recorded as ``null``), or both.

    .venv/bin/python bench/scale_out_erase.py --calls 4000 [--buckets both] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from callvault.crypto import generate_master_key  # noqa: E402
from callvault.demo import seed_calls  # noqa: E402
from callvault.purge.service import PurgeService  # noqa: E402
from callvault.runtime import Runtime  # noqa: E402
from callvault.settings import Settings  # noqa: E402
from callvault.store import purges  # noqa: E402
from servers import start_postgres, start_seaweedfs  # noqa: E402

STARTUP_SECONDS = 4.0
TICKS = os.sysconf("SC_CLK_TCK")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(parent, []).append(int(entry.name))
    return tree


def cpu_seconds(pid: int, descendants: bool = True) -> float:
    """User + system CPU of ``pid`` (all its threads) and, unless told otherwise, of its live
    descendants (exited ones are not counted)."""
    tree = _children() if descendants else {}
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
        todo += tree.get(current, [])
    return total


@dataclass
class Measured:
    rate: float  # calls erased per second
    cpu: dict[str, float]  # share of one core while the clock ran, per process (group)


def measure(
    settings: Settings, calls: int, workers: int, servers: dict[str, int], threads: int = 1
) -> Measured:
    runtime = Runtime.open(settings)
    ids = seed_calls(runtime, calls, seed=1, audio_bytes=2048)
    env = {**os.environ, "CALLVAULT_DATA_DIR": str(settings.data_dir)}
    if settings.master_key:
        env["CALLVAULT_MASTER_KEY"] = settings.master_key
    args = [sys.executable, "-m", "callvault.cli.main", "worker", "--log-level", "warning"]
    args += ["--concurrency", str(threads)]
    for flag, value in (
        ("--database-url", settings.database_url),
        ("--keystore-url", settings.keystore_url),
        ("--blob-url", settings.blob_url),
        ("--s3-endpoint-url", settings.s3_endpoint_url),
    ):
        if value:
            args += [flag, value]
    procs = [subprocess.Popen(args, env=env) for _ in range(workers)]
    time.sleep(STARTUP_SECONDS)  # let the workers import and start polling: not erasure time
    service = PurgeService(runtime)
    watched = {
        **{f"worker {n + 1}": p.pid for n, p in enumerate(procs)},
        **servers,
        "bench (accepts the purges)": os.getpid(),
    }
    # The bench process's own threads only: the workers and servers are its children.
    alone = {os.getpid()}
    before = {name: cpu_seconds(pid, pid not in alone) for name, pid in watched.items()}
    start = time.perf_counter()
    try:
        for first in range(0, len(ids), 100):
            service.purge_calls(ids[first : first + 100], False, "bench")
        while purges.queue_stats(runtime.engine).depth:
            time.sleep(0.01)
        elapsed = time.perf_counter() - start
        cpu = {
            name: (cpu_seconds(pid, pid not in alone) - before[name]) / elapsed
            for name, pid in watched.items()
        }
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
        runtime.close()
    return Measured(calls / elapsed, cpu)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument(
        "--buckets",
        choices=["versioned", "unversioned", "both"],
        default="both",
        help="S3 bucket versioning to measure (unversioned is S3's default)",
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="threads of each PostgreSQL + S3 worker process"
    )
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    kinds = ["versioned", "unversioned"] if args.buckets == "both" else [args.buckets]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        embedded = measure(Settings(data_dir=base / "embedded"), args.calls, 1, {})
        pg = start_postgres(base / "pg")
        s3 = start_seaweedfs(base / "s3")
        try:
            key = generate_master_key()
            rates: dict[tuple[str, int], Measured] = {}
            for kind in kinds:
                bucket = f"callvault-bench-{kind}"
                if kind == "versioned":
                    s3.new_bucket(bucket)
                else:
                    s3.client().create_bucket(Bucket=bucket)
                for n in (1, 2, 4):
                    database = f"{kind}_{n}"
                    pg.execute(f"CREATE DATABASE cv_{database}")
                    pg.execute(f"CREATE DATABASE ks_{database}")
                    settings = Settings(
                        data_dir=base / f"pg-{database}",
                        database_url=pg.url(f"cv_{database}"),
                        keystore_url=pg.url(f"ks_{database}"),
                        blob_url=f"s3://{bucket}/run-{n}",
                        s3_endpoint_url=s3.endpoint,
                        master_key=key,
                    )
                    servers = {"PostgreSQL": pg.process_id, "SeaweedFS": s3.process.pid}
                    rates[kind, n] = measure(settings, args.calls, n, servers, args.threads)
        finally:
            s3.stop()
            pg.stop()
    print(
        f"{'configuration (' + str(args.calls) + ' calls)':<64}{'calls/s':>10}{'vs embedded':>13}"
    )
    print(f"{'embedded (SQLite + folder), 1 worker':<64}{embedded.rate:>10.0f}{1.0:>13.2f}")
    for (kind, n), run in rates.items():
        label = f"PostgreSQL + S3 ({kind}), {n} worker process{'es' if n > 1 else ''}"
        label += f" x {args.threads} threads" if args.threads > 1 else ""
        print(f"{label:<64}{run.rate:>10.0f}{run.rate / embedded.rate:>13.2f}")
    print(f"\nCPU while the clock ran, % of one core ({os.cpu_count()} cores)")
    runs = [("embedded", embedded), *((f"PG + S3 {k}, {n}", r) for (k, n), r in rates.items())]
    for label, run in runs:
        shares = ", ".join(f"{name} {share * 100:.0f}%" for name, share in run.cpu.items())
        total = sum(run.cpu.values()) * 100
        print(f"  {label}: {shares}; total {total:.0f}%")


if __name__ == "__main__":
    main()
