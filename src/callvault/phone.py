"""Phone numbers to E.164, the one form a customer's calls are indexed and found by.

Capture is lenient (a recorder's ``anonymous`` or an extension must never fail an upload); a purge
request is strict enough to reject what cannot be a phone number at all, but not so strict that
an out-of-date numbering plan blocks an erasure (``is_possible_number``, not ``is_valid_number``).
A number's extension is kept in the form the blind index hashes (``index_form``), so a purge
reaches the same extension only.

A number the region cannot read is read once more with a leading international prefix (``00``,
``011``) as ``+`` (contract §19): a US recorder's ``0044 20 7946 0958`` is ``+442079460958``, as
it would be in the UK, so every capture, purge and hold reads it as one number.
"""

from __future__ import annotations

import re

import phonenumbers

# libphonenumber rejects longer input anyway; bounding it first keeps hostile input cheap.
MAX_PHONE_CHARS = 64


def check_region(region: str) -> str:
    """The region code, upper-cased, if libphonenumber knows it; else ValueError naming it."""
    code = region.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(
            f"unknown region {region!r}; use a two-letter ISO 3166 code such as US, MX or GB"
        )
    return code


# A leading international prefix as dialled from most of the world (00) or from North America
# (011), after any spaces or brackets; what follows it is the country code.
_INTERNATIONAL_PREFIX = re.compile(r"[\s()\[\].\-/]*(?:00|011)(?=.)", re.ASCII | re.DOTALL)


def is_number(raw: str) -> bool:
    """Whether ``raw`` is meant as a number at all: it has a digit. A recorder's placeholder
    (``anonymous``, ``private``, ``unknown``, an empty string) is not; ``12`` is a number, if
    not one callvault can index."""
    return any(char.isdecimal() for char in raw)


def unusable(field: str, raw: str) -> str:
    """What a customer purge or hold answers for a number it cannot use: why, naming the field
    (``phoneNumber``, ``phoneNumbers[2]``), never the value."""
    if not is_number(raw):
        return (
            f"{field} is not a phone number (it has no digits): give the customer's number, "
            "e.g. +15125551234"
        )
    return (
        f"{field} is not a complete phone number: give it with its area code (and its country "
        "code outside the default region), e.g. +15125551234"
    )


def _parse(raw: str, region: str) -> tuple[phonenumbers.PhoneNumber, str] | None:
    """The number and its E.164 form, or None when it is not a possible phone number, neither
    as the region reads it nor with a leading international prefix read as ``+``."""
    if not raw or len(raw) > MAX_PHONE_CHARS:
        return None
    parsed = _parse_once(raw, region)
    if parsed is None:
        prefix = _INTERNATIONAL_PREFIX.match(raw)
        if prefix is not None:
            parsed = _parse_once("+" + raw[prefix.end() :], region)
    return parsed


def _parse_once(raw: str, region: str) -> tuple[phonenumbers.PhoneNumber, str] | None:
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
    # A few numbers of leading zeros (DE "000000") format to an E.164 that libphonenumber reads
    # back as another number ("+4900000" -> "+490000"). Indexed under one form and asked for
    # under the other, such a number could never be purged: every form answered here must read
    # back as itself, or it is not a phone number.
    e164 = _e164(number)
    try:
        again = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    if _e164(again) != e164:
        return None
    return number, e164


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def to_e164(raw: str, region: str) -> str | None:
    """The E.164 form of ``raw`` (no extension: E.164 has none), or None when it is not a
    possible phone number."""
    parsed = _parse(raw, region)
    return None if parsed is None else parsed[1]


def index_form(raw: str, region: str) -> str | None:
    """What a customer phone is indexed and found by: its E.164, plus ``;ext=N`` (RFC 3966) when
    it has an extension, or None when it is not a possible phone number.

    The extension is part of the identity: ``(512) 555-0300 x12`` and ``x34`` are two people
    behind one switchboard, and the bare number a third. Example::

        index_form("(512) 555-0300 x12", "US") == "+15125550300;ext=12"
    """
    parsed = _parse(raw, region)
    if parsed is None:
        return None
    number, e164 = parsed
    return e164 + (f";ext={number.extension}" if number.extension else "")
