"""Byte-for-byte compatibility with Tethr's v2 SDK, ``Tethr.Sdk`` (contract §16, §10).

Every request is framed by hand on a real socket exactly as Tethr.Sdk frames it: the facts, with
the SDK source files they come from, are listed in ``tests/tethr_clients.py`` (quoted GUID
boundary, unquoted part names, ``application/json`` without charset, ``\\u002B`` and ``\\uXXXX``
escapes, camelCase, nulls left out, ``utcEnd`` never after ``utcStart``). Answers are read as the
SDK reads them: 2xx, media type ``application/json`` (callvault sends it with ``charset=utf-8``,
which the v1 C++ client needs), case-sensitive camelCase keys, statuses of its enums only.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from api.test_tethr_wire import (
    RawResponse,
    assert_problem,
    assert_tethr_json,
    build_request,
    details,
    raw_capture,
    raw_get,
    send_raw,
    wait_for_complete,
)
from helpers import call_info, wav_bytes
from tethr_clients import (
    V2_PURGE_STATUSES,
    V2_SESSION_STATUSES,
    V2_USER_AGENT,
    assert_tethr_clients_read,
    dotnet_json,
    dotnet_multipart,
)

V2_STATUS_KEYS = {"status", "id", "sessionId", "durationSec"}
V2_ITEM_KEYS = {"id", "sessionId", "status", "errorMsg"}


def sdk_headers(token: str) -> list[tuple[str, str]]:
    return [("Authorization", f"Bearer {token}"), ("User-Agent", V2_USER_AGENT)]


def sdk_post(port: int, path: str, token: str, document: Any) -> RawResponse:
    """``TethrSession.PostAsync``: the body as System.Text.Json writes it, plain
    ``application/json``."""
    body = dotnet_json(document)
    headers = [
        *sdk_headers(token),
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
    ]
    return send_raw(port, build_request("POST", path, headers, body))


def sdk_post_empty(port: int, path: str, token: str) -> RawResponse:
    """``TethrSession.PostAsync(path)``: a POST without content (HttpClient sends length 0)."""
    headers = [*sdk_headers(token), ("Content-Length", "0")]
    return send_raw(port, build_request("POST", path, headers))


def sdk_get(port: int, path: str, token: str) -> RawResponse:
    return send_raw(port, build_request("GET", path, sdk_headers(token)), "GET")


def v2_info(session_id: str, **overrides: Any) -> dict[str, Any]:
    """A CaptureCallRequest in the SDK's property order (nulls are left out when written)."""
    info: dict[str, Any] = {
        "sessionId": session_id,
        "masterId": f"master-{session_id}",
        "caseReferenceId": None,
        "collectionId": None,
        "utcStart": "2024-01-01T04:24:00.62859Z",
        "utcEnd": "2024-01-01T04:23:00Z",
        "participants": [
            {"referenceId": "agent-7", "firstName": "Alice", "channel": 0, "type": "Agent"},
            {
                "firstName": "Zoë",
                "lastName": "O'Brien",
                "channel": 1,
                "phoneNumber": "+1 512 555 0142",
                "email": "Zoe.OBrien+calls@Example.COM",
                "type": "Customer",
            },
        ],
        "direction": "Inbound",
        "numberDialed": "+18005550100",
        "audio": {"format": "wav"},
        "metadata": {"ticket": "T-<1>&2"},
    }
    info.update(overrides)
    return info


def sdk_upload(
    port: int, token: str, info: dict[str, Any], audio: bytes, media: str = "audio/wav"
) -> RawResponse:
    """``TethrCapture.UploadAsync`` as the SDK frames it."""
    boundary = str(uuid.uuid4())
    body = dotnet_multipart(boundary, dotnet_json(info), audio, media)
    headers = [
        *sdk_headers(token),
        ("Content-Type", f'multipart/form-data; boundary="{boundary}"'),
        ("Content-Length", str(len(body))),
    ]
    return send_raw(port, build_request("POST", "/capture/v2/call", headers, body))


