"""Phone numbers to E.164, the one form a customer's calls are indexed and found by.

Capture is lenient (a recorder's ``anonymous`` or an extension must never fail an upload); a purge
request is strict enough to reject what cannot be a phone number at all, but not so strict that
an out-of-date numbering plan blocks an erasure (``is_possible_number``, not ``is_valid_number``).
"""

from __future__ import annotations

import phonenumbers

# libphonenumber rejects longer input anyway; bounding it first keeps hostile input cheap.
MAX_PHONE_CHARS = 64


def to_e164(raw: str, region: str) -> str | None:
    """The E.164 form of ``raw``, or None when it is not a possible phone number."""
    if not raw or len(raw) > MAX_PHONE_CHARS:
        return None
    try:
        number = phonenumbers.parse(raw, region.upper())
    except phonenumbers.NumberParseException:
        return None
    # IS_POSSIBLE only: a local-only number (no area code, e.g. 555-1234) would put customers of
    # every area code under one index entry, and a purge of it would erase strangers' calls.
    if (
        phonenumbers.is_possible_number_with_reason(number)
        != phonenumbers.ValidationResult.IS_POSSIBLE
    ):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
