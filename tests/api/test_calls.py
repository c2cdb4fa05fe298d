"""GET /calls/v1/{callId} and /audio, /healthz, /openapi.json, unknown routes (§6, §8)."""

from __future__ import annotations

import socket
import time

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


def _slow_download(port: int, token: str, call_id: str) -> tuple[socket.socket, bytes]:
    """Start GET /audio on a socket with a tiny receive window; returns it and the bytes that
    arrived first (headers and the start of the body)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    sock.settimeout(30)
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        f"GET /calls/v1/{call_id}/audio HTTP/1.1\r\nHost: test\r\n"
        f"Authorization: Bearer {token}\r\n\r\n".encode()
    )
    received = b""
    while b"\r\n\r\n" not in received or len(received) < 64 * 1024:
        piece = sock.recv(8192)
        assert piece, "the download ended before it began"
        received += piece
    return sock, received


def test_a_download_in_flight_ends_before_its_purge_is_reported(live, capture):
    audio = wav_bytes(187.5, rate=16000)  # 6,000,044 bytes, as in the attack
    assert len(audio) == 6_000_044
    with live.client(live.token("capture")) as client:
        call_id = capture(client, call_info("slow-read"), audio).json()["callId"]
    sock, received = _slow_download(live.port, live.token("read"), call_id)
    with sock:
        head, _, body = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        with live.client(live.token("purge")) as client:
            rid = client.post("/purge/v1/calls", json={"ids": [call_id]}).json()["requestId"]
            deadline = time.monotonic() + 60
            while client.get(f"/purge/v1/requests/{rid}").json()["items"][0]["status"] != "Purged":
                assert time.monotonic() < deadline, "the purge did not finish"
                time.sleep(0.05)
        # Purged is reported. What still arrives was handed to the kernel before the purge was
        # accepted (the server's socket send buffer grows to tcp_wmem's 4 MiB here); the server
        # must then end the response instead of streaming the rest of the call.
        while piece := sock.recv(65536):
            body += piece
    assert len(body) < len(audio) - 1024 * 1024, f"{len(body)} of {len(audio)} bytes served"
    assert audio.startswith(body)


def test_a_download_of_a_call_that_stays_readable_is_served_whole(live, capture):
    """The per-chunk check never cuts a download of a call that stays readable."""
    audio = wav_bytes(20, rate=16000)
    with live.client(live.token("capture")) as client:
        call_id = capture(client, call_info("whole-read"), audio).json()["callId"]
    sock, received = _slow_download(live.port, live.token("read"), call_id)
    with sock:
        head, _, body = received.partition(b"\r\n\r\n")
        assert f"content-length: {len(audio)}".encode() in head.lower()
        while len(body) < len(audio) and (piece := sock.recv(65536)):
            body += piece
    assert body == audio
