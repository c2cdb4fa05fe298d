"""The e-mail address rule and index form (src/callvault/emails.py, contract §16): trimmed, Unicode
NFKC, the domain as its IDNA A-label (UTS #46), then case-folded; invalid is not exactly one
``@``, an empty part, or a domain UTS #46 refuses."""

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
        # The domain as its A-label: the U-label and the A-label are one address.
        ("jane@bücher.de", "jane@xn--bcher-kva.de"),
        ("jane@xn--bcher-kva.de", "jane@xn--bcher-kva.de"),
        ("JANE@XN--BCHER-KVA.DE", "jane@xn--bcher-kva.de"),
        ("ZOË@Bücher.Example", "zoë@xn--bcher-kva.example"),
        # NFKC: full-width letters, the full-width @ and dot, the ideographic full stop.
        ("ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", "jane@example.com"),
        ("jane@example。com", "jane@example.com"),
        ("ﬁona@example.com", "fiona@example.com"),
        # casefold, not lower: ß meets ss (in the part before @; a domain keeps its own ß).
        ("Straße@example.com", "strasse@example.com"),
        ("STRASSE@example.com", "strasse@example.com"),
        ("jane@straße.de", "jane@xn--strae-oqa.de"),
        # Only what the contract refuses is refused: a single-label domain, a space before @.
        ("a@b", "a@b"),
        ("x y@example.com", "x y@example.com"),
        ("\u00a0jane@example.com\u3000", "jane@example.com"),
    ],
)
def test_addresses_are_normalized_as_section_16_says(raw, expected):
    assert normalize(raw) == expected
    assert index_form(raw) == "mailto:" + expected


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("jane@bücher.de", "jane@xn--bcher-kva.de"),
        ("ｊａｎｅ@ｅｘａｍｐｌｅ.com", "jane@example.com"),
        ("straße@example.com", "STRASSE@Example.com"),
        ("Jane@BÜCHER.de", " jane@bücher.DE "),
    ],
)
def test_spellings_of_one_address_have_one_index_form(one, other):
    assert index_form(one) == index_form(other)


def test_a_plus_tag_is_another_address():
    assert index_form("jane+x@example.com") != index_form("jane@example.com")


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("plain", "exactly one @"),
        ("two@@example.com", "exactly one @"),
        ("a@b@example.com", "exactly one @"),
        ("jane＠＠example.com", "exactly one @"),
        ("jane@", "empty"),
        ("@example.com", "empty"),
        (" @example.com", "empty"),
        ("jane@ex_ample.com", "domain"),
        ("jane@exam ple.com", "domain"),
        ("jane@-example.com", "domain"),
        ("jane@example-.com", "domain"),
        ("jane@example..com", "domain"),
        ("jane@ab--cd.com", "domain"),
        ("jane@xn--zz.com", "domain"),
        ("jane@" + "a" * 64 + ".com", "domain"),
        ("jane@[127.0.0.1]", "domain"),
        ("jane@ex\u200dample.com", "domain"),
        ("ja\ud800ne@example.com", "Unicode"),
        ("jane@ex\udfffample.com", "Unicode"),
    ],
)
def test_invalid_addresses_say_which_rule_never_the_address(raw, rule):
    with pytest.raises(InvalidEmail) as caught:
        normalize(raw)
    message = str(caught.value)
    assert rule in message
    for part in raw.strip().split("@"):
        if len(part) > 2:
            assert part not in message


@given(
    st.one_of(st.text(max_size=80), st.emails(), st.builds("{}@{}".format, st.text(), st.text()))
)
def test_any_text_is_an_address_or_a_clear_refusal(text):
    try:
        address = normalize(text)
    except InvalidEmail:
        return  # every refusal says which rule: see the test above
    # What is indexed normalizes to itself: a purge by the indexed form finds the call.
    assert normalize(address) == address
    assert address.count("@") == 1
    assert address == address.strip()
    assert address.split("@")[1].isascii()
    # The index forms of an address and of a phone number never coincide.
    assert index_form(text) != phone_index_form(text, "US")
