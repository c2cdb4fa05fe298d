"""No call escapes retention by its date (contract §15; issue 32, item 9): a capture whose v1
``startTime`` or v2 ``utcStart`` is more than 24 hours ahead of the server's clock is a 400 naming
the field, and nothing is stored; up to 24 hours ahead (recorders' clocks drift, time zones get
mislabelled) is accepted."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from helpers import call_info, post_call, post_v2_call, v2_customer_info

pytestmark = pytest.mark.both_backends

DAY = timedelta(hours=24)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _v1(client, start: str, key: str = "startTime"):
    session_id = f"f-{uuid.uuid4()}"
    info = call_info(session_id, endTime=None)
    del info["startTime"]
    info[key] = start
    return session_id, post_call(client, info)


def _v2(client, start: str):
    session_id = f"f-{uuid.uuid4()}"
    return session_id, post_v2_call(client, v2_customer_info(session_id, utcStart=start))


def _stored_nothing(client, session_id: str) -> None:
    status = client.get(f"/callCapture/v1/status/{session_id}").json()
    assert status == {"sessionId": session_id, "status": "NotFound"}


@pytest.mark.parametrize(
    "start",
    [
        "9999-12-31T23:59:59Z",
        "2999-01-01T00:00:00+14:00",
        "FUTURE+1m",
        "FUTURE+3d",
    ],
)
def test_a_start_more_than_24_hours_ahead_is_a_400_naming_the_field(live, start):
    if start.startswith("FUTURE"):
        ahead = {"1m": timedelta(minutes=1), "3d": timedelta(days=3)}[start.split("+")[1]]
        start = _iso(datetime.now(UTC) + DAY + ahead)
    with live.client(live.token("capture")) as client:
        for capture, field in ((_v1, "startTime"), (_v2, "utcStart")):
            session_id, answer = capture(client, start)
            assert answer.status_code == 400, answer.text
            detail = answer.json()["detail"]
            assert f"info.{field}" in detail, detail
            assert "24 hours" in detail, detail
            _stored_nothing(client, session_id)
        session_id, answer = _v1(client, start, key="utcStart")  # v1's alias of startTime
        assert answer.status_code == 400, answer.text
        assert "24 hours" in answer.json()["detail"]
        _stored_nothing(client, session_id)


def test_a_start_within_24_hours_ahead_is_accepted(live):
    with live.client(live.token("capture", "read")) as client:
        for ahead in (timedelta(0), timedelta(hours=23), DAY - timedelta(minutes=1)):
            start = datetime.now(UTC) + ahead
            for capture in (_v1, _v2):
                _, answer = capture(client, _iso(start))
                assert answer.status_code == 200, (ahead, answer.text)
                call_id = answer.json().get("callId") or answer.json()["id"]
                read = client.get(f"/calls/v1/{call_id}").json()["startTime"]
                assert read.startswith(_iso(start)[:19])
        # The instant counts, not its wall-clock reading: 20 hours ahead written at +14:00 reads
        # 34 hours ahead and is accepted; 30 hours ahead written at -12:00 reads 18 and is not.
        east, west = timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))
        ahead = (datetime.now(UTC) + timedelta(hours=20)).astimezone(east).isoformat()
        _, answer = _v1(client, ahead)
        assert answer.status_code == 200, answer.text
        behind = (datetime.now(UTC) + timedelta(hours=30)).astimezone(west).isoformat()
        _, answer = _v1(client, behind)
        assert answer.status_code == 400, answer.text
