"""docs/privacy-program.md's worked example runs as written: its receiver, started as its own
process, verifies callvault's deliveries with ``standardwebhooks`` and closes the ticket a
purge named when ``purge.completed`` arrives."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import call_info, free_port, post_call

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "privacy-program.md").read_text(encoding="utf-8")


def _receiver_source() -> str:
    (block,) = re.findall(r"```python\n(.*?)```", DOC, flags=re.DOTALL)
    source: str = block
    return source


def test_the_page_links_from_the_readme_and_names_its_test():
    assert "(docs/privacy-program.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "tests/test_privacy_program_doc.py" in DOC
    assert "standardwebhooks" in _receiver_source()


@pytest.mark.slow
def test_the_worked_receiver_closes_the_ticket_when_the_purge_is_over(live, tmp_path):
    (tmp_path / "receiver.py").write_text(_receiver_source(), encoding="utf-8")
    port = free_port()
    with live.client(live.token("admin")) as client:
        made = client.post(
            "/webhooks/v1",
            json={"url": f"http://127.0.0.1:{port}/", "events": ["purge.completed"]},
        )
    assert made.status_code == 201, made.text
    receiver = subprocess.Popen(
        [sys.executable, "receiver.py"],
        cwd=tmp_path,
        env={**os.environ, "WEBHOOK_SECRET": made.json()["secret"], "PORT": str(port)},
    )
    try:
        deadline = time.monotonic() + 30
        while True:  # listening: else the first attempt fails and is retried 5 s later
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert receiver.poll() is None, "the example receiver died"
                assert time.monotonic() < deadline, "the example receiver does not listen"
                time.sleep(0.05)
        with live.client(live.token("capture")) as client:
            assert post_call(client, call_info("doc-1")).status_code == 200
        with live.client(live.token("purge")) as client:
            asked = client.post(
                "/purge/v1/calls/customer",
                params={"reference": "DSR-2026-0142"},
                json={"phoneNumber": "(512) 555-1234"},
            )
            assert asked.status_code == 200, asked.text
        tickets = tmp_path / "tickets.jsonl"
        deadline = time.monotonic() + 60
        while not tickets.exists() or not tickets.read_text().strip():
            assert receiver.poll() is None, "the example receiver died"
            assert time.monotonic() < deadline, "no ticket was updated"
            time.sleep(0.05)
    finally:
        receiver.send_signal(signal.SIGTERM)
        receiver.wait(timeout=30)
    lines = [json.loads(line) for line in tickets.read_text().splitlines()]
    assert lines == [
        {
            "ticket": "DSR-2026-0142",
            "action": "close",
            "requestId": asked.json()["requestId"],
            "state": "Complete",
        }
    ]
    with live.client(live.token("admin")) as client:
        log = client.get(f"/webhooks/v1/{made.json()['webhookId']}/deliveries").json()
    assert log["deliveries"][0]["httpStatus"] == 204
