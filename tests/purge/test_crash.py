"""Nothing lost, nothing extra: SIGKILL the server at random moments during erasure.

Each round starts ``callvault serve`` on the same data dir, accepts purges of random calls, and
kills the process with SIGKILL after a random delay (mostly while the worker is erasing). At the
end every accepted purge has completed, every erased call left no row, key or blob, each has
exactly one erasure event in the audit trail, and every call nobody asked for is byte-identical.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import time
from collections import Counter

import httpx
import pytest
from sqlalchemy import select

from callvault.audit.trail import AuditTrail
from callvault.auth.users import create_user
from callvault.capture.reads import CallReader
from callvault.demo import seed_calls
from callvault.runtime import Runtime
from callvault.settings import Settings
from callvault.store.tables import audit_events, calls
from helpers import start_serve

ROUNDS = int(os.environ.get("CALLVAULT_CRASH_ROUNDS", "12"))
CALLS = 4000


def _snapshot(runtime, call_id: str) -> tuple[dict, bytes]:
    reader = CallReader(runtime)
    _, _, chunks = reader.audio(call_id, "test")
    return reader.details(call_id, "test"), b"".join(chunks)


@pytest.mark.slow
def test_purges_survive_sigkill_at_random_moments(tmp_path):
    rng = random.Random(int(os.environ.get("CALLVAULT_CRASH_SEED", "7")))
    settings = Settings(data_dir=tmp_path / "data")
    runtime = Runtime.open(settings)
    ids = seed_calls(runtime, CALLS, seed=11, durable=True)
    session_of = {cid: f"demo-{n}" for n, cid in enumerate(ids)}
    creds = create_user(runtime.engine, "crash", ["purge", "capture"])
    untouched_sample = rng.sample(ids, 40)
    before = {cid: _snapshot(runtime, cid) for cid in untouched_sample}
    runtime.close()
    pending_at_kill = []

    asked: set[str] = set()
    request_ids: list[str] = []
    remaining = [cid for cid in ids if cid not in set(untouched_sample)]
    for _ in range(ROUNDS):
        proc, url = start_serve(settings.data_dir)
        try:
            token = httpx.post(
                f"{url}/Token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": creds.client_id,
                    "client_secret": creds.client_secret,
                },
                timeout=30,
            ).json()["access_token"]
            with httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
            ) as c:
                for _ in range(rng.randint(1, 3)):
                    batch = [remaining.pop(rng.randrange(len(remaining))) for _ in range(100)]
                    by_session = rng.random() < 0.5
                    if by_session:
                        answer = c.post(
                            "/purge/v1/calls/sessions", json={"ids": [session_of[b] for b in batch]}
                        )
                    else:
                        answer = c.post("/purge/v1/calls", json={"ids": batch})
                    assert answer.status_code == 200
                    assert {i["status"] for i in answer.json()["items"]} == {"Purging"}
                    asked.update(batch)
                    request_ids.append(answer.json()["requestId"])
            time.sleep(rng.uniform(0.0, 0.08))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        db = sqlite3.connect(settings.data_dir / "callvault.db")
        pending_at_kill.append(db.execute("SELECT count(*) FROM purge_jobs").fetchone()[0])
        db.close()
    print(f"\nkill rounds: {ROUNDS}, killed with erasures pending: {pending_at_kill}")
    # The kills must have hit unfinished erasures, or this test proves nothing.
    assert sum(1 for n in pending_at_kill if n > 0) >= ROUNDS // 3, pending_at_kill

    proc, url = start_serve(settings.data_dir)
    try:
        token = httpx.post(
            f"{url}/Token",
            data={
                "grant_type": "client_credentials",
                "client_id": creds.client_id,
                "client_secret": creds.client_secret,
            },
            timeout=30,
        ).json()["access_token"]
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as c:
            deadline = time.monotonic() + 120
            for rid in request_ids:
                while (doc := c.get(f"/purge/v1/requests/{rid}").json())["state"] == "Purging":
                    assert time.monotonic() < deadline, "accepted purges did not complete"
                    time.sleep(0.05)
                assert doc["state"] == "Complete"
                assert {i["status"] for i in doc["items"]} == {"Purged"}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)

    runtime = Runtime.open(settings)
    try:
        with runtime.engine.connect() as conn:
            live_ids = set(conn.execute(select(calls.c.call_id)).scalars())
            erased_events = Counter(
                conn.execute(
                    select(audit_events.c.call_id).where(audit_events.c.action == "call.erased")
                ).scalars()
            )
        assert live_ids == set(ids) - asked  # nothing lost, nothing extra
        assert set(erased_events) == asked
        assert set(erased_events.values()) == {1}  # exactly one erasure event per call
        for cid in asked:
            assert runtime.keystore.get(cid) is None
        blobs = set(runtime.blobs.iter_keys())
        assert not any(k.rsplit("/", 1)[-1] in asked for k in blobs)
        assert len(blobs) == len(live_ids)
        for cid in untouched_sample:
            assert _snapshot(runtime, cid) == before[cid]  # byte-identical
        assert AuditTrail(runtime.keys.audit_chain_key).verify(runtime.engine)[1] is None
    finally:
        runtime.close()
    for name in ("callvault.db", "keystore.db"):
        db = sqlite3.connect(settings.data_dir / name)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        db.close()
