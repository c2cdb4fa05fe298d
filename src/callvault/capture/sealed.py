"""The personal part of a call, sealed as one JSON document with the call's data key."""

from __future__ import annotations

import json
from typing import Any

from callvault.capture.info import CaptureInfo
from callvault.crypto import CallCipher
from callvault.phone import to_e164

PURPOSE = "details"


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


def seal_details(cipher: CallCipher, info: CaptureInfo, contacts: list[dict[str, Any]]) -> bytes:
    document = {
        "masterCallId": info.mastercallid,
        "numberDialed": info.numberdialed,
        "metadata": info.metadata,
        "contacts": contacts,
    }
    return cipher.seal(json.dumps(document, separators=(",", ":")).encode(), PURPOSE)


def open_details(cipher: CallCipher, sealed: bytes) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(cipher.open(sealed, PURPOSE))
    return document