def v2_capture(live: Any, token: str, info: dict[str, Any], audio: bytes | None = None) -> str:
    doc = assert_tethr_json(sdk_upload(live.port, token, info, audio or wav_bytes()))
    assert set(doc) == {"id"}, doc
    assert isinstance(doc["id"], str)
    assert doc["id"]
    call_id: str = doc["id"]
    return call_id


def assert_v2_status(item: dict[str, Any]) -> None:
    """What SessionStatus deserialization needs, and the no-null rule of every Tethr answer."""
    assert set(item) <= V2_STATUS_KEYS, item
    assert item["status"] in V2_SESSION_STATUSES, item
    assert isinstance(item["sessionId"], str)
    assert_tethr_clients_read({"callId": item.get("id"), **item} if "id" in item else item)


def assert_v2_purge(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """What InteractionPurgeSummary deserialization needs: items of the four keys, SDK statuses."""
    assert isinstance(doc["items"], list)
    for item in doc["items"]:
        assert set(item) == V2_ITEM_KEYS, item
        assert item["status"] in V2_PURGE_STATUSES, item
    items: list[dict[str, Any]] = doc["items"]
    return items


def new_session() -> str:
    return f"v2-{uuid.uuid4()}"


# --------------------------------------------------------------------------- capture


def test_the_sdk_bytes_are_what_its_own_tests_verified():
    """The encoder above reproduces Tethr.Sdk.Tests/TethrCaptureTests.RecordingInfoJson.verified
    .bin byte for byte, so the other tests send what the SDK sends."""
    info = {
        "sessionId": "Test",
        "masterId": None,
        "utcStart": "2024-01-01T04:23:00Z",
        "utcEnd": "2024-01-01T04:23:00Z",
        "participants": [],
        "direction": "Unknown",
        "numberDialed": None,
        "audio": {"format": None},
        "metadata": {"isTest": True},
    }
    assert dotnet_json(info) == (
        b'{"sessionId":"Test","utcStart":"2024-01-01T04:23:00Z","utcEnd":"2024-01-01T04:23:00Z",'
        b'"participants":[],"direction":"Unknown","audio":{},"metadata":{"isTest":true}}'
    )
    escaped = dotnet_json(v2_info("s"))
    assert b"\\u002B1 512 555 0142" in escaped
    assert b"Zo\\u00EB" in escaped
    assert b"O\\u0027Brien" in escaped
    assert b"+" not in escaped


def test_capture_framed_like_the_sdk_reads_back(live):
    token = live.token("capture", "read")
    session_id = new_session()
    audio = wav_bytes(1.0, marker=b"sdk-v2")
    call_id = v2_capture(live, token, v2_info(session_id), audio)
    doc = details(live, token, call_id)
    assert doc["sessionId"] == session_id
    assert doc["masterCallId"] == f"master-{session_id}"
    assert doc["startTime"].startswith("2024-01-01T04:24:00.62859")
    assert doc["endTime"].startswith("2024-01-01T04:23:00")
    assert doc["direction"] == "Inbound"
    assert doc["numberDialed"] == "+18005550100"
    assert doc["metadata"] == {"ticket": "T-<1>&2"}
    assert doc["audioFormat"] == "wav"
    customer = doc["contacts"][1]
    assert customer["firstName"] == "Zoë"
    assert customer["lastName"] == "O'Brien"
    assert customer["phoneNumber"] == "+1 512 555 0142"
    assert customer["phoneE164"] == "+15125550142"
    assert customer["email"] == "Zoe.OBrien+calls@Example.COM"
    assert "email" not in doc["contacts"][0]  # absent where there is none, as in v1 reads
    with live.client(token) as client:
        assert client.get(f"/calls/v1/{call_id}/audio").content == audio


@pytest.mark.parametrize(
    "end",
    ["2024-01-01T04:24:00.62859Z", "2024-01-01T04:00:00Z", None],
    ids=["equal", "before-start", "absent"],
)
def test_utc_end_is_never_after_utc_start_and_is_accepted(live, end):
    token = live.token("capture", "read")
    call_id = v2_capture(live, token, v2_info(new_session(), utcEnd=end))
    read = details(live, token, call_id)["endTime"]
    assert (read is None) if end is None else read.startswith(end[:19])


def test_capture_format_from_media_type_and_empty_audio(live):
    token = live.token("capture", "read")
    info = v2_info(new_session(), audio={"format": None})
    doc = assert_tethr_json(sdk_upload(live.port, token, info, wav_bytes(), "audio/x-wav"))
    assert details(live, token, doc["id"])["audioFormat"] == "wav"


@pytest.mark.parametrize(
    "email",
    [
        "not-an-address",
        "two@@example.com",
        "jane@ex ample.com",
        "jane@",
        "@example.com",
        "j@ex_ample",
    ],
)
def test_a_bad_email_is_a_400_and_stores_nothing(live, email):
    token = live.token("capture")
    session_id = new_session()
    participants = [{"channel": 1, "email": email, "type": "Customer"}]
    answer = sdk_upload(live.port, token, v2_info(session_id, participants=participants), b"x")
    problem = assert_problem(answer, 400)
    assert "email" in problem["detail"]
    assert email not in problem["detail"]
    doc = assert_tethr_json(sdk_get(live.port, f"/capture/v2/status/{session_id}", token))
    assert doc == {"sessionId": session_id, "status": "NotFound"}


def test_duplicate_live_session_is_409_across_apis(live):
    token = live.token("capture")
    session_id = new_session()
    raw_capture(live, token, call_info(session_id))
    assert_problem(sdk_upload(live.port, token, v2_info(session_id), wav_bytes()), 409)


# --------------------------------------------------------------------------- status, exclude


def test_status_one_and_many_over_raw_socket(live):
    token = live.token("capture")
    session_id = new_session()
    call_id = v2_capture(live, token, v2_info(session_id), wav_bytes(2.0))
    wait_for_complete(live.port, token, session_id)
    one = assert_tethr_json(sdk_get(live.port, f"/capture/v2/status/{session_id}", token))
    assert one == {"status": "Complete", "id": call_id, "sessionId": session_id, "durationSec": 2}
    assert_v2_status(one)
    unknown = new_session()
    many = assert_tethr_json(
        sdk_post(live.port, "/capture/v2/status", token, {"sessionIds": [unknown, session_id]})
    )
    assert set(many) == {"sessions"}
    assert many["sessions"] == [{"status": "NotFound", "sessionId": unknown}, one]
    for item in many["sessions"]:
        assert_v2_status(item)
    none = sdk_post(live.port, "/capture/v2/status", token, {"sessionIds": []})
    assert assert_tethr_json(none) == {"sessions": []}


def test_a_v1_capture_has_a_v2_status(live):
    token = live.token("capture")
    session_id = new_session()
    call_id = raw_capture(live, token, call_info(session_id))
    one = assert_tethr_json(sdk_get(live.port, f"/capture/v2/status/{session_id}", token))
    assert one["id"] == call_id
    assert one["status"] in ("Concluded", "Complete")


def test_exclude_bulk_and_one_without_body(live):
    token = live.token("capture")
    first, second = new_session(), new_session()
    for sid in (first, second):
        v2_capture(live, token, v2_info(sid))
    bulk = sdk_post(live.port, "/capture/v2/status/exclude", token, {"sessionIds": [first, "no"]})
    assert_tethr_json(bulk)
    assert_tethr_json(sdk_post_empty(live.port, f"/capture/v2/status/exclude/{second}", token))
    assert_tethr_json(sdk_post_empty(live.port, "/capture/v2/status/exclude/unknown-1", token))
    many = assert_tethr_json(
        sdk_post(live.port, "/capture/v2/status", token, {"sessionIds": [first, second]})
    )
    assert [s["status"] for s in many["sessions"]] == ["Excluded", "Excluded"]


def test_status_needs_a_list_of_at_most_100(live):
    token = live.token("capture")
    too_many = [f"s{i}" for i in range(101)]
    assert_problem(sdk_post(live.port, "/capture/v2/status", token, {"sessionIds": too_many}), 400)
    assert_problem(sdk_post(live.port, "/capture/v2/status", token, {"sessionIds": "x"}), 400)


# --------------------------------------------------------------------------- purge


def wait_erased(live: Any, request_id: str) -> dict[str, Any]:
    with live.client(live.token("purge")) as client:
        deadline = time.monotonic() + 30
        while True:
            doc: dict[str, Any] = client.get(f"/purge/v1/requests/{request_id}").json()
            if doc["state"] != "Purging":
                return doc
            assert time.monotonic() < deadline, "purge never finished"
            time.sleep(0.05)


@pytest.mark.parametrize("kind", ["ids", "sessions"])
def test_purge_by_ids_and_sessions_over_raw_socket(live, kind):
    capture_token, purge_token = live.token("capture"), live.token("purge")
    session_id = new_session()
    call_id = v2_capture(live, capture_token, v2_info(session_id))
    wait_for_complete(live.port, capture_token, session_id)
    path = "/interactions/v2/purge" + ("/sessions" if kind == "sessions" else "")
    asked, unknown = (call_id, "no-such-call") if kind == "ids" else (session_id, "no-such-sess")
    body = {"ids": [asked, unknown], "allowIncompleteInteraction": False}
    answer = sdk_post(live.port, path, purge_token, body)
    doc = assert_tethr_json(answer)
    items = assert_v2_purge(doc)
    assert items[0] == {
        "id": call_id,
        "sessionId": session_id,
        "status": "Purging",
        "errorMsg": None,
    }
    missing = (
        {"id": unknown, "sessionId": None} if kind == "ids" else {"id": None, "sessionId": unknown}
    )
    assert items[1] == {**missing, "status": "NotFound", "errorMsg": None}
    assert answer.header("location") == f"/purge/v1/requests/{doc['requestId']}"
    request = wait_erased(live, doc["requestId"])
    assert request["kind"] == ("calls" if kind == "ids" else "sessions")
    assert request["items"][0]["status"] == "Purged"
    gone = assert_tethr_json(sdk_get(live.port, f"/capture/v2/status/{session_id}", capture_token))
    assert gone == {"status": "NotFound", "sessionId": session_id}


def test_customer_purge_what_if_then_purge_with_phones_and_emails(live):
    capture_token, purge_token = live.token("capture"), live.token("purge")
    by_phone, by_email, other = new_session(), new_session(), new_session()
    phone_only = [{"channel": 1, "phoneNumber": "+1 (512) 555-0177", "type": "Customer"}]
    email_only = [{"channel": 1, "email": " Pat+vip@Example.com ", "type": "Customer"}]
    stranger = [{"channel": 1, "email": "pat@example.com", "type": "Customer"}]
    ids = {
        by_phone: v2_capture(live, capture_token, v2_info(by_phone, participants=phone_only)),
        by_email: v2_capture(live, capture_token, v2_info(by_email, participants=email_only)),
        other: v2_capture(live, capture_token, v2_info(other, participants=stranger)),
    }
    for sid in ids:
        wait_for_complete(live.port, capture_token, sid)
    body = {
        "allowIncompleteInteraction": False,
        "phoneNumbers": ["+15125550177"],
        "emails": ["pat+VIP@example.COM"],
    }
    preview = assert_tethr_json(
        sdk_post(live.port, "/interactions/v2/purge/customer?whatIf=true", purge_token, body)
    )
    items = assert_v2_purge(preview)
    assert {(i["id"], i["status"]) for i in items} == {
        (ids[by_phone], "WhatIf"),
        (ids[by_email], "WhatIf"),
    }
    answer = sdk_post(live.port, "/interactions/v2/purge/customer", purge_token, body)
    doc = assert_tethr_json(answer)
    assert [i["status"] for i in assert_v2_purge(doc)] == ["Purging", "Purging"]
    assert wait_erased(live, doc["requestId"])["kind"] == "customer"
    left = assert_tethr_json(
        sdk_post(live.port, "/capture/v2/status", capture_token, {"sessionIds": list(ids)})
    )
    assert [s["status"] for s in left["sessions"]] == ["NotFound", "NotFound", "Complete"]


def test_customer_purge_of_no_match_is_empty(live):
    body = {"allowIncompleteInteraction": True, "emails": ["nobody@example.org"]}
    doc = assert_tethr_json(
        sdk_post(live.port, "/interactions/v2/purge/customer", live.token("purge"), body)
    )
    assert doc["items"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"allowIncompleteInteraction": False},
        {"allowIncompleteInteraction": False, "phoneNumbers": [], "emails": []},
        {"allowIncompleteInteraction": False, "emails": ["not an address"]},
        {"allowIncompleteInteraction": False, "phoneNumbers": ["12"]},
        {"allowIncompleteInteraction": False, "emails": [7]},
        {"allowIncompleteInteraction": "yes", "emails": ["a@example.com"]},
    ],
    ids=["nothing", "empty-lists", "bad-email", "bad-phone", "not-a-string", "not-a-bool"],
)
def test_bad_customer_purge_is_a_400(live, body):
    answer = sdk_post(live.port, "/interactions/v2/purge/customer", live.token("purge"), body)
    assert_problem(answer, 400)


