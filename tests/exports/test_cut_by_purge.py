"""An export whose call is purged while its audio streams ends there (contract §19, §24): the
connection is reset, no byte of that audio leaves the server after the purge is reported, and
the ZIP is incomplete (no central directory). The same cut as an audio download's."""

from __future__ import annotations

import socket
import time

import pytest
from sqlalchemy import update

from callvault.store.tables import calls
from helpers import call_info, post_call, wav_bytes

PHONE = "+1 512 555 0145"


def test_a_purge_cuts_an_export_streaming_the_call(live, caplog):
    audio = wav_bytes(187.5, rate=16000)  # 6 MB
    info = call_info("cut-1", contacts=[{"type": "Customer", "phoneNumber": PHONE}])
    with live.client(live.token("capture")) as client:
        call_id = post_call(client, info, audio).json()["callId"]
    with live.client(live.token("export")) as client:
        link = client.post("/exports/v1", json={"phoneNumbers": [PHONE]}).json()["downloadUrl"]
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    sock.settimeout(30)
    sock.connect(("127.0.0.1", live.port))
    sock.sendall(f"GET {link} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
    received = b""
    with sock:
        while b"\r\n\r\n" not in received or len(received) < 64 * 1024:
            piece = sock.recv(8192)
            assert piece, "the download ended before it began"
            received += piece
        assert received.startswith(b"HTTP/1.1 200"), received[:200]
        with live.client(live.token("purge")) as client:
            rid = client.post("/purge/v1/calls", json={"ids": [call_id]}).json()["requestId"]
            deadline = time.monotonic() + 60
            while client.get(f"/purge/v1/requests/{rid}").json()["items"][0]["status"] != "Purged":
                assert time.monotonic() < deadline, "the purge did not finish"
                time.sleep(0.05)
        reset = False
        try:
            while piece := sock.recv(65536):
                received += piece
        except ConnectionResetError:
            reset = True
    assert reset, "the export was not ended with a reset"
    assert len(received) < len(audio) - 1024 * 1024, f"{len(received)} bytes served"
    assert b"PK\x05\x06" not in received  # no end of central directory: an incomplete ZIP
    assert "ASGI callable" not in caplog.text  # an intended cut is no error


@pytest.mark.both_backends
def test_a_purge_accepted_while_a_calls_last_piece_waits_stops_it(live):
    # A call of two pieces of audio: the first leaves once the second has been read and
    # checked; the second is held to leave with the call's small files. A purge accepted while
    # the stream is paused (the first piece being sent to a slow client) must stop the second,
    # not let it go out unchecked with call.json and the vCon.
    from callvault.capture.reads import ReadRevoked
    from callvault.certificates.service import CertificateService
    from callvault.exports.package import PIECE
    from callvault.exports.service import ExportService

    audio = wav_bytes(1.5 * PIECE / 16000, rate=8000)  # 1.5 pieces
    assert PIECE < len(audio) < 2 * PIECE
    info = call_info("cut-2", contacts=[{"type": "Customer", "phoneNumber": PHONE}])
    with live.client(live.token("capture")) as client:
        call_id = post_call(client, info, audio).json()["callId"]
    with live.client(live.token("export")) as client:
        export_id = client.post("/exports/v1", json={"phoneNumbers": [PHONE]}).json()["exportId"]
    rt = live.runtime
    chunks = iter(
        ExportService(rt, CertificateService(rt).sign).download_by_user(export_id, "tester").chunks
    )
    sent = next(chunks)  # the ZIP's first bytes: the audio's header and first piece
    assert f"calls/{call_id}/audio.wav".encode() in sent
    assert len(sent) > PIECE
    with rt.engine.begin() as conn:  # a purge's acceptance hides the call first
        conn.execute(update(calls).where(calls.c.call_id == call_id).values(status="Purging"))
    rest: list[bytes] = []
    with pytest.raises(ReadRevoked):
        rest.extend(chunks)  # what went out before the stream stopped stays in `rest`
    sent += b"".join(rest)
    assert len(sent) < len(audio)
    assert b"call.json" not in sent
