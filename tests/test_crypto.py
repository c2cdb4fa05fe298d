"""Envelope encryption: chunked audio AEAD, sealed fields, key wrapping, blind index."""

from __future__ import annotations

import io
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callvault.crypto import (
    AUDIO_HEADER,
    TAG_BYTES,
    CallCipher,
    DecryptionError,
    KeyRing,
    decode_master_key,
    generate_master_key,
    new_data_key,
)

CHUNK = 1024


def _encrypt(cipher: CallCipher, data: bytes, pieces: list[int] | None = None) -> bytes:
    enc = cipher.audio_encryptor(chunk_size=CHUNK)
    out, pos = [], 0
    for size in pieces or [len(data)]:
        out.append(enc.update(data[pos : pos + size]))
        pos += size
    out.append(enc.update(data[pos:]))
    out.append(enc.finalize())
    return b"".join(out)


def _reader(cipher: CallCipher, blob: bytes):
    return cipher.audio_reader(io.BytesIO(blob), len(blob))


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(max_size=5 * CHUNK),
    pieces=st.lists(st.integers(min_value=0, max_value=3 * CHUNK), max_size=6),
)
def test_audio_round_trips_whatever_the_piece_sizes(data, pieces):
    cipher = CallCipher("call-1", new_data_key())
    blob = _encrypt(cipher, data, pieces)
    reader = _reader(cipher, blob)
    assert reader.length == len(data)
    assert reader.read() == data


def test_reader_seeks_anywhere():
    data = os.urandom(10 * CHUNK + 17)
    cipher = CallCipher("c", new_data_key())
    reader = _reader(cipher, _encrypt(cipher, data))
    for offset in (0, 1, CHUNK - 1, CHUNK, 5 * CHUNK + 3, len(data) - 1, len(data)):
        reader.seek(offset)
        assert reader.read(CHUNK + 5) == data[offset : offset + CHUNK + 5]
    reader.seek(-10, io.SEEK_END)
    assert reader.read() == data[-10:]


def test_ciphertext_hides_the_plaintext():
    data = b"SECRET-AUDIO-MARKER" * 200
    cipher = CallCipher("c", new_data_key())
    assert b"SECRET-AUDIO-MARKER" not in _encrypt(cipher, data)


def _sealed_chunks(blob: bytes) -> tuple[bytes, list[bytes]]:
    size = CHUNK + TAG_BYTES
    body = blob[AUDIO_HEADER.size :]
    return blob[: AUDIO_HEADER.size], [body[i : i + size] for i in range(0, len(body), size)]


def test_truncation_reordering_and_tampering_are_detected():
    data = os.urandom(4 * CHUNK + 100)
    cipher = CallCipher("c", new_data_key())
    header, chunks = _sealed_chunks(_encrypt(cipher, data))
    truncated = header + b"".join(chunks[:-1])  # whole last chunk dropped
    reordered = header + chunks[1] + chunks[0] + b"".join(chunks[2:])
    flipped = bytearray(header + b"".join(chunks))
    flipped[AUDIO_HEADER.size + 10] ^= 1
    for bad in (truncated, reordered, bytes(flipped)):
        with pytest.raises(DecryptionError):
            _reader(cipher, bad).read()


def test_wrong_key_or_wrong_call_cannot_decrypt():
    key = new_data_key()
    blob = _encrypt(CallCipher("c", key), b"hello" * 100)
    with pytest.raises(DecryptionError):
        _reader(CallCipher("c", new_data_key()), blob).read()
    with pytest.raises(DecryptionError):
        _reader(CallCipher("other", key), blob).read()


def test_sealed_fields_are_bound_to_call_and_purpose():
    key = new_data_key()
    cipher = CallCipher("c", key)
    sealed = cipher.seal(b"Zebediah", "details")
    assert b"Zebediah" not in sealed
    assert cipher.open(sealed, "details") == b"Zebediah"
    with pytest.raises(DecryptionError):
        cipher.open(sealed, "other")
    with pytest.raises(DecryptionError):
        CallCipher("c2", key).open(sealed, "details")


def test_wrapped_key_opens_only_for_its_call_and_master_key():
    ring = KeyRing(os.urandom(32))
    key = new_data_key()
    wrapped = ring.wrap("call-a", key)
    assert key not in wrapped
    assert ring.unwrap("call-a", wrapped) == key
    with pytest.raises(DecryptionError):
        ring.unwrap("call-b", wrapped)
    with pytest.raises(DecryptionError):
        KeyRing(os.urandom(32)).unwrap("call-a", wrapped)


def test_blind_index_is_keyed_and_deterministic():
    master = os.urandom(32)
    a, b = KeyRing(master), KeyRing(master)
    assert a.blind_index("+15125551234") == b.blind_index("+15125551234")
    assert a.blind_index("+15125551234") != a.blind_index("+15125551235")
    assert KeyRing(os.urandom(32)).blind_index("+15125551234") != a.blind_index("+15125551234")
    assert b"15125551234" not in a.blind_index("+15125551234")


def test_master_key_parsing():
    text = generate_master_key()
    assert len(decode_master_key(text)) == 32
    assert decode_master_key("ab" * 32) == bytes.fromhex("ab" * 32)
    for bad in ("", "short", "ab" * 31):
        with pytest.raises(ValueError, match="32 bytes"):
            decode_master_key(bad)
