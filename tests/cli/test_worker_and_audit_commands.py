"""``serve --no-worker``, ``callvault worker`` and ``callvault audit export|verify``."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time

import httpx
import pytest

from callvault.auth.users import create_user
from callvault.demo import seed_calls
from callvault.runtime import Runtime
from callvault.settings import Settings
from helpers import free_port, wait_healthy

CLI = [sys.executable, "-m", "callvault.cli.main"]


def _token(url, creds):
    return httpx.post(
        f"{url}/Token",
        data={
            "grant_type": "client_credentials",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
        },
    ).json()["access_token"]


@pytest.mark.slow
def test_api_without_worker_then_a_separate_worker_finishes(tmp_path):
    data = tmp_path / "data"
    runtime = Runtime.open(Settings(data_dir=data))
    ids = seed_calls(runtime, 5, seed=9)
    creds = create_user(runtime.engine, "p", ["purge"])
    runtime.close()
    port = free_port()
    api = subprocess.Popen(
        [*CLI, "serve", "--no-worker", "--port", str(port), "--data-dir", str(data)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    worker = None
    try:
        wait_healthy(url, api)
        headers = {"Authorization": f"Bearer {_token(url, creds)}"}
        rid = httpx.post(f"{url}/purge/v1/calls", json={"ids": ids[:3]}, headers=headers).json()[
            "requestId"
        ]
        time.sleep(1.0)  # long enough for an in-process worker to have erased them
        doc = httpx.get(f"{url}/purge/v1/requests/{rid}", headers=headers).json()
        assert doc["state"] == "Purging"
        worker = subprocess.Popen(
            [*CLI, "worker", "--data-dir", str(data), "--concurrency", "2"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while (doc := httpx.get(f"{url}/purge/v1/requests/{rid}", headers=headers).json())[
            "state"
        ] == "Purging":
            assert time.monotonic() < deadline, "the worker did not erase the calls"
            time.sleep(0.05)
        assert {i["status"] for i in doc["items"]} == {"Purged"}
    finally:
        for proc in (worker, api):
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
                assert proc.wait(timeout=30) in (0, -signal.SIGTERM)

    export = subprocess.run(
        [*CLI, "audit", "export", "--format", "jsonl", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        check=True,
    )
    events = [json.loads(line) for line in export.stdout.splitlines()]
    assert [e["action"] for e in events].count("call.erased") == 3
    ok = subprocess.run(
        [*CLI, "audit", "verify", "--data-dir", str(data)], capture_output=True, text=True
    )
    assert ok.returncode == 0
    assert f"{len(events)} events" in ok.stdout

    db = sqlite3.connect(data / "callvault.db")
    db.execute("UPDATE audit_events SET actor = 'someone else' WHERE seq = 2")
    db.commit()
    db.close()
    broken = subprocess.run(
        [*CLI, "audit", "verify", "--data-dir", str(data)], capture_output=True, text=True
    )
    assert broken.returncode == 1
    assert "event 2 was altered" in broken.stderr
    assert "Traceback" not in broken.stderr


def test_unknown_export_format_is_a_usage_error(tmp_path):
    bad = subprocess.run(
        [*CLI, "audit", "export", "--format", "xml", "--data-dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert "jsonl" in bad.stderr