def test_purge_needs_the_purge_permission(live):
    body = {"ids": ["x"], "allowIncompleteInteraction": False}
    assert sdk_post(live.port, "/interactions/v2/purge", live.token("capture"), body).status == 403
    assert sdk_post(live.port, "/interactions/v2/purge", "bogus", body).status == 401


def test_the_v2_heartbeat_is_recorded_like_v1s(live):
    """``TethrCapture.UploadAsync(CaptureStatusHeartbeatRequest)`` posts to
    ``/capture/v2/status/monitor``: camelCase, the status as its enum's name (.NET 8's string
    enum converter), a DateTimeOffset, and ``name`` left out when null."""
    token = live.token("capture")
    named = {
        "status": "Warning",
        "timeStamp": "2026-12-07T08:00:00.1234567+00:00",
        "name": "broker-7",
        "softwareVersion": "2.1.0",
    }
    answer = sdk_post(live.port, "/capture/v2/status/monitor", token, named)
    assert answer.status == 200, answer.body
    assert_tethr_json(answer)
    unnamed = {"status": "Healthy", "timeStamp": "2026-12-07T08:00:01+00:00"}
    assert sdk_post(live.port, "/capture/v2/status/monitor", token, unnamed).status == 200
    listed = assert_tethr_json(raw_get(live.port, "/callCapture/v1/monitor", live.token("admin")))
    by_name = {item["name"]: item for item in listed}
    assert by_name["broker-7"]["status"] == "Warning"
    assert by_name["broker-7"]["softwareVersion"] == "2.1.0"
    # A broker that sends no name is its API user's one broker (the SDK's own remark).
    assert [item["status"] for name, item in by_name.items() if name != "broker-7"] == ["Healthy"]


@pytest.mark.parametrize("status", ["Sleepy", 7, None])
def test_a_bad_v2_heartbeat_is_a_400(live, status):
    body = {"status": status, "name": "broker-8"}
    assert_problem(
        sdk_post(live.port, "/capture/v2/status/monitor", live.token("capture"), body), 400
    )
