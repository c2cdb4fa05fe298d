"""Properties of E.164 normalization (contract §3, §5): every spelling of one real number is one
number, whatever the region; arbitrary text never raises, and what comes out normalizes to itself.

Numbers are built with libphonenumber itself (its example numbers per region and type, with digits
mutated while the number stays valid), so the test covers every supported region's plan.
"""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from callvault.phone import MAX_PHONE_CHARS, to_e164

Fmt = phonenumbers.PhoneNumberFormat
Type = phonenumbers.PhoneNumberType

TYPES = [
    Type.FIXED_LINE,
    Type.MOBILE,
    Type.FIXED_LINE_OR_MOBILE,
    Type.TOLL_FREE,
    Type.PREMIUM_RATE,
    Type.SHARED_COST,
    Type.VOIP,
    Type.PERSONAL_NUMBER,
    Type.PAGER,
    Type.UAN,
    Type.VOICEMAIL,
]


def _complete(number: phonenumbers.PhoneNumber) -> bool:
    """Valid, and dialable from anywhere: callvault deliberately refuses local-only numbers
    (``IS_POSSIBLE_LOCAL_ONLY``), even valid ones such as Canada's 310-xxxx numbers."""
    return phonenumbers.is_valid_number(number) and (
        phonenumbers.is_possible_number_with_reason(number)
        == phonenumbers.ValidationResult.IS_POSSIBLE
    )


def _examples() -> list[tuple[str, phonenumbers.PhoneNumber]]:
    found = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in TYPES:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None and _complete(number):
                found.append((region, number))
    return found


EXAMPLES = _examples()
SEPARATORS = st.sampled_from([" ", "-", ".", "(", ")", "  ", " - ", "/"])


@st.composite
def valid_numbers(draw: st.DrawFn) -> tuple[str, phonenumbers.PhoneNumber]:
    """A (region, number) pair: an example number, its last digits maybe mutated, still valid."""
    region, example = draw(st.sampled_from(EXAMPLES))
    national = str(example.national_number)
    if draw(st.booleans()):
        keep = max(len(national) - draw(st.integers(1, 4)), 1)
        size = len(national) - keep
        tail = draw(st.text("0123456789", min_size=size, max_size=size))
        mutated = phonenumbers.PhoneNumber(
            country_code=example.country_code,
            national_number=int(national[:keep] + tail),
            italian_leading_zero=example.italian_leading_zero,
            number_of_leading_zeros=example.number_of_leading_zeros,
        )
        if _complete(mutated):
            return region, mutated
    return region, example


def _scatter(draw: st.DrawFn, spelling: str) -> str:
    """Insert separators between digits of ``spelling`` at random places (bounded length)."""
    out: list[str] = []
    for i, char in enumerate(spelling):
        out.append(char)
        nxt = spelling[i + 1] if i + 1 < len(spelling) else ""
        if char.isdigit() and nxt.isdigit() and draw(st.integers(0, 3)) == 0:
            out.append(draw(SEPARATORS))
    return "".join(out)


@given(valid_numbers(), st.data())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_every_spelling_of_a_valid_number_is_one_e164(pair, data):
    region, number = pair
    e164 = phonenumbers.format_number(number, Fmt.E164)
    spellings = {
        "e164": e164,
        "international": phonenumbers.format_number(number, Fmt.INTERNATIONAL),
        "national": phonenumbers.format_number(number, Fmt.NATIONAL),
        "rfc3966": phonenumbers.format_number(number, Fmt.RFC3966),
    }
    for name in ("e164", "international", "national"):
        spellings[f"{name}+separators"] = _scatter(data.draw, spellings[name])
    for name, spelling in spellings.items():
        if len(spelling) > MAX_PHONE_CHARS:
            continue  # to_e164 bounds hostile input first; none of libphonenumber's is that long
        got = to_e164(spelling, region)
        assert got == e164, f"{name} spelling {spelling!r} (region {region}) gave {got!r}"
        # An international spelling does not depend on the default region.
        if name.startswith(("e164", "international", "rfc3966")):
            other = data.draw(st.sampled_from(["US", "GB", "DE", "IN", "BR", "ZZ", "us"]))
            assert to_e164(spelling, other) == e164, (name, spelling, other)


@pytest.mark.parametrize(("region", "number"), EXAMPLES[:: max(len(EXAMPLES) // 400, 1)])
def test_example_numbers_of_every_region(region, number):
    e164 = phonenumbers.format_number(number, Fmt.E164)
    assert to_e164(phonenumbers.format_number(number, Fmt.NATIONAL), region) == e164
    assert to_e164(phonenumbers.format_number(number, Fmt.INTERNATIONAL), "US") == e164


def _assert_text_is_safe(text: str, region: str) -> None:
    result = to_e164(text, region)
    assert result is None or (isinstance(result, str) and result.startswith("+")), result
    if result is not None:
        assert result[1:].isdigit(), result
        assert to_e164(result, region) == result  # idempotent
        assert to_e164(result, "US") == result  # and independent of the default region


@given(st.text(), st.sampled_from(["US", "GB", "DE", "IN", "BR", "AR", "us", "ZZ", "001", ""]))
@settings(max_examples=300)
def test_arbitrary_text_never_raises_and_is_idempotent(text, region):
    _assert_text_is_safe(text, region)


@given(
    st.lists(
        st.sampled_from(
            [
                *"0123456789+-.() /\\xXeEt#*,;",
                "\x00",
                "\n",
                "\t",
                "\r",
                "\u00a0",
                "\u2011",
                "\uff10",
                "\u0661",
                "\ud800",
                "ext",
            ]
        ),
        max_size=40,
    ).map("".join),
    st.sampled_from(["US", "GB", "DE", "IN"]),
)
@example("000000", "DE")  # E.164 "+4900000", which libphonenumber reads back as "+490000"
@settings(max_examples=300)
def test_phone_like_text_never_raises_and_is_idempotent(text, region):
    _assert_text_is_safe(text, region)


@pytest.mark.parametrize(
    "text",
    [
        "\x00",
        "+1512555\x001234",
        "\ud800",
        "+1 512 555 1234\ud800",
        "1" * 10_000_000,
        "+" + "9" * 100_000,
        "\x00" * 1_000_000,
        " " * 64,
        "(" * 64,
        "tel:",
        "tel:+1-512-555-1234;ext=99",
        "+1 512 555 1234 ext. 99",
    ],
)
def test_hostile_text(text):
    _assert_text_is_safe(text, "US")


@pytest.mark.parametrize("local", ["555-1234", "5551234", "555 1234", "555.1234"])
def test_local_only_us_number_is_not_indexable(local):
    # IS_POSSIBLE_LOCAL_ONLY: without its area code it could be anyone's number.
    assert (
        phonenumbers.is_possible_number_with_reason(phonenumbers.parse(local, "US"))
        == phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY
    )
    assert to_e164(local, "US") is None


def test_valid_local_only_number_is_refused_by_design():
    # Canada's 310-xxxx numbers are valid but local-only: documented choice, pinned here.
    number = phonenumbers.parse("310-1234", "CA")
    assert phonenumbers.is_valid_number(number)
    assert to_e164("310-1234", "CA") is None


def test_strategy_covers_many_regions():
    assert len({region for region, _ in EXAMPLES}) > 200
