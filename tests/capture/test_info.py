"""The capture ``info`` document: case-insensitive keys, aliases, Tethr's time formats."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from callvault.capture.info import parse_info
from callvault.errors import BadInput


def _raw(**fields):
    import json

    base = {"SessionId": "s", "StartTime": "2024-01-01T04:23:00Z", "Contacts": [{"Type": "Agent"}]}
    base.update(fields)
    return json.dumps(base).encode()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-01T04:23:00", datetime(2024, 1, 1, 4, 23, tzinfo=UTC)),
        ("2024-01-01T04:24:00.62859Z", datetime(2024, 1, 1, 4, 24, 0, 628590, tzinfo=UTC)),
        ("2024-01-01T04:23:00.1234567Z", datetime(2024, 1, 1, 4, 23, 0, 123456, tzinfo=UTC)),
        ("2024-01-01T04:23:20.000000Z", datetime(2024, 1, 1, 4, 23, 20, tzinfo=UTC)),
        ("2024-01-01T06:23:00+02:00", datetime(2024, 1, 1, 4, 23, tzinfo=UTC)),
    ],
)
def test_time_formats(text, expected):
    assert parse_info(_raw(StartTime=text)).starttime == expected


def test_keys_any_case_and_aliases():
    import json

    raw = json.dumps(
        {
            "sessionID": "s",
            "utcStart": "2024-01-01T00:00:00Z",
            "UTCEND": "2024-01-01T00:00:00Z",
            "contacts": [{"TYPE": "customer", "PHONENUMBER": "", "firstname": "A"}],
            "Audio": {"FORMAT": "mp3"},
            "direction": "outbound",
            "metadata": None,
        }
    ).encode()
    info = parse_info(raw)
    assert info.sessionid == "s"
    assert info.endtime == info.starttime
    assert info.contacts[0].is_customer
    assert info.contacts[0].phonenumber is None
    assert info.contacts[0].firstname == "A"
    assert info.audio is not None
    assert info.audio.format == "mp3"
    assert info.direction == "Outbound"
    assert info.metadata is None


def test_errors_list_each_field():
    with pytest.raises(BadInput) as caught:
        parse_info(b'{"contacts": [{}], "direction": "Up"}')
    detail = caught.value.detail
    for field in ("sessionId", "startTime", "contacts[0].type", "direction"):
        assert field in detail


def _v2(**fields):
    import json

    base = {
        "sessionId": "s",
        "masterId": "m-1",
        "utcStart": "2024-01-01T04:23:00Z",
        "utcEnd": "2024-01-01T04:20:00Z",
        "participants": [{"type": "Customer", "email": " Jo@Example.com "}],
    }
    base.update(fields)
    return json.dumps(base).encode()


def test_v2_info_is_the_same_call_model():
    from callvault.capture.info import parse_v2_info

    info = parse_v2_info(_v2())
    assert info.mastercallid == "m-1"
    assert info.contacts[0].is_customer
    assert info.contacts[0].email == " Jo@Example.com "  # sealed as given, indexed normalized
    assert info.endtime is not None
    assert info.endtime < info.starttime  # Tethr.Sdk never sends an end after the start


def test_v1_still_refuses_an_end_before_the_start():
    with pytest.raises(BadInput, match="endTime is before startTime"):
        parse_info(_raw(EndTime="2024-01-01T04:00:00Z"))


@pytest.mark.parametrize("email", ["nope", "a@@b.example", "x@exam ple.com", "jane@"])
def test_a_bad_v2_email_names_its_field_not_its_value(email):
    from callvault.capture.info import parse_v2_info

    with pytest.raises(BadInput) as caught:
        parse_v2_info(_v2(participants=[{"type": "Customer", "email": email}]))
    assert "participants[0].email is not an e-mail address" in str(caught.value)
    assert email not in str(caught.value)


def test_a_v2_problem_names_v2_fields():
    from callvault.capture.info import parse_v2_info

    with pytest.raises(BadInput) as caught:
        parse_v2_info(_v2(utcStart=None, participants=[]))
    assert "utcStart" in str(caught.value)
    assert "participants" in str(caught.value)
