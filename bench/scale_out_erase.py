"""Erasure rate on PostgreSQL + S3 with 1, 2 and 4 `callvault worker` processes, beside the
embedded default (SQLite + folder, one worker process) measured in the same run.

Each configuration gets a fresh store of --calls synthetic calls and its worker processes; once
they are running, the clock starts, every call is accepted for purge (100 IDs a request,
in-process) and the clock stops when the queue is empty.
Throwaway PostgreSQL and SeaweedFS servers are started on loopback (tests/servers.py).

    .venv/bin/python bench/scale_out_erase.py --calls 4000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
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


def measure(settings: Settings, calls: int, workers: int) -> float:
    runtime = Runtime.open(settings)
    ids = seed_calls(runtime, calls, seed=1, audio_bytes=2048)
    env = {**os.environ, "CALLVAULT_DATA_DIR": str(settings.data_dir)}
    if settings.master_key:
        env["CALLVAULT_MASTER_KEY"] = settings.master_key
    args = [sys.executable, "-m", "callvault.cli.main", "worker", "--log-level", "warning"]
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
    start = time.perf_counter()
    try:
        for first in range(0, len(ids), 100):
            service.purge_calls(ids[first : first + 100], False, "bench")
        while purges.queue_stats(runtime.engine).depth:
            time.sleep(0.01)
        elapsed = time.perf_counter() - start
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
        runtime.close()
    return calls / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=4000)
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        embedded = measure(Settings(data_dir=base / "embedded"), args.calls, 1)
        pg = start_postgres(base / "pg")
        s3 = start_seaweedfs(base / "s3")
        try:
            s3.new_bucket("callvault-bench")
            key = generate_master_key()
            rates = {}
            for n in (1, 2, 4):
                pg.execute(f"CREATE DATABASE cv_{n}")
                pg.execute(f"CREATE DATABASE ks_{n}")
                settings = Settings(
                    data_dir=base / f"pg-{n}",
                    database_url=pg.url(f"cv_{n}"),
                    keystore_url=pg.url(f"ks_{n}"),
                    blob_url=f"s3://callvault-bench/run-{n}",
                    s3_endpoint_url=s3.endpoint,
                    master_key=key,
                )
                rates[n] = measure(settings, args.calls, n)
        finally:
            s3.stop()
            pg.stop()
    print(
        f"{'configuration (' + str(args.calls) + ' calls)':<40}{'calls/s':>10}{'vs embedded':>13}"
    )
    print(f"{'embedded (SQLite + folder), 1 worker':<40}{embedded:>10.0f}{1.0:>13.2f}")
    for n, rate in rates.items():
        label = f"PostgreSQL + S3, {n} worker process{'es' if n > 1 else ''}"
        print(f"{label:<40}{rate:>10.0f}{rate / embedded:>13.2f}")


if __name__ == "__main__":
    main()
