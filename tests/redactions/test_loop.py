"""The redaction loop's lease (``CALLVAULT_REDACTION_LEASE_SECONDS``): a heartbeat renews it
while a redaction runs, so no other worker takes over a redaction whose worker is alive however
long it takes, on both backends."""

from __future__ import annotations

import time

import pytest

from audiogen import pattern, wav_file
from callvault.redactions.loop import RedactionLoop, RedactionOptions
from callvault.redactions.service import RedactionService
from callvault.settings import Settings
from callvault.store import redactions as store
from callvault.store.redactions import WRITTEN
from callvault.worker.process import worker_options
from helpers import call_info, post_call

RATE = 8000


def test_the_setting_is_the_redaction_loops_lease(tmp_path):
    assert worker_options(Settings(data_dir=tmp_path)).redaction.lease_seconds == 600
    given = Settings(data_dir=tmp_path, redaction_lease_seconds=42)
    assert worker_options(given).redaction.lease_seconds == 42


@pytest.mark.both_backends
@pytest.mark.settings(run_worker=False)
def test_a_long_redaction_keeps_its_lease_by_heartbeat(live, backend):
    rt = live.runtime
    data = wav_file(1, 16, pattern(4 * RATE), rate=RATE)
    with live.client(live.token("capture")) as client:
        call_id = post_call(client, call_info("lease-1"), data).json()["callId"]
    RedactionService(rt).redact(call_id, [{"startMs": 500, "endMs": 1500}], "pci", None, "t")
    # A 0.6 s lease, a beat every 0.2 s (as the erasure loop's heartbeat test has it).
    loop = RedactionLoop(rt, RedactionOptions(lease_seconds=0.6))
    rivals: list[object] = []

    def long_step(step: str) -> None:
        # The worker is alive but slow, here between its steps, past three lease lengths: a
        # rival worker polling all along never gets the redaction.
        if step != WRITTEN:
            return
        end = time.monotonic() + 1.8
        while time.monotonic() < end:
            rivals.append(store.claim(rt.engine, "rival", lease_seconds=30))
            time.sleep(0.05)

    loop.redactor.after_step = long_step
    assert loop.step() == 1
    assert rivals
    assert all(found is None for found in rivals)
    with live.client(live.token("read", "redact")) as client:
        done = client.get(f"/calls/v1/{call_id}/redactions").json()
    assert [r["state"] for r in done["redactions"]] == ["Redacted"]
