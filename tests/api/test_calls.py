"""GET /calls/v1/{callId} and /audio, /healthz, /openapi.json, unknown routes (§6, §8)."""

from __future__ import annotations

import time

import httpx
import pytest

from helpers import call_info, post_v2_call, slow_download, v2_customer_info, wav_bytes

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


def test_a_download_in_flight_ends_before_its_purge_is_reported(live, capture):
    audio = wav_bytes(187.5, rate=16000)  # 6,000,044 bytes, as in the attack
    assert len(audio) == 6_000_044
    with live.client(live.token("capture")) as client:
        call_id = capture(client, call_info("slow-read"), audio).json()["callId"]
    sock, received = slow_download(live.port, live.token("read"), call_id)
    with sock:
        head, _, body = received.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        with live.client(live.token("purge")) as client:
            rid = client.post("/purge/v1/calls", json={"ids": [call_id]}).json()["requestId"]
            deadline = time.monotonic() + 60
            while client.get(f"/purge/v1/requests/{rid}").json()["items"][0]["status"] != "Purged":
                assert time.monotonic() < deadline, "the purge did not finish"
                time.sleep(0.05)
        # Purged is reported: the server ended the response (with a reset, so what its kernel
        # still held is gone too) instead of streaming the rest of the call.
        try:
            while piece := sock.recv(65536):
                body += piece
        except ConnectionResetError:
            pass
    assert len(body) < len(audio) - 1024 * 1024, f"{len(body)} of {len(audio)} bytes served"
    assert audio.startswith(body)


def test_no_byte_of_a_download_leaves_the_server_after_its_purge_is_reported(live, capture, caplog):
    """The server's socket send buffer still held megabytes of the call when its item said
    Purged, and the kernel delivered them afterwards (issue 32, item 11). A revoked download is
    now reset (SO_LINGER 0): the kernel discards what it has not sent. The client reads nothing
    while the purge runs, so every buffer fills; what it then reads beyond what its own kernel
    had already received (FIONREAD) left the server after Purged."""
    import fcntl
    import struct
    import termios

    audio = wav_bytes(187.5, rate=16000)
    with live.client(live.token("capture")) as client:
        call_id = capture(client, call_info("reset-read"), audio).json()["callId"]
    sock, _ = slow_download(live.port, live.token("read"), call_id)
    with sock:
        time.sleep(0.5)  # the server fills its send buffer and the client's receive window
        with live.client(live.token("purge")) as client:
            rid = client.post("/purge/v1/calls", json={"ids": [call_id]}).json()["requestId"]
            deadline = time.monotonic() + 60
            while client.get(f"/purge/v1/requests/{rid}").json()["items"][0]["status"] != "Purged":
                assert time.monotonic() < deadline, "the purge did not finish"
                time.sleep(0.05)
        held = struct.unpack("i", fcntl.ioctl(sock, termios.FIONREAD, b"\0\0\0\0"))[0]
        after = 0
        try:
            while piece := sock.recv(65536):
                after += len(piece)
        except ConnectionResetError:
            pass
    assert after - held <= 0, f"{after - held} bytes left the server after Purged"
    assert "without completing response" not in caplog.text  # an intended cut is no error
    assert "ASGI callable" not in caplog.text


def test_a_download_of_a_call_that_stays_readable_is_served_whole(live, capture):
    """The per-chunk check never cuts a download of a call that stays readable."""
    audio = wav_bytes(20, rate=16000)
    with live.client(live.token("capture")) as client:
        call_id = capture(client, call_info("whole-read"), audio).json()["callId"]
    sock, received = slow_download(live.port, live.token("read"), call_id)
    with sock:
        head, _, body = received.partition(b"\r\n\r\n")
        assert f"content-length: {len(audio)}".encode() in head.lower()
        while len(body) < len(audio) and (piece := sock.recv(65536)):
            body += piece
    assert body == audio


UNINDEXED_METRIC = "callvault_customer_numbers_unindexed_total"


def _unindexed_count(live) -> float:
    with live.client(live.token("audit")) as client:
        text = client.get("/metrics").text
    lines = [line for line in text.splitlines() if line.startswith(UNINDEXED_METRIC + " ")]
    assert len(lines) == 1, text
    return float(lines[0].split()[1])


def _customers(*phones: str | None) -> list[dict[str, object]]:
    contacts: list[dict[str, object]] = [{"type": "Agent", "phoneNumber": "12"}]
    for phone in phones:
        contacts.append(
            {"type": "Customer", "phoneNumber": phone} if phone else {"type": "Customer"}
        )
    return contacts


def test_a_customer_number_that_cannot_be_indexed_is_marked_counted_and_shown(live, capture):
    """Contract §19: never silent. `12` is a number no reading makes a phone number; a
    placeholder (`anonymous`) and an absent number are no number at all, and an Agent's number is
    never indexed, so none of them marks a call."""
    assert _unindexed_count(live) == 0
    cases = {
        "short": (_customers("12"), False),
        "two-bad": (_customers("12", "(512) 555-0101", "555-1234"), False),
        "good": (_customers("(512) 555-0102"), True),
        "prefix": (_customers("0044 20 7946 0958"), True),
        "anonymous": (_customers("anonymous"), True),
        "absent": (_customers(None), True),
        "agent-only": ([{"type": "Agent", "phoneNumber": "12"}], True),
    }
    ids = {}
    with live.client(live.token("capture")) as client:
        for session, (contacts, _) in cases.items():
            answer = capture(client, call_info(session, contacts=contacts))
            assert answer.status_code == 200, answer.text
            ids[session] = answer.json()["callId"]
        v2 = post_v2_call(client, v2_customer_info("v2-short", phone="12"))
        assert v2.status_code == 200, v2.text
        ids["v2-short"] = v2.json()["id"]
    with live.client(live.token("read")) as client:
        for session, call_id in ids.items():
            doc = client.get(f"/calls/v1/{call_id}").json()
            expected = cases[session][1] if session in cases else False
            assert doc["customerIndexed"] is expected, session
            assert list(doc)[-1] == "customerIndexed"  # after the fields §6 lists
    # One count a number: "12" twice and "555-1234" (local only, no area code) once, and v2's.
    assert _unindexed_count(live) == 4
