"""An access export of a redacted call carries the redacted audio and lists its redactions; a
call being redacted is sent when its redaction is done, never before (contract §20, §21)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import threading
import zipfile

import pytest

from audiogen import pattern, wav_file
from callvault.redactions.loop import RedactionLoop
from helpers import call_info, post_call

pytestmark = [pytest.mark.both_backends, pytest.mark.settings(run_worker=False)]

RATE = 8000
MARKER = b"CARD-4111111111111111-CVV-737!"


def card_call() -> bytes:
    """A 16-bit mono WAV of 4 s whose samples from 1000 ms to 2000 ms hold MARKER."""
    inside = (MARKER * (2 * RATE // len(MARKER) + 1))[: 2 * RATE]
    return wav_file(
        1, 16, pattern(2 * RATE, seed=1) + inside + pattern(4 * RATE, seed=2), rate=RATE
    )


@pytest.fixture
def tokens(live) -> dict[str, str]:
    return {p: live.token(p) for p in ("capture", "read", "redact", "export")}


def capture_and_ask_redaction(live, tokens, session: str) -> str:
    with live.client(tokens["capture"]) as client:
        answer = post_call(client, call_info(session), card_call(), "audio/wav")
    assert answer.status_code == 200, answer.text
    call_id: str = answer.json()["callId"]
    body = {"ranges": [{"startMs": 1000, "endMs": 2000}], "reason": "pci", "reference": "PCI-7"}
    with live.client(tokens["redact"]) as client:
        asked = client.post(f"/calls/v1/{call_id}/redactions", json=body)
    assert asked.status_code == 202, asked.text
    return call_id


def export_of(live, tokens, call_id: str) -> str:
    with live.client(tokens["export"]) as client:
        made = client.post("/exports/v1", json={"callIds": [call_id]})
    assert made.status_code == 201, made.text
    url: str = made.json()["downloadUrl"]
    return url


def download(live, url: str) -> bytes:
    with live.client(None) as client:
        answer = client.get(url, timeout=120)
    assert answer.status_code == 200, answer.text
    return answer.content


def check(live, tokens, package: bytes, call_id: str) -> None:
    assert MARKER not in package  # no byte of the range left the store
    archive = zipfile.ZipFile(io.BytesIO(package))
    manifest = json.loads(archive.read("manifest.json"))
    (entry,) = manifest["calls"]
    assert entry["state"] == "included"
    (redaction,) = entry["redactions"]
    assert redaction["ranges"] == [{"startMs": 1000, "endMs": 2000}]
    assert (redaction["reason"], redaction["reference"]) == ("pci", "PCI-7")
    assert redaction["completedAt"].endswith("Z")
    with live.client(tokens["read"]) as client:
        served = client.get(f"/calls/v1/{call_id}/audio").content
    assert archive.read(f"calls/{call_id}/audio.wav") == served  # the redacted audio, as stored
    # Its hashes, in the manifest and the vCon, are the redacted audio's (sealed by the
    # redaction with the call's details under its new key).
    (audio,) = [f for f in manifest["files"] if f["path"] == f"calls/{call_id}/audio.wav"]
    assert (audio["bytes"], audio["sha256"]) == (len(served), hashlib.sha256(served).hexdigest())
    vcon = json.loads(archive.read(f"calls/{call_id}/call.vcon.json"))
    digest = base64.urlsafe_b64encode(hashlib.sha512(served).digest()).rstrip(b"=").decode()
    assert vcon["dialog"][0]["content_hash"] == "sha512-" + digest


def test_a_redacted_call_is_exported_redacted_with_its_redactions_listed(live, tokens):
    call_id = capture_and_ask_redaction(live, tokens, "red-1")
    assert RedactionLoop(live.runtime).step() == 1
    check(live, tokens, download(live, export_of(live, tokens, call_id)), call_id)


def test_a_call_being_redacted_is_sent_once_its_redaction_is_done(live, tokens):
    call_id = capture_and_ask_redaction(live, tokens, "red-2")
    url = export_of(live, tokens, call_id)  # made while Redacting: the call is in it
    got: list[bytes] = []
    downloading = threading.Thread(target=lambda: got.append(download(live, url)))
    downloading.start()
    downloading.join(1.0)
    assert downloading.is_alive(), "the package was sent while the call was being redacted"
    assert RedactionLoop(live.runtime).step() == 1  # only now is the range erased
    downloading.join(120)
    check(live, tokens, got[0], call_id)


def test_a_redaction_that_ends_while_the_package_streams_is_listed_with_its_audio(live, tokens):
    # The package reads its calls' redactions ahead; a call redacted after that read, before
    # its turn, must still be sent with the redaction listed and its audio redacted.
    from callvault.certificates.service import CertificateService
    from callvault.exports.service import ExportService

    ids = []
    for session in ("red-3a", "red-3b"):
        with live.client(tokens["capture"]) as client:
            ids.append(post_call(client, call_info(session), card_call(), "audio/wav").json())
    call_ids = [c["callId"] for c in ids]
    with live.client(tokens["export"]) as client:
        made = client.post("/exports/v1", json={"callIds": call_ids})
    assert made.status_code == 201, made.text
    rt = live.runtime
    service = ExportService(rt, CertificateService(rt).sign)
    chunks = iter(service.download_by_user(made.json()["exportId"], "tester").chunks)
    sent = b""
    while b"/audio.wav" not in sent:  # the first call's audio has begun: the states were read
        sent += next(chunks)
    first = next(c for c in call_ids if f"calls/{c}/audio.wav".encode() in sent)
    (later,) = set(call_ids) - {first}
    body = {"ranges": [{"startMs": 1000, "endMs": 2000}], "reason": "pci", "reference": "PCI-7"}
    with live.client(tokens["redact"]) as client:
        assert client.post(f"/calls/v1/{later}/redactions", json=body).status_code == 202
    assert RedactionLoop(rt).step() == 1
    package = sent + b"".join(chunks)
    archive = zipfile.ZipFile(io.BytesIO(package))
    manifest = json.loads(archive.read("manifest.json"))
    listed = {c["callId"]: c["redactions"] for c in manifest["calls"]}
    assert listed[first] == []
    assert [r["reference"] for r in listed[later]] == ["PCI-7"]
    assert MARKER not in archive.read(f"calls/{later}/audio.wav")
    assert MARKER in archive.read(f"calls/{first}/audio.wav")
