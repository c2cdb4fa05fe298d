"""No personal data and no credential ever reaches a log line (contract §3, §7).

A full flow — user, token, captures with distinctive names, phone numbers in several spellings,
reference IDs and metadata, status, reads, whatIf and real customer purges, a session purge, and
failing requests — runs against

- a real ``callvault serve --log-level debug`` process, its stdout and stderr in a file: everything
  a real deployment logs, access log included;
- an in-process server with every logger of the process (root, uvicorn, SQLAlchemy, the worker)
  captured at DEBUG: stricter than any deployment.

Then every log line is scanned for every secret value, each phone spelling and its digits alone.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn

from callvault.api.app import create_app
from callvault.auth.users import create_user
from callvault.runtime import Runtime
from callvault.settings import Settings
from helpers import free_port, post_call, wait_healthy, wav_bytes

CLI = [sys.executable, "-m", "callvault.cli.main"]

NAMES = ["Zebulon", "Quillfeather", "Xanthippe", "Marchbanks-Ottoline", "Ysolde", "Kwabenaah"]
REFERENCE_IDS = ["REF-QX-48151623", "CRM-OMICRON-7781", "AGT-HELIOTROPE-12"]
METADATA_VALUES = ["TKT-ZEPHYR-9931", "card ending 4242 spoken", "ACCT-77-PERIWINKLE"]
DIALED = "+1 (800) 555-0142"
# One customer, four spellings; another customer abroad; a third with an extension.
PHONES_A = ["+14158675309", "(415) 867-5309", "1-415-867-5309", "415.867.5309"]
PHONE_B = "+44 20 7946 0321"
PHONE_C = "+1 312 555 0187 ext. 42"
BAD_PHONES = ["867-5309", "+1 415 867 53"]
PERMISSION_FLAGS = ["-p", "capture", "-p", "read", "-p", "purge", "-p", "audit", "-p", "export"]


def digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


@dataclass
class Flow:
    url: str
    client_id: str
    client_secret: str
    token: str = ""
    link_token: str = ""
    request_ids: list[str] = field(default_factory=list)

    def secrets(self) -> dict[str, str]:
        """What must never be logged: name → value (digits-only forms of every phone too)."""
        found = {f"name {n}": n for n in NAMES}
        found |= {f"reference {r}": r for r in REFERENCE_IDS}
        found |= {f"metadata {m}": m for m in METADATA_VALUES}
        for phone in [*PHONES_A, PHONE_B, PHONE_C, DIALED, *BAD_PHONES]:
            found[f"phone {phone}"] = phone
            found[f"phone digits {phone}"] = digits(phone)
        found["E.164 of customer B"] = "+442079460321"
        found["client_secret"] = self.client_secret
        found["access token"] = self.token
        found["wrong secret"] = self.client_secret[::-1]
        found["export link token"] = self.link_token
        found["wrong export link token"] = self.link_token[::-1]
        return found

    def info(self, session: str, phone: str, first: str, last: str, ref: str) -> dict:
        return {
            "sessionId": session,
            "startTime": f"2024-01-01T04:2{len(session) % 10}:00Z",
            "direction": "Inbound",
            "numberDialed": DIALED,
            "contacts": [
                {"type": "Agent", "firstName": NAMES[4], "referenceId": REFERENCE_IDS[2]},
                {
                    "type": "Customer",
                    "phoneNumber": phone,
                    "firstName": first,
                    "lastName": last,
                    "referenceId": ref,
                },
            ],
            "metadata": {"ticket": METADATA_VALUES[0], "notes": [METADATA_VALUES[1]]},
        }

    def run(self) -> None:
        anon = httpx.Client(base_url=self.url, timeout=30)
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        answer = anon.post("/Token", data=form)
        assert answer.status_code == 200, answer.text
        self.token = answer.json()["access_token"]
        # Failing credentials: a wrong secret (form and Basic), a bad bearer token.
        wrong = {**form, "client_secret": self.client_secret[::-1]}
        assert anon.post("/Token", data=wrong).status_code == 400
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret[::-1]}".encode()).decode()
        basic_answer = anon.post(
            "/Token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
        )
        assert basic_answer.status_code == 401
        bad_bearer = {"Authorization": f"Bearer {self.token[::-1]}"}
        assert anon.get("/calls/v1/x", headers=bad_bearer).status_code == 401

        client = httpx.Client(
            base_url=self.url, timeout=30, headers={"Authorization": f"Bearer {self.token}"}
        )
        call_ids = {}
        captures = [
            ("log-a0", PHONES_A[0], NAMES[0], NAMES[1], REFERENCE_IDS[0]),
            ("log-a1", PHONES_A[1], NAMES[0], NAMES[1], REFERENCE_IDS[0]),
            ("log-a2", PHONES_A[2], NAMES[2], NAMES[3], REFERENCE_IDS[1]),
            ("log-a3", PHONES_A[3], NAMES[2], NAMES[3], REFERENCE_IDS[1]),
            ("log-b", PHONE_B, NAMES[5], NAMES[1], REFERENCE_IDS[1]),
            ("log-c", PHONE_C, NAMES[5], NAMES[3], REFERENCE_IDS[0]),
        ]
        for session, phone, first, last, ref in captures:
            info = self.info(session, phone, first, last, ref)
            answer = post_call(client, info, wav_bytes(0.2))
            assert answer.status_code == 200, answer.text
            call_ids[session] = answer.json()["callId"]
        # A capture that fails (bad direction) still carries personal data in its info part.
        bad = {**self.info("log-bad", PHONES_A[0], NAMES[0], NAMES[1], REFERENCE_IDS[0])}
        bad["direction"] = "Sideways"
        assert post_call(client, bad, wav_bytes(0.1)).status_code == 400
        # A duplicate session: 409.
        dup = self.info("log-b", PHONE_B, NAMES[5], NAMES[1], REFERENCE_IDS[1])
        assert post_call(client, dup, wav_bytes(0.1)).status_code == 409

        sessions = list(call_ids)
        status = client.post("/callCapture/v1/status", json={"CallSessionIds": sessions})
        assert status.status_code == 200, status.text
        assert client.get("/callCapture/v1/status/log-a0").status_code == 200
        for call_id in call_ids.values():
            doc = client.get(f"/calls/v1/{call_id}")
            assert doc.status_code == 200, doc.text
            assert client.get(f"/calls/v1/{call_id}/audio").status_code == 200
        assert NAMES[0] in client.get(f"/calls/v1/{call_ids['log-a0']}").text  # really there

        preview = client.post(
            "/purge/v1/calls/customer?whatIf=true", json={"phoneNumber": PHONES_A[1]}
        )
        assert preview.status_code == 200, preview.text
        assert len(preview.json()["items"]) == 4
        # An access export (contract §20): its link's token is a credential, never logged.
        export = client.post("/exports/v1", json={"phoneNumbers": [PHONES_A[1]]})
        assert export.status_code == 201, export.text
        link = export.json()["downloadUrl"]
        self.link_token = link.rsplit("=", 1)[1]
        # This test's own HTTP client (httpx, in this process) logs the URLs it asks for: it
        # is muted for these two, so that what is scanned is what the server logs.
        client_log = logging.getLogger("httpx")
        level = client_log.level
        client_log.setLevel(logging.WARNING)
        try:
            assert anon.get(link).status_code == 200
            wrong = link.replace(self.link_token, self.link_token[::-1])
            assert anon.get(wrong).status_code == 410
        finally:
            client_log.setLevel(level)
        for bad_phone in BAD_PHONES:
            refused = client.post("/purge/v1/calls/customer", json={"phoneNumber": bad_phone})
            assert refused.status_code == 400, refused.text
        real = client.post("/purge/v1/calls/customer", json={"phoneNumber": "+1 415 867 5309"})
        assert real.status_code == 200, real.text
        assert [i["status"] for i in real.json()["items"]] == ["Purging"] * 4
        self.request_ids.append(real.json()["requestId"])
        by_session = client.post("/purge/v1/calls/sessions", json={"ids": ["log-b", "nope"]})
        assert by_session.status_code == 200, by_session.text
        self.request_ids.append(by_session.json()["requestId"])
        by_call = client.post("/purge/v1/calls", json={"ids": [call_ids["log-c"]]})
        assert by_call.status_code == 200, by_call.text
        self.request_ids.append(by_call.json()["requestId"])

        deadline = time.monotonic() + 60
        for request_id in self.request_ids:
            while True:
                doc = client.get(f"/purge/v1/requests/{request_id}").json()
                if doc["state"] != "Purging":
                    break
                assert time.monotonic() < deadline, doc
                time.sleep(0.05)
            assert doc["state"] == "Complete", doc
        final = client.post("/callCapture/v1/status", json={"CallSessionIds": sessions}).json()
        assert {s["status"] for s in final["callSessions"]} == {"NotFound"}
        assert client.get("/audit/v1/events").status_code == 200
        client.close()
        anon.close()


def assert_clean(log: str, flow: Flow) -> None:
    lowered = log.lower()
    leaks = {
        what: value for what, value in flow.secrets().items() if value and value.lower() in lowered
    }
    assert not leaks, f"personal data or credentials in the log: {leaks}"


# --- a real `callvault serve --log-level debug` ------------------------------------------------


def test_serve_process_logs_no_personal_data(tmp_path: Path) -> None:
    data, log_path, port = str(tmp_path / "data"), tmp_path / "serve.log", free_port()
    env = {**os.environ, "CALLVAULT_DATA_DIR": data}
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--log-level", "debug"],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, proc)
            made = subprocess.run(
                [*CLI, "users", "create", "log-scan", "--json", *PERMISSION_FLAGS],
                env=env,
                capture_output=True,
                text=True,
                check=True,
                timeout=60,
            )
            creds = json.loads(made.stdout)
            flow = Flow(url, creds["client_id"], creds["client_secret"])
            flow.run()
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    log = log_path.read_text(errors="replace")
    # The scan can fail: the log is there and holds the requests of the flow.
    assert '"POST /Token HTTP/1.1" 200' in log, log[-2000:]
    assert "POST /purge/v1/calls/customer" in log
    assert "POST /callCapture/v1/archive" in log
    assert " 401" in log
    assert " 400" in log
    assert_clean(log, flow)


# --- every logger of the process at DEBUG ------------------------------------------------------


def test_every_logger_at_debug_logs_no_personal_data(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: everything that propagates
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "callvault", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    settings = Settings(data_dir=tmp_path / "data")
    runtime = Runtime.open(settings)
    # log_config=None: uvicorn's loggers keep no handlers of their own and propagate to root.
    config = uvicorn.Config(
        create_app(settings, runtime),
        host="127.0.0.1",
        port=0,
        http="h11",
        log_level="debug",
        log_config=None,
        access_log=True,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive(), "server thread died"
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        creds = create_user(
            runtime.engine, "log-scan", ["capture", "read", "purge", "audit", "export"]
        )
        flow = Flow(f"http://127.0.0.1:{port}", creds.client_id, creds.client_secret)
        flow.run()
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        runtime.close()
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "callvault", "sqlalchemy"):
            logging.getLogger(name).setLevel(logging.NOTSET)
    lines = [caplog.text]
    for record in caplog.records:
        lines.append(f"{record.name} {record.levelname} {record.getMessage()}")
        if record.exc_info and record.exc_info[1] is not None:
            lines.append(repr(record.exc_info[1]))
    log = "\n".join(lines)
    assert "POST /purge/v1/calls/customer" in log, log[-2000:]
    assert "POST /Token" in log
    names = {r.name.split(".")[0] for r in caplog.records}
    # Really everything: the access log, and SQLAlchemy's statements with their parameters.
    assert {"uvicorn", "sqlalchemy"} <= names, names
    assert_clean(log, flow)
