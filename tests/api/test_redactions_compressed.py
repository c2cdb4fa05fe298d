"""Redaction of compressed recordings end to end, on both backends (contract §21): after
Redacted the range decodes to silence, the rest within the codec's noise, the duration is kept,
and no byte of the old audio's range (nor its ciphertext) is left in the store."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from audiogen import COMPRESSED, decoded, encoded, rms
from callvault.capture.sealed import AudioDigests
from callvault.redactions.loop import RedactionLoop
from callvault.store.redactions import get_redaction
from callvault.store.tables import calls
from helpers import (
    blob_objects,
    call_info,
    digests_of,
    forget_digests,
    post_call,
    sealed_details,
    stored_bytes,
)

pytestmark = [pytest.mark.both_backends, pytest.mark.settings(run_worker=False)]

TONE = (1000, 2000)


@pytest.mark.parametrize("name", [c[0] for c in COMPRESSED if c[0] != "vorbis-stereo"])
def test_a_compressed_recording_is_redacted_and_its_old_bytes_are_gone(live, backend, name):
    content_type = next(c[5] for c in COMPRESSED if c[0] == name)
    original = encoded(name, 3.0, TONE)
    token = live.token("capture", "read", "redact")
    rt = live.runtime
    with live.client(token) as client:
        call_id = post_call(client, call_info(f"z-{name}"), original, content_type).json()["callId"]
        with rt.engine.connect() as conn:
            old_key = conn.execute(
                select(calls.c.blob_key).where(calls.c.call_id == call_id)
            ).scalar()
        handle, size = rt.blobs.open(old_key)
        with handle:
            handle.seek(size // 2)
            old_ciphertext = handle.read(64)
        # Bytes of the recording from inside the range (its middle third is the marker tone).
        inside = original[len(original) // 2 - 24 : len(original) // 2 + 24]
        preview = client.post(
            f"/calls/v1/{call_id}/redactions?whatIf=true",
            json={"ranges": [{"startMs": TONE[0], "endMs": TONE[1]}], "reason": "pci"},
        ).json()
        assert abs(preview["durationMs"] - 3000) <= 130
        answer = client.post(
            f"/calls/v1/{call_id}/redactions",
            json={"ranges": [{"startMs": TONE[0], "endMs": TONE[1]}], "reason": "pci"},
        )
        assert answer.status_code == 202, answer.text
        assert RedactionLoop(rt).step() == 1
        rid = answer.json()["redactionId"]
        assert client.get(f"/calls/v1/{call_id}/redactions/{rid}").json()["state"] == "Redacted"
        audio = client.get(f"/calls/v1/{call_id}/audio")
    assert audio.status_code == 200
    assert audio.headers["content-type"].startswith(content_type)
    before, rate = decoded(original)
    after, _ = decoded(audio.content)
    assert abs(len(after) - len(before)) <= rate // 10
    assert rms(before[1100 * rate // 1000 : 1900 * rate // 1000]) > 0.3
    assert rms(after[1100 * rate // 1000 : 1900 * rate // 1000]) < 0.001
    scan = stored_bytes(rt)
    assert old_ciphertext not in scan
    assert inside not in scan
    assert len([o for o in blob_objects(rt) if call_id in o]) == 1
    # The digests sealed with the call are the redacted audio's (what an export names).
    assert AudioDigests.from_document(sealed_details(rt, call_id)[1]) == digests_of(audio.content)
    # The certificate's hash of the audio before is the original's (as sealed at capture).
    assert _sha256_before(rt, rid) == hashlib.sha256(original).hexdigest()


def _sha256_before(runtime, redaction_id: str) -> str | None:
    with runtime.engine.connect() as conn:
        row = get_redaction(conn, redaction_id)
    assert row is not None
    return row.audio_sha256_before


def test_a_call_stored_before_its_digests_were_kept_is_hashed_as_it_is_read(live):
    # No digests sealed with it: the redaction reads the old audio once more to hash it, and the
    # certificate's hash before is the original's all the same.
    original = encoded("mp3", 3.0, TONE)
    token = live.token("capture", "read", "redact")
    rt = live.runtime
    with live.client(token) as client:
        call_id = post_call(client, call_info("z-old"), original, "audio/mpeg").json()["callId"]
        forget_digests(rt, call_id)
        answer = client.post(
            f"/calls/v1/{call_id}/redactions",
            json={"ranges": [{"startMs": TONE[0], "endMs": TONE[1]}], "reason": "pci"},
        )
        assert answer.status_code == 202, answer.text
        assert RedactionLoop(rt).step() == 1
        audio = client.get(f"/calls/v1/{call_id}/audio").content
    assert _sha256_before(rt, answer.json()["redactionId"]) == hashlib.sha256(original).hexdigest()
    assert AudioDigests.from_document(sealed_details(rt, call_id)[1]) == digests_of(audio)
