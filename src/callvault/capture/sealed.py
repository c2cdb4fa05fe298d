"""The personal part of a call, sealed as one JSON document with the call's data key.

Beside the contacts and metadata, the document keeps the SHA-256 and SHA-512 of the call's
plaintext audio (``audioDigests``), computed where the plaintext already passes: as capture
encrypts it, and as a redaction writes the redacted audio (which re-seals the document under the
audio's new key). An access export (contract §20) takes them from here rather than hash every
byte again: the audio it decrypts is authenticated chunk by chunk under the same data key
(AES-GCM, STREAM), so it is byte for byte what was hashed. Sealed with the details, they are
erased with the call. A call stored before they were kept has none: its export hashes the audio.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from callvault.capture.info import CaptureInfo
from callvault.crypto import CallCipher
from callvault.phone import to_e164

PURPOSE = "details"
DIGESTS = "audioDigests"


@dataclass(frozen=True)
class AudioDigests:
    """A call's plaintext audio: its size and its SHA-256 and SHA-512 (lower-case hex)."""

    size: int
    sha256: str
    sha512: str

    def to_json(self) -> dict[str, Any]:
        return {"bytes": self.size, "sha256": self.sha256, "sha512": self.sha512}

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> AudioDigests | None:
        """The digests a details document keeps, or None (a call stored before they were)."""
        found = document.get(DIGESTS)
        if not isinstance(found, dict):
            return None
        size, sha256, sha512 = found.get("bytes"), found.get("sha256"), found.get("sha512")
        if not (isinstance(size, int) and isinstance(sha256, str) and isinstance(sha512, str)):
            return None
        return cls(size, sha256, sha512)


class AudioHasher:
    """The digests of audio fed to it in pieces (``hashlib`` lets go of the GIL on large
    updates, so capture's thread hashes beside the event loop)."""

    def __init__(self) -> None:
        self._sha256 = hashlib.sha256()
        self._sha512 = hashlib.sha512()
        self.size = 0

    def update(self, data: bytes) -> None:
        self._sha256.update(data)
        self._sha512.update(data)
        self.size += len(data)

    def digests(self) -> AudioDigests:
        return AudioDigests(self.size, self._sha256.hexdigest(), self._sha512.hexdigest())


def contacts_document(info: CaptureInfo, region: str) -> list[dict[str, Any]]:
    return [
        {
            "type": contact.type,
            "channel": contact.channel,
            "phoneNumber": contact.phonenumber,
            "phoneE164": to_e164(contact.phonenumber, region) if contact.phonenumber else None,
            "referenceId": contact.referenceid,
            "firstName": contact.firstname,
            "lastName": contact.lastname,
            "email": contact.email,
        }
        for contact in info.contacts
    ]


def seal_details(
    cipher: CallCipher,
    info: CaptureInfo,
    contacts: list[dict[str, Any]],
    digests: AudioDigests | None,
) -> bytes:
    document = {
        "masterCallId": info.mastercallid,
        "numberDialed": info.numberdialed,
        "metadata": info.metadata,
        "contacts": contacts,
    }
    if digests is not None:
        document[DIGESTS] = digests.to_json()
    return seal_document(cipher, document)


def seal_document(cipher: CallCipher, document: dict[str, Any]) -> bytes:
    return cipher.seal(json.dumps(document, separators=(",", ":")).encode(), PURPOSE)


def open_details(cipher: CallCipher, sealed: bytes) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(cipher.open(sealed, PURPOSE))
    return document


def reseal_details(old: CallCipher, new: CallCipher, sealed: bytes, digests: AudioDigests) -> bytes:
    """The details sealed under ``old``, sealed again under ``new`` with the digests of the
    audio that key now encrypts (a redaction's)."""
    document = open_details(old, sealed)
    document[DIGESTS] = digests.to_json()
    return seal_document(new, document)
