"""Call status and exclusion (§4)."""

from __future__ import annotations

import time

import pytest

from helpers import call_info, wav_bytes

pytestmark = pytest.mark.both_backends


def _wait_complete(client, session_id: str, deadline: float = 20) -> dict:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        doc = client.get(f"/callCapture/v1/status/{session_id}").json()
        if doc["status"] == "Complete":
            return doc
        time.sleep(0.05)
    raise AssertionError(f"{session_id} never became Complete")


def test_status_in_order_with_not_found_for_unknown(live, capture):
    with live.client(live.token("capture")) as client:
        ids = [capture(client, call_info(s), wav_bytes(3)).json()["callId"] for s in ("a", "b")]
        _wait_complete(client, "a")
        _wait_complete(client, "b")
        answer = client.post("/callCapture/v1/status", json={"CallSessionIds": ["b", "nope", "a"]})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert answer.json() == {
        "callSessions": [
            {"callId": ids[1], "sessionId": "b", "status": "Complete", "durationSec": 3},
            {"sessionId": "nope", "status": "NotFound"},
            {"callId": ids[0], "sessionId": "a", "status": "Complete", "durationSec": 3},
        ]
    }


def test_status_key_is_case_insensitive(live):
    with live.client(live.token("capture")) as client:
        for key in ("callSessionIds", "CALLSESSIONIDS", "CallSessionIds"):
            answer = client.post("/callCapture/v1/status", json={key: ["x"]})
            assert answer.json()["callSessions"][0]["status"] == "NotFound"


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ({"CallSessionIds": [f"s{i}" for i in range(101)]}, "100"),
        ({"CallSessionIds": "s1"}, "list"),
        ({"CallSessionIds": [1, 2]}, "string"),
        ({}, "CallSessionIds"),
        ([], "object"),
    ],
)
def test_bad_status_bodies_are_400(live, body, mentions):
    with live.client(live.token("capture")) as client:
        answer = client.post("/callCapture/v1/status", json=body)
    assert answer.status_code == 400, answer.text
    # A Tethr endpoint; httpx's Accept */* names no problem+json: Tethr JSON (contract §8).
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert mentions in answer.json()["detail"]


def test_non_json_status_body_is_400(live):
    with live.client(live.token("capture")) as client:
        answer = client.post(
            "/callCapture/v1/status",
            content=b"{nope",
            headers={"Content-Type": "application/json"},
        )
    assert answer.status_code == 400
    assert "JSON" in answer.json()["detail"]


def test_huge_json_body_is_413(live):
    with live.client(live.token("capture")) as client:
        answer = client.post(
            "/callCapture/v1/status",
            content=b'{"CallSessionIds": ["' + b"x" * 2_000_000 + b'"]}',
            headers={"Content-Type": "application/json"},
        )
    assert answer.status_code == 413
    # A Tethr endpoint; httpx's Accept */* names no problem+json: Tethr JSON (contract §8).
    assert answer.headers["content-type"] == "application/json; charset=utf-8"


def test_exclude_marks_live_calls_and_ignores_unknown(live, capture):
    with live.client(live.token("capture")) as client:
        capture(client, call_info("ex-1"))
        capture(client, call_info("ex-2"))
        answer = client.post(
            "/callCapture/v1/status/exclude", json={"CallSessionIds": ["ex-1", "ghost"]}
        )
        assert answer.status_code == 200
        statuses = client.post(
            "/callCapture/v1/status", json={"CallSessionIds": ["ex-1", "ex-2", "ghost"]}
        ).json()["callSessions"]
    assert statuses[0]["status"] == "Excluded"
    assert statuses[1]["status"] in ("Concluded", "Complete")
    assert statuses[2]["status"] == "NotFound"
