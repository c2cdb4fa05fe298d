"""The audit trail leaves callvault (contract §23): ``?since``, ``?until``, ``?action`` and
``?format=jsonl`` on ``GET /audit/v1/events``, each event's ``details`` a JSON object."""

from __future__ import annotations

import json

import pytest

from helpers import call_info

pytestmark = pytest.mark.both_backends

EVENTS = "/audit/v1/events"


def _trail(live) -> list[dict]:
    """Three captures and a preview of one of them, then the whole trail."""
    with live.client(live.token("capture")) as client:
        ids = []
        for sid in ("out-1", "out-2", "out-3"):
            from helpers import post_call

            ids.append(post_call(client, call_info(sid)).json()["callId"])
    with live.client(live.token("purge")) as client:
        answer = client.post("/purge/v1/calls", params={"whatIf": "true"}, json={"ids": ids[:1]})
        assert answer.status_code == 200, answer.text
    with live.client(live.token("audit")) as client:
        events: list[dict] = client.get(EVENTS, params={"limit": 1000}).json()["events"]
    return events


def test_action_since_and_until_select_events(live):
    events = _trail(live)
    assert [e["action"] for e in events] == ["call.captured"] * 3 + ["purge.requested"]
    with live.client(live.token("audit")) as client:
        captured = client.get(EVENTS, params={"action": "call.captured"}).json()["events"]
        assert [e["seq"] for e in captured] == [1, 2, 3]
        both = client.get(
            EVENTS, params=[("action", "purge.requested"), ("action", "call.captured")]
        ).json()["events"]
        assert [e["seq"] for e in both] == [1, 2, 3, 4]
        assert client.get(EVENTS, params={"action": "hold.placed"}).json()["events"] == []

        # since inclusive, until exclusive, as ISO 8601 times with an offset.
        second, last = events[1]["at"], events[-1]["at"]
        since = client.get(EVENTS, params={"since": second}).json()["events"]
        assert since[0]["at"] >= second
        assert {e["seq"] for e in since} >= {2, 3, 4}
        until = client.get(EVENTS, params={"until": last}).json()["events"]
        assert all(e["at"] < last for e in until)
        assert client.get(EVENTS, params={"since": last, "until": last}).status_code == 400
        window = client.get(
            EVENTS, params={"since": events[0]["at"], "until": "2999-01-01T00:00:00+01:00"}
        ).json()["events"]
        assert [e["seq"] for e in window] == [1, 2, 3, 4]


def test_jsonl_streams_every_matching_event_one_object_a_line(live):
    events = _trail(live)
    with live.client(live.token("audit")) as client:
        answer = client.get(EVENTS, params={"format": "jsonl"})
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("application/jsonl")
        lines = answer.text.splitlines()
        assert [json.loads(line) for line in lines] == events
        for line in lines:
            event = json.loads(line)
            assert isinstance(event["details"], dict)
            assert set(event) == {
                "seq", "at", "actor", "action", "requestId", "callId", "sessionId",
                "details", "prevHash", "hash",
            }  # fmt: skip
        only = client.get(EVENTS, params={"format": "jsonl", "action": "purge.requested"})
        assert [json.loads(line)["seq"] for line in only.text.splitlines()] == [4]
        after = client.get(EVENTS, params={"format": "jsonl", "after": 2, "limit": 1})
        assert [json.loads(line)["seq"] for line in after.text.splitlines()] == [3]


@pytest.mark.parametrize(
    ("params", "mentions"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01T00:00:00Z"}, "until"),
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "since"),
        ({"format": "xml"}, "format"),
        ({"action": ""}, "action"),
        ({"action": "Call Captured"}, "action"),
        ({"actions": "call.captured"}, "actions"),
        ({"since": "2026-01-01T00:00:00Z", "Since": "2026-01-01T00:00:00Z"}, "since"),
        ([("format", "jsonl"), ("format", "json")], "format"),
    ],
)
def test_bad_queries_are_400_and_say_what_to_fix(live, params, mentions):
    with live.client(live.token("audit")) as client:
        answer = client.get(EVENTS, params=params)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert mentions in answer.json()["detail"]


def test_the_stream_needs_audit(live):
    with live.client(live.token("capture")) as client:
        assert client.get(EVENTS, params={"format": "jsonl"}).status_code == 403
