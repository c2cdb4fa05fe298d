"""The e-mail address rule and index form (src/callvault/emails.py, contract §16)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callvault.emails import InvalidEmail, index_form, normalize
from callvault.phone import index_form as phone_index_form


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("jane@example.com", "jane@example.com"),
        ("  Jane.Doe+Calls@Example.COM\t", "jane.doe+calls@example.com"),
        ("o'brien-x_y@sub.example.co.uk", "o'brien-x_y@sub.example.co.uk"),
        ("ZOË@Bücher.Example", "zoë@bücher.example"),
        ("a@b.cd", "a@b.cd"),
    ],
)
def test_good_addresses_are_trimmed_and_lower_cased(raw, expected):
    assert normalize(raw) == expected
    assert index_form(raw) == "mailto:" + expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "plain",
        "two@@example.com",
        "a@b@example.com",
        "a b@example.com",
        "jane@",
        "@example.com",
        "jane@localhost",
        "jane@ex_ample.com",
        "jane@-example.com",
        "jane@example-.com",
        "jane@example..com",
        ".jane@example.com",
        "jane.@example.com",
        "ja..ne@example.com",
        'ja"ne@example.com',
        "ja\x00ne@example.com",
        "x" * 65 + "@example.com",
        "jane@" + "a" * 64 + ".com",
        "j@" + ("a" * 60 + ".") * 5 + "com",
    ],
)
def test_bad_addresses_are_refused_without_quoting_them(raw):
    with pytest.raises(InvalidEmail) as caught:
        normalize(raw)
    assert str(caught.value)
    if raw.strip():
        assert raw.strip() not in str(caught.value)


@given(st.one_of(st.text(max_size=80), st.emails()))
def test_any_text_is_an_address_or_a_clear_refusal(text):
    try:
        address = normalize(text)
    except InvalidEmail:
        return  # every refusal says which rule: see the test above
    # What is indexed normalizes to itself: a purge by the indexed form finds the call.
    assert normalize(address) == address
    assert address.count("@") == 1
    assert address == address.strip()
    # The index forms of an address and of a phone number never coincide.
    assert index_form(text) != phone_index_form(text, "US")
