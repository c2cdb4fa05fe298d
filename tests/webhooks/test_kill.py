"""A `callvault worker` SIGKILLed while it sends a webhook, with more deliveries pending: after a
restart every delivery reaches the receiver (verified with ``standardwebhooks``), none lost; the
one cut short may arrive twice, with the same webhook-id and body (at least once)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import select

from callvault.holds.service import HoldScope, HoldService
from callvault.store.tables import webhook_deliveries
from callvault.webhooks.service import WebhookService
from webhook_receiver import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.both_backends]


def _worker(settings) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CALLVAULT_DATA_DIR": str(settings.data_dir),
        # A delivery held by a worker that died is sent by another after this long.
        "CALLVAULT_WEBHOOK_LEASE_SECONDS": "1",
        "CALLVAULT_WEBHOOK_RETRY_SECONDS": "0.2",
    }
    for name in ("database_url", "keystore_url", "blob_url", "s3_endpoint_url", "master_key"):
        value = getattr(settings, name)
        if value is not None:
            env[f"CALLVAULT_{name.upper()}"] = str(value)
    return subprocess.Popen(
        [sys.executable, "-m", "callvault.cli.main", "worker", "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _states(runtime) -> dict[str, str]:
    with runtime.engine.connect() as conn:
        rows = conn.execute(select(webhook_deliveries.c.delivery_id, webhook_deliveries.c.state))
        return {delivery_id: state for delivery_id, state in rows}


def test_a_worker_killed_mid_send_leaves_nothing_undelivered(runtime, settings):
    receiver = Receiver(hold=threading.Event()).start()  # answers nothing until told
    first = second = None
    try:
        made = WebhookService(runtime).create(receiver.url, ["hold.placed"], "admin")
        receiver.secret = made["secret"]
        holds = HoldService(runtime)
        for n in range(3):
            holds.place(f"matter {n}", "reason", HoldScope(call_ids=[f"c{n}"]), "tester")
        assert set(_states(runtime).values()) == {"Pending"}
        first = _worker(settings)
        receiver.wait_for(lambda r: r.waiting >= 1, timeout=60)  # mid-send, holding a lease
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        assert first.returncode == -signal.SIGKILL
        assert set(_states(runtime).values()) == {"Pending"}  # nothing was recorded delivered
        gate = receiver.hold
        receiver.hold = None
        gate.set()  # the request the dead worker sent is answered into the void
        second = _worker(settings)
        deadline = time.monotonic() + 60
        while set(_states(runtime).values()) != {"Delivered"}:
            assert second.poll() is None, "the restarted worker died"
            assert time.monotonic() < deadline, _states(runtime)
            time.sleep(0.05)
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
        receiver.stop()
    assert receiver.refused == []
    by_id = receiver.by_message()
    assert set(by_id) == set(_states(runtime))  # every delivery, none lost
    for copies in by_id.values():  # a repeat is the same message (at least once)
        assert len({c.body for c in copies}) == 1
