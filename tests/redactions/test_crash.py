"""A redaction survives a SIGKILL of its worker at each step of the swap (contract §21: durable
from the 202): after a restart the call ends Redacted, never without audio, never with the
unredacted audio readable; and no byte of the old audio, its key or the range is left."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from audiogen import pattern, wav_file
from callvault.redactions.loop import RedactionLoop, RedactionOptions
from callvault.store.keystore import staged_keys
from callvault.store.tables import calls
from helpers import blob_objects, call_info, post_call, stored_bytes

pytestmark = [pytest.mark.slow, pytest.mark.both_backends, pytest.mark.settings(run_worker=False)]

KILL_REDACTOR = Path(__file__).with_name("kill_redactor.py")
MARKER = b"CVV-737-CARD-4111111111111111"
RATE = 8000


def _env(settings, when: str) -> dict[str, str]:
    env = {**os.environ, "CALLVAULT_DATA_DIR": str(settings.data_dir), "CALLVAULT_KILL_WHEN": when}
    for name in ("database_url", "keystore_url", "blob_url", "s3_endpoint_url", "master_key"):
        value = getattr(settings, name)
        if value is not None:
            env[f"CALLVAULT_{name.upper()}"] = str(value)
    return env


@pytest.mark.parametrize("when", ["written", "keys-swapped", "swapped", "old-deleted"])
def test_a_worker_killed_at_each_step_leaves_a_redaction_the_next_one_finishes(live, backend, when):
    rt = live.runtime
    before = pattern(2 * RATE, seed=3)
    inside = (MARKER * (2 * RATE // len(MARKER) + 1))[: 2 * RATE]
    after = pattern(2 * RATE, seed=4)
    data = wav_file(1, 16, before + inside + after, rate=RATE)
    with live.client(live.token("capture")) as client:
        call_id = post_call(client, call_info(f"k-{when}"), data).json()["callId"]
    old_wrapped = rt.keystore.get(call_id)
    with rt.engine.connect() as conn:
        old_key = conn.execute(select(calls.c.blob_key).where(calls.c.call_id == call_id)).scalar()
    handle, size = rt.blobs.open(old_key)
    with handle:
        handle.seek(size // 3)
        old_ciphertext = handle.read(64)
    token = live.token("redact", "read")
    with live.client(token) as client:
        answer = client.post(
            f"/calls/v1/{call_id}/redactions",
            json={"ranges": [{"startMs": 1000, "endMs": 2000}], "reason": "pci"},
        )
    assert answer.status_code == 202, answer.text
    rid = answer.json()["redactionId"]

    run = subprocess.run(
        [sys.executable, str(KILL_REDACTOR)],
        env=_env(rt.settings, when),
        capture_output=True,
        timeout=120,
    )
    assert run.returncode == -9, run.stderr.decode()[-2000:]
    if when != "written":
        # The old key is gone from the moment the key store swapped: the unredacted audio is
        # unreadable whatever happens next.
        assert rt.keystore.get(call_id) != old_wrapped

    loop = RedactionLoop(rt, RedactionOptions(lease_seconds=5))
    deadline = time.monotonic() + 30
    while loop.step() == 0:  # the killed worker's lease runs out
        assert time.monotonic() < deadline, "the killed worker's redaction never came back"
        time.sleep(0.1)

    with live.client(token) as client:
        doc = client.get(f"/calls/v1/{call_id}/redactions/{rid}").json()
        assert doc["state"] == "Redacted", doc
        audio = client.get(f"/calls/v1/{call_id}/audio")
        assert client.get(f"/calls/v1/{call_id}").json()["callId"] == call_id
    assert audio.status_code == 200
    start = data.index(inside)
    assert audio.content == data[:start] + b"\x00" * len(inside) + data[start + len(inside) :]
    with rt.keystore.engine.connect() as conn:
        assert conn.execute(select(staged_keys)).first() is None
    scan = stored_bytes(rt)
    assert old_wrapped not in scan
    assert old_ciphertext not in scan
    assert MARKER not in scan
    assert len([o for o in blob_objects(rt) if call_id in o]) == 1
