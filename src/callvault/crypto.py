"""Envelope encryption and crypto-shredding.

Every call gets its own random 256-bit data key. From it two sub-keys are derived (HKDF): one
seals the call's personal fields, one encrypts its audio as a chunked AEAD stream. The data key is
stored only wrapped (AES-GCM) by a key-encryption key derived from the master key, in a key store
kept apart from the calls database. Destroying that one wrapped key makes every copy of the call's
data unreadable: backups, replicas, dead tuples and old object versions included.

The audio format follows the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015):
fixed-size plaintext chunks, each sealed with AES-GCM under a nonce made of the chunk counter and a
"last chunk" flag, so reordering, duplication and truncation are all detected.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import io
import os
import secrets
import struct
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
AUDIO_MAGIC = b"CVA1"
AUDIO_HEADER = struct.Struct(">4sI")  # magic, plaintext chunk size
DEFAULT_CHUNK_SIZE = 64 * 1024


class Seekable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...

    def close(self) -> None: ...


class DecryptionError(ValueError):
    """Ciphertext failed authentication: tampered, truncated, reordered or keyed wrongly."""


def _derive(key: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose).derive(key)


def decode_master_key(text: str) -> bytes:
    """Parse a master key given as base64 (standard or URL-safe) or hex of exactly 32 bytes."""
    text = text.strip()
    candidates: list[bytes] = []
    if len(text) == 2 * KEY_BYTES:
        with contextlib.suppress(ValueError):
            candidates.append(bytes.fromhex(text))
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        with contextlib.suppress(ValueError):
            candidates.append(decode(text + "=" * (-len(text) % 4)))
    for key in candidates:
        if len(key) == KEY_BYTES:
            return key
    raise ValueError("the master key must be 32 bytes, given as base64 or 64 hex digits")


def generate_master_key() -> str:
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


class KeyRing:
    """The keys derived from the master key, each for one purpose only."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != KEY_BYTES:
            raise ValueError("master key must be 32 bytes")
        self._kek = AESGCM(_derive(master_key, b"callvault/v1/key-wrap"))
        self._index_key = _derive(master_key, b"callvault/v1/blind-index")
        self._audit_key = _derive(master_key, b"callvault/v1/audit")
        self.audit_chain_key = _derive(master_key, b"callvault/v1/audit-chain")
        self._records = AESGCM(_derive(master_key, b"callvault/v1/records"))

    def wrap(self, call_id: str, data_key: bytes) -> bytes:
        """Seal a data key, bound to its call ID so it cannot be moved to another call."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._kek.encrypt(nonce, data_key, b"dk:" + call_id.encode())

    def unwrap(self, call_id: str, wrapped: bytes) -> bytes:
        try:
            return self._kek.decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], b"dk:" + call_id.encode()
            )
        except InvalidTag as exc:
            raise DecryptionError("wrapped data key does not open with this master key") from exc

    def blind_index(self, form: str) -> bytes:
        """Keyed hash a customer is looked up by, so the number or address is never stored.

        ``form`` is ``phone.index_form``'s output (E.164, with ``;ext=N`` when there is one) or
        ``emails.index_form``'s (``mailto:`` and the normalized address): two forms that can
        never coincide, so one index holds both.
        """
        return hmac.new(self._index_key, form.encode(), hashlib.sha256).digest()

    def seal_record(self, plaintext: bytes, purpose: str) -> bytes:
        """Seal a personal value that belongs to no call (a legal hold's phone numbers): it has no
        data key of its own, so it is sealed under the master key, bound to its purpose."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._records.encrypt(nonce, plaintext, b"record:" + purpose.encode())

    def open_record(self, sealed: bytes, purpose: str) -> bytes:
        try:
            return self._records.decrypt(
                sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], b"record:" + purpose.encode()
            )
        except InvalidTag as exc:
            raise DecryptionError(f"sealed {purpose} does not open with this master key") from exc

    def audit_hash(self, value: str) -> str:
        """Keyed hash recorded in the audit trail in place of a phone number."""
        return hmac.new(self._audit_key, value.encode(), hashlib.sha256).hexdigest()


def new_data_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


