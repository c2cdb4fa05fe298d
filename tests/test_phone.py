"""E.164 normalization: every spelling of one number is one number; junk is None, never a crash."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callvault.phone import check_region, index_form, is_number, to_e164


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


@pytest.mark.parametrize(
    "spelling",
    ["(512) 555-0300 x12", "+1 512 555 0300 ext. 12", "5125550300;ext=12", "512-555-0300 #12"],
)
def test_the_index_form_keeps_the_extension(spelling):
    assert index_form(spelling, "US") == "+15125550300;ext=12"
    assert to_e164(spelling, "US") == "+15125550300"  # E.164 itself has no extension


def test_the_index_form_of_a_number_without_extension_is_its_e164():
    assert index_form("(512) 555-0300", "US") == "+15125550300"
    assert index_form("55 1234 5678", "MX") == "+525512345678"
    assert index_form("anonymous", "US") is None


def test_a_region_is_checked():
    assert check_region("mx") == "MX"
    with pytest.raises(ValueError, match="ZZ"):
        check_region("ZZ")


# Contract §19, "A number that cannot be indexed is never silent": when a number does not parse
# in the region, a leading international prefix (00, 011) is read as "+".
@pytest.mark.parametrize(
    ("spelling", "region"),
    [
        ("0044 20 7946 0958", "US"),
        ("00 44 (20) 7946-0958", "US"),
        ("011 44 20 7946 0958", "GB"),
        ("011-44-20-7946-0958", "MX"),
        (" 0044 20 7946 0958", "US"),
        ("(0044) 20 7946 0958", "US"),
    ],
)
def test_an_international_prefix_is_read_as_plus_when_the_region_cannot_read_it(spelling, region):
    assert to_e164(spelling, region) == "+442079460958"
    assert index_form(spelling, region) == "+442079460958"


def test_the_prefix_keeps_the_extension():
    assert index_form("0044 20 7946 0958 x12", "US") == "+442079460958;ext=12"


def test_the_regions_own_reading_comes_first():
    # Where the region reads the prefix itself (its own international prefix), nothing changes.
    assert to_e164("0044 20 7946 0958", "GB") == "+442079460958"
    assert to_e164("011 44 20 7946 0958", "US") == "+442079460958"
    # A number the region reads as a national number keeps that reading.
    assert to_e164("(512) 555-1234", "US") == "+15125551234"


@pytest.mark.parametrize("junk", ["12", "0012", "01112", "00", "011", "000 44"])
def test_what_no_reading_makes_a_phone_number_stays_none(junk):
    assert index_form(junk, "US") is None
    assert index_form(junk, "GB") is None


@pytest.mark.parametrize("placeholder", ["", "anonymous", "Anonymous", "private", "+", "unknown"])
def test_a_placeholder_is_not_a_number(placeholder):
    assert not is_number(placeholder)


@pytest.mark.parametrize("number", ["12", "0044 20 7946 0958", "x12", "+1 512 555 1234"])
def test_anything_with_a_digit_is_a_number(number):
    assert is_number(number)
