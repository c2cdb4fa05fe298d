"""Scale-out: two `callvault worker` processes on PostgreSQL + S3, SIGKILLed and restarted at
random during a 2,000-call purge. Every accepted call ends erased with exactly one erasure event,
nothing is left of them (rows, keys, object versions), and no other call is touched."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from sqlalchemy import select

from callvault.audit.trail import AuditTrail
from callvault.capture.reads import CallReader
from callvault.demo import seed_calls
from callvault.purge.service import PurgeService
from callvault.runtime import Runtime
from callvault.store import purges
from callvault.store.tables import audit_events, calls
from helpers import chained

CALLS, ASKED = 2000, 1500


def _worker(settings) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "callvault.cli.main",
            "worker",
            "--database-url",
            settings.database_url,
            "--keystore-url",
            settings.keystore_url,
            "--blob-url",
            settings.blob_url,
            "--s3-endpoint-url",
            settings.s3_endpoint_url,
            "--purge-lease-seconds",
            "1",
            "--log-level",
            "warning",
        ],
        env={
            **os.environ,
            "CALLVAULT_MASTER_KEY": settings.master_key,
            "CALLVAULT_PURGE_BATCH_SIZE": "40",
            "CALLVAULT_DATA_DIR": str(settings.data_dir),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _snapshot(runtime, call_id):
    reader = CallReader(runtime)
    _, _, chunks = reader.audio(call_id, "test")
    return reader.details(call_id, "test"), b"".join(chunks)


@pytest.mark.slow
def test_two_workers_killed_at_random_erase_each_call_exactly_once(scale_out, tmp_path):
    rng = random.Random(int(os.environ.get("CALLVAULT_CRASH_SEED", "5")))
    settings = scale_out.settings(tmp_path / "data")
    runtime = Runtime.open(settings)
    try:
        ids = seed_calls(runtime, CALLS, seed=17, audio_bytes=1024)
        asked = set(rng.sample(ids, ASKED))
        kept = [cid for cid in ids if cid not in asked]
        sample = {cid: _snapshot(runtime, cid) for cid in rng.sample(kept, 25)}
        service = PurgeService(runtime)
        ordered = [cid for cid in ids if cid in asked]
        for start in range(0, ASKED, 100):
            service.purge_calls(ordered[start : start + 100], False, "scale-out-test")

        workers = [_worker(settings), _worker(settings)]
        kills, pending_at_kill = 0, []
        deadline = time.monotonic() + 240
        last_kill_depth = None
        try:
            while (depth := purges.queue_stats(runtime.engine).depth) > 0:
                assert time.monotonic() < deadline, f"{depth} erasures still pending"
                time.sleep(rng.uniform(0.2, 0.8))
                # On a loaded machine a fresh worker may not have started erasing yet; killing it
                # again before any progress only measures Python's start-up time, not recovery.
                if purges.queue_stats(runtime.engine).depth == last_kill_depth:
                    continue
                victim = rng.randrange(2)
                workers[victim].send_signal(signal.SIGKILL)
                workers[victim].wait()
                kills += 1
                last_kill_depth = purges.queue_stats(runtime.engine).depth
                pending_at_kill.append(last_kill_depth)
                workers[victim] = _worker(settings)
        finally:
            for proc in workers:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
        print(f"\nworker kills: {kills}, erasures pending at each kill: {pending_at_kill}")
        assert sum(1 for n in pending_at_kill if n > 0) >= 3, "kills must land mid-purge"

        with chained(runtime).engine.connect() as conn:
            left = set(conn.execute(select(calls.c.call_id)).scalars())
            erased = Counter(
                conn.execute(
                    select(audit_events.c.call_id).where(audit_events.c.action == "call.erased")
                ).scalars()
            )
        assert left == set(kept)
        assert set(erased) == asked
        assert set(erased.values()) == {1}, "a call was recorded erased twice"
        assert all(runtime.keystore.get(cid) is None for cid in asked)
        remaining = {key.rsplit("/", 1)[-1] for key, _, _ in runtime.blobs.iter_all_versions()}
        assert remaining == set(kept), "an object version or delete marker survived"
        for cid, before in sample.items():
            assert _snapshot(runtime, cid) == before
        assert AuditTrail(runtime.keys.audit_chain_key).verify(runtime.engine)[1] is None
    finally:
        runtime.close()
