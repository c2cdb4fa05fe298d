"""E.164 normalization: every spelling of one number is one number; junk is None, never a crash."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callvault.phone import to_e164


@pytest.mark.parametrize(
    "spelling",
    ["+15125551234", "(512) 555-1234", "1-512-555-1234", "512.555.1234", "+1 512 555 1234"],
)
def test_us_spellings_match(spelling):
    assert to_e164(spelling, "US") == "+15125551234"


def test_default_region_applies_to_national_numbers():
    assert to_e164("020 7946 0958", "GB") == "+442079460958"
    assert to_e164("+44 20 7946 0958", "US") == "+442079460958"


@pytest.mark.parametrize("junk", ["", "anonymous", "1234", "+", "x" * 500, "++--", "0"])
def test_impossible_numbers_are_none(junk):
    assert to_e164(junk, "US") is None


@given(st.text(max_size=80))
def test_never_raises(text):
    result = to_e164(text, "US")
    assert result is None or result.startswith("+")
