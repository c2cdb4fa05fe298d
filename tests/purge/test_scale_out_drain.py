"""Issue 35's stall: two (or four) `callvault worker` processes on PostgreSQL + SeaweedFS drain
purge after purge, and never sit on leased work saying nothing.

The stall was one run in seven of a 2,000-call drain: each worker sent DeleteObjects requests of
up to 250 versioned objects, which SeaweedFS on a busy machine answered after minutes; botocore
waited 60 s a read and retried eight times, while the worker's heartbeat kept renewing the lease
on every job of the batch, and nothing was logged. Now a request holds at most ``DELETE_BATCH``
objects, each attempt is bounded (``CALLVAULT_S3_TIMEOUT_SECONDS``), a failed batch is logged and
retried, and a step that waits 30 s says where. Here: twenty drains in a row per fleet size, each
of which must keep making progress (a minute without one erasure fails the test, with the
workers' logs) and end with every request ``Complete``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from callvault.demo import seed_calls
from callvault.purge.service import PurgeService
from callvault.runtime import Runtime
from callvault.store import purges

ROUNDS, CALLS, PER_REQUEST = 20, 60, 30
NO_PROGRESS_SECONDS = 60


def _worker(settings, log: Path) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "callvault.cli.main", "worker", "--log-level", "info"]
    for flag, value in (
        ("--database-url", settings.database_url),
        ("--keystore-url", settings.keystore_url),
        ("--blob-url", settings.blob_url),
        ("--s3-endpoint-url", settings.s3_endpoint_url),
    ):
        args += [flag, value]
    env = {
        **os.environ,
        "CALLVAULT_MASTER_KEY": settings.master_key,
        "CALLVAULT_DATA_DIR": str(settings.data_dir),
    }
    with log.open("ab") as out:
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)


@pytest.mark.slow
@pytest.mark.parametrize("fleet", [2, 4])
def test_drain_after_drain_never_stalls(scale_out, tmp_path, fleet):
    settings = scale_out.settings(tmp_path / "data")
    runtime = Runtime.open(settings)
    logs = [tmp_path / f"worker-{n}.log" for n in range(fleet)]
    workers = [_worker(settings, log) for log in logs]
    service = PurgeService(runtime)
    seeded = seed_calls(runtime, ROUNDS * CALLS, seed=fleet, audio_bytes=1024)  # in bulk: once
    try:
        for round_ in range(ROUNDS):
            ids = seeded[round_ * CALLS : (round_ + 1) * CALLS]
            requests = [
                service.purge_calls(ids[start : start + PER_REQUEST], False, "drain-test")
                for start in range(0, CALLS, PER_REQUEST)
            ]
            depth = purges.queue_stats(runtime.engine).depth
            moved = time.monotonic()
            while depth:
                time.sleep(0.05)
                now_depth = purges.queue_stats(runtime.engine).depth
                if now_depth < depth:
                    depth, moved = now_depth, time.monotonic()
                elif time.monotonic() - moved > NO_PROGRESS_SECONDS:
                    said = "\n".join(log.read_text(errors="replace")[-2000:] for log in logs)
                    pytest.fail(
                        f"round {round_}: {depth} erasures pending and none done for "
                        f"{NO_PROGRESS_SECONDS} s; the workers said:\n{said}"
                    )
            for accepted in requests:
                state = service.request(accepted.request_id)["state"]
                assert state == "Complete", (round_, state)
    finally:
        for proc in workers:
            proc.terminate()
        for proc in workers:
            proc.wait(timeout=30)
        runtime.close()