class CallCipher:
    """Seals a call's personal fields and its audio under sub-keys of the call's data key."""

    def __init__(self, call_id: str, data_key: bytes) -> None:
        self.call_id = call_id
        self._fields = AESGCM(_derive(data_key, b"callvault/v1/fields"))
        self._audio_key = _derive(data_key, b"callvault/v1/audio")

    def seal(self, plaintext: bytes, purpose: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        aad = f"{self.call_id}:{purpose}".encode()
        return nonce + self._fields.encrypt(nonce, plaintext, aad)

    def open(self, sealed: bytes, purpose: str) -> bytes:
        aad = f"{self.call_id}:{purpose}".encode()
        try:
            return self._fields.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
        except InvalidTag as exc:
            raise DecryptionError(f"sealed {purpose} of call does not open") from exc

    def audio_encryptor(self, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AudioEncryptor:
        return AudioEncryptor(AESGCM(self._audio_key), self.call_id, chunk_size)

    def audio_reader(self, ciphertext: Seekable, size: int) -> DecryptedAudio:
        return DecryptedAudio(AESGCM(self._audio_key), self.call_id, ciphertext, size)


def _chunk_nonce(index: int, last: bool) -> bytes:
    return struct.pack(">QI", index, 1 if last else 0)


class AudioEncryptor:
    """Incremental STREAM encryption: feed plaintext in any pieces, get ciphertext to append.

    Memory is bounded by one chunk. A full chunk is only sealed once more data follows it, because
    the last chunk (possibly empty) must carry the "last" flag.
    """

    def __init__(self, aead: AESGCM, call_id: str, chunk_size: int) -> None:
        self._aead = aead
        self._aad = f"{call_id}:audio".encode()
        self._chunk_size = chunk_size
        self._buffer = bytearray()
        self._index = 0
        self._started = False
        self.plaintext_bytes = 0

    def _header(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        return AUDIO_HEADER.pack(AUDIO_MAGIC, self._chunk_size)

    def _seal(self, chunk: bytes, last: bool) -> bytes:
        sealed = self._aead.encrypt(_chunk_nonce(self._index, last), chunk, self._aad)
        self._index += 1
        return sealed

    def update(self, data: bytes) -> bytes:
        self.plaintext_bytes += len(data)
        self._buffer += data
        out = [self._header()]
        size = self._chunk_size
        while len(self._buffer) > size:
            out.append(self._seal(bytes(self._buffer[:size]), last=False))
            del self._buffer[:size]
        return b"".join(out)

    def finalize(self) -> bytes:
        header = self._header()
        last = self._seal(bytes(self._buffer), last=True)
        self._buffer.clear()
        return header + last


class DecryptedAudio(io.RawIOBase):
    """A seekable, read-only plaintext view of an encrypted audio blob.

    Chunks are decrypted on demand, so sequential streaming and the random access that audio
    parsers (duration measurement) need both run in constant memory.
    """

    def __init__(self, aead: AESGCM, call_id: str, ciphertext: Seekable, size: int) -> None:
        super().__init__()
        self._aead = aead
        self._aad = f"{call_id}:audio".encode()
        self._ct = ciphertext
        header = self._read_exact(AUDIO_HEADER.size)
        if len(header) != AUDIO_HEADER.size:
            raise DecryptionError("audio blob is truncated")
        magic, self._chunk_size = AUDIO_HEADER.unpack(header)
        if magic != AUDIO_MAGIC or self._chunk_size <= 0:
            raise DecryptionError("audio blob has an unknown format")
        body = size - AUDIO_HEADER.size
        sealed_chunk = self._chunk_size + TAG_BYTES
        self._chunks = max(1, -(-body // sealed_chunk))
        last_len = body - (self._chunks - 1) * sealed_chunk - TAG_BYTES
        if body < TAG_BYTES or last_len < 0:
            raise DecryptionError("audio blob is truncated")
        self.length = (self._chunks - 1) * self._chunk_size + last_len
        self._pos = 0
        self._cached: tuple[int, bytes] | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.length}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def _chunk(self, index: int) -> bytes:
        if self._cached is not None and self._cached[0] == index:
            return self._cached[1]
        sealed_chunk = self._chunk_size + TAG_BYTES
        self._ct.seek(AUDIO_HEADER.size + index * sealed_chunk)
        sealed = self._read_exact(sealed_chunk)
        last = index == self._chunks - 1
        try:
            plain = self._aead.decrypt(_chunk_nonce(index, last), sealed, self._aad)
        except InvalidTag as exc:
            raise DecryptionError(f"audio chunk {index} failed authentication") from exc
        self._cached = (index, plain)
        return plain

    def _read_exact(self, size: int) -> bytes:
        # Raw streams (a socket, a ranged S3 read) may return less than asked: keep reading.
        pieces, wanted = [], size
        while wanted > 0:
            piece = self._ct.read(wanted)
            if not piece:
                break
            pieces.append(piece)
            wanted -= len(piece)
        return b"".join(pieces)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        # Fill the whole buffer across chunk borders: parsers expect read(n) to give n bytes.
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view) and self._pos < self.length:
            index, offset = divmod(self._pos, self._chunk_size)
            piece = self._chunk(index)[offset : offset + len(view) - filled]
            view[filled : filled + len(piece)] = piece
            filled += len(piece)
            self._pos += len(piece)
        return filled

    def close(self) -> None:
        self._ct.close()
        super().close()
