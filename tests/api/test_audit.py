"""The audit trail over HTTP, and /metrics (contract §6)."""

from __future__ import annotations

import time

import pytest

from helpers import call_info, wav_bytes

pytestmark = pytest.mark.both_backends


def test_purge_requests_and_erasures_are_audited_without_phone_numbers(live, capture):
    info = call_info("aud-1", contacts=[{"type": "Customer", "phoneNumber": "+1 512 555 7777"}])
    with live.client(live.token("capture")) as client:
        call_id = capture(client, info).json()["callId"]
    with live.client(live.token("purge")) as client:
        client.post("/purge/v1/calls/customer?whatIf=true", json={"phoneNumber": "5125557777"})
        rid = client.post(
            "/purge/v1/calls/customer", json={"phoneNumber": "(512) 555-7777"}
        ).json()["requestId"]
        deadline = time.monotonic() + 30
        while client.get(f"/purge/v1/requests/{rid}").json()["state"] == "Purging":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    with live.client(live.token("audit")) as client:
        first = client.get("/audit/v1/events", params={"limit": 2}).json()
        rest = client.get("/audit/v1/events", params={"after": first["nextAfter"]}).json()
    events = first["events"] + rest["events"]
    assert rest["nextAfter"] is None
    assert [e["action"] for e in events] == [
        "call.captured",
        "purge.requested",
        "purge.requested",
        "call.erased",
    ]
    assert [e["seq"] for e in events] == [1, 2, 3, 4]
    preview, real, erased = events[1:]
    assert preview["details"]["whatIf"] is True
    assert real["details"]["phoneHash"] == preview["details"]["phoneHash"]
    assert erased["callId"] == call_id
    assert erased["sessionId"] == "aud-1"
    assert erased["requestId"] == rid
    assert erased["details"]["audioBytes"] > 0
    assert erased["details"]["dataKeyDestroyed"] is True
    assert events[2]["prevHash"] == events[1]["hash"]
    text = str(events)
    for spelling in ("5125557777", "555-7777", "555 7777"):
        assert spelling not in text


def test_captures_and_reads_are_audited(live, capture):
    audio = wav_bytes(0.5)
    with live.client(live.token("capture", name="recorder-7")) as client:
        call_id = capture(client, call_info("aud-read"), audio).json()["callId"]
    with live.client(live.token("read", name="listener-3")) as client:
        assert client.get(f"/calls/v1/{call_id}").status_code == 200
        assert client.get(f"/calls/v1/{call_id}/audio").content == audio
        assert client.get("/calls/v1/no-such-call").status_code == 404
    with live.client(live.token("audit")) as client:
        events = client.get("/audit/v1/events").json()["events"]
    assert [(e["action"], e["actor"], e["callId"], e["sessionId"]) for e in events] == [
        ("call.captured", "recorder-7", call_id, "aud-read"),
        ("call.read", "listener-3", call_id, "aud-read"),
        ("audio.read", "listener-3", call_id, "aud-read"),
    ]
    assert all(e["at"] for e in events)
    assert events[1]["prevHash"] == events[0]["hash"]
    text = str(events)
    for personal in ("Bob", "Caller", "Alice", "555-1234", "5125551234", "T-1", "agent-7"):
        assert personal not in text


def test_audit_needs_audit_permission(live):
    with live.client(live.token("purge")) as client:
        assert client.get("/audit/v1/events").status_code == 403
        assert client.get("/metrics").status_code == 403
    with live.client() as client:
        assert client.get("/audit/v1/events").status_code == 401


def test_bad_paging_is_400(live):
    with live.client(live.token("audit")) as client:
        for params in ({"after": -1}, {"limit": 0}, {"limit": 5000}, {"after": "x"}):
            answer = client.get("/audit/v1/events", params=params)
            assert answer.status_code == 400, params


def test_metrics_report_queue_and_erasures(live, capture):
    with live.client(live.token("capture")) as client:
        capture(client, call_info("m-1"))
    with live.client(live.token("purge")) as client:
        rid = client.post("/purge/v1/calls/sessions", json={"ids": ["m-1"]}).json()["requestId"]
        deadline = time.monotonic() + 30
        while client.get(f"/purge/v1/requests/{rid}").json()["state"] == "Purging":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    with live.client(live.token("audit")) as client:
        answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    assert "callvault_purge_queue_depth 0.0" in text
    assert "callvault_calls_erased_total 1.0" in text
    assert 'callvault_purge_requests_total{kind="sessions",what_if="false"} 1.0' in text
    assert 'callvault_purge_items_total{status="Purging"} 1.0' in text
