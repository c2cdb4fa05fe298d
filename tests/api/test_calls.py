"""GET /calls/v1/{callId} and /audio, /healthz, /openapi.json, unknown routes (§6, §8)."""

from __future__ import annotations

import httpx
import pytest

from helpers import call_info, wav_bytes

pytestmark = pytest.mark.both_backends


def test_unknown_call_is_404_problem(live):
    with live.client(live.token("capture", "read")) as client:
        for path in ("/calls/v1/nope", "/calls/v1/nope/audio"):
            answer = client.get(path)
            assert answer.status_code == 404
            assert answer.headers["content-type"] == "application/problem+json"
            assert "nope" in answer.json()["detail"]


def test_call_reads_need_read_permission_which_capture_does_not_grant(live, capture):
    with live.client(live.token("capture")) as client:
        call_id = capture(client, call_info("perm-read")).json()["callId"]
        # A recorder uploads and asks for status; it does not listen (contract, part two).
        assert client.get(f"/calls/v1/{call_id}").status_code == 403
        assert client.get(f"/calls/v1/{call_id}/audio").status_code == 403
    for denied in ("purge", "audit"):
        with live.client(live.token(denied)) as client:
            assert client.get(f"/calls/v1/{call_id}").status_code == 403
            assert client.get(f"/calls/v1/{call_id}/audio").status_code == 403
    for allowed in ("read", "admin"):
        with live.client(live.token(allowed)) as client:
            assert client.get(f"/calls/v1/{call_id}").status_code == 200
            assert client.get(f"/calls/v1/{call_id}/audio").status_code == 200


def test_large_audio_streams_back_exactly(live, capture):
    audio = wav_bytes(60, rate=16000)  # ~1.9 MB: many encryption chunks
    with live.client(live.token("capture", "read")) as client:
        call_id = capture(client, call_info("big-audio"), audio).json()["callId"]
        answer = client.get(f"/calls/v1/{call_id}/audio")
    assert answer.headers["content-length"] == str(len(audio))
    assert answer.content == audio


def test_healthz_needs_no_token(live):
    answer = httpx.get(f"{live.url}/healthz")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"


def test_openapi_describes_every_endpoint_to_an_authenticated_user(live):
    assert httpx.get(f"{live.url}/openapi.json").status_code == 401
    assert httpx.get(f"{live.url}/docs").status_code == 404
    with live.client(live.token("capture")) as client:  # any permission will do
        doc = client.get("/openapi.json").json()
    for path in (
        "/Token",
        "/callCapture/v1/archive",
        "/callCapture/v1/status",
        "/callCapture/v1/status/{sessionId}",
        "/callCapture/v1/status/exclude",
        "/callCapture/v1/monitor",
        "/purge/v1/calls",
        "/purge/v1/calls/sessions",
        "/purge/v1/calls/customer",
        "/purge/v1/requests/{requestId}",
        "/audit/v1/events",
        "/metrics",
        "/calls/v1/{callId}",
        "/calls/v1/{callId}/audio",
        "/healthz",
    ):
        assert path in doc["paths"], path


def test_unknown_route_is_404_problem(live):
    answer = httpx.get(f"{live.url}/no/such/thing")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"


def test_wrong_method_is_405_problem(live):
    answer = httpx.delete(f"{live.url}/healthz")
    assert answer.status_code == 405
    assert answer.headers["content-type"] == "application/problem+json"
