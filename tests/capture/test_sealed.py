"""A call's details are sealed with its data key, and with them the SHA-256 and SHA-512 of its
plaintext audio, computed as capture streams it in (what an access export names, contract §20,
rather than hash the audio again)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import AsyncIterator

import anyio
import pytest

from callvault.capture.sealed import (
    AudioDigests,
    AudioHasher,
    open_details,
    reseal_details,
    seal_document,
)
from callvault.capture.service import WRITE_BATCH, CaptureService
from callvault.crypto import CallCipher, DecryptionError, new_data_key
from helpers import call_info, digests_of, sealed_details

pytestmark = pytest.mark.both_backends

BOUNDARY = "sealed-test-boundary"


async def _upload(session_id: str, audio: bytes, piece: int = 64 * 1024) -> AsyncIterator[bytes]:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="info"\r\n'
        "Content-Type: application/json\r\n\r\n".encode()
        + json.dumps(call_info(session_id)).encode()
        + f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="data"; '
        'filename="call.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
    )
    body = head + audio + f"\r\n--{BOUNDARY}--\r\n".encode()
    for start in range(0, len(body), piece):
        yield body[start : start + piece]


def test_a_captured_call_keeps_its_audios_digests_sealed_with_its_details(runtime):
    # More than two of capture's write batches, and a tail that is not one: every piece hashed.
    audio = os.urandom(2 * WRITE_BATCH + 12_345)
    content_type = f"multipart/form-data; boundary={BOUNDARY}"
    call_id = anyio.run(
        lambda: CaptureService(runtime).capture(content_type, _upload("dg-1", audio), "tester")
    )
    row, document = sealed_details(runtime, call_id)
    assert AudioDigests.from_document(document) == digests_of(audio)
    # Sealed: the database holds no digest in the clear (erased with the call's key).
    assert hashlib.sha256(audio).hexdigest().encode() not in row.sealed
    assert hashlib.sha256(audio).digest() not in row.sealed


def test_an_empty_audio_has_the_digests_of_nothing(runtime):
    content_type = f"multipart/form-data; boundary={BOUNDARY}"
    call_id = anyio.run(
        lambda: CaptureService(runtime).capture(content_type, _upload("dg-2", b""), "tester")
    )
    _, document = sealed_details(runtime, call_id)
    assert AudioDigests.from_document(document) == digests_of(b"")


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"audioDigests": None},
        {"audioDigests": "x"},
        {"audioDigests": {"bytes": 1, "sha256": "ab"}},
        {"audioDigests": {"bytes": "1", "sha256": "ab", "sha512": "cd"}},
    ],
)
def test_a_document_without_whole_digests_has_none(document):
    # A call stored before digests were kept: its export hashes the audio as it streams.
    assert AudioDigests.from_document(document) is None


def test_a_reseal_keeps_the_details_and_names_the_new_audios_digests():
    old = CallCipher("c-1", new_data_key())
    new = CallCipher("c-1", new_data_key())
    document = {"masterCallId": None, "contacts": [{"type": "Customer", "firstName": "Ann"}]}
    sealed = seal_document(old, {**document, "audioDigests": {"bytes": 1, "sha256": "a"}})
    hasher = AudioHasher()
    for piece in (b"redacted ", b"audio"):
        hasher.update(piece)
    resealed = reseal_details(old, new, sealed, hasher.digests())
    opened = open_details(new, resealed)
    assert {k: v for k, v in opened.items() if k != "audioDigests"} == document
    assert AudioDigests.from_document(opened) == digests_of(b"redacted audio")
    with pytest.raises(DecryptionError):  # the old key opens nothing sealed anew
        open_details(old, resealed)
