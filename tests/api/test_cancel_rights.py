"""Who may cancel a purge in its grace window (contract §13), over real HTTP: the requester (with
`purge`), any `retention` user for a `retention` request, `admin` for any; anyone else 403 and
nothing changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from helpers import call_info, post_call

pytestmark = pytest.mark.settings(purge_grace_seconds=3600)


def capture(live, token, session_id, days_ago: float = 1) -> str:
    start = (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with live.client(token) as client:
        answer = post_call(client, call_info(session_id, startTime=start, endTime=None))
    assert answer.status_code == 200, answer.text
    call_id: str = answer.json()["callId"]
    return call_id


def purge(live, token, session_id) -> str:
    with live.client(token) as client:
        answer = client.post("/purge/v1/calls/sessions", json={"ids": [session_id]})
    assert answer.status_code == 200, answer.text
    request_id: str = answer.json()["requestId"]
    return request_id


def cancel(live, token, request_id):
    with live.client(token) as client:
        return client.post(f"/purge/v1/requests/{request_id}/cancel")


def state_of(live, request_id) -> tuple[str, list[str]]:
    with live.client(live.token("audit")) as client:
        doc = client.get(f"/purge/v1/requests/{request_id}").json()
    return doc["state"], [i["status"] for i in doc["items"]]


def cancelled_events(live) -> list[dict]:
    with live.client(live.token("audit")) as client:
        events = client.get("/audit/v1/events", params={"limit": 1000}).json()["events"]
    return [e for e in events if e["action"] == "purge.cancelled"]


def assert_refused(answer) -> None:
    assert answer.status_code == 403, answer.text
    detail = answer.json()["detail"]
    # The problem says who may cancel.
    assert "requested" in detail
    assert "admin" in detail


@pytest.fixture
def capturer(live) -> str:
    return live.token("capture")


def test_only_the_requester_or_admin_cancels_a_purge(live, capturer):
    live.app_state.workers.close()
    call_id = capture(live, capturer, "a-1")
    capture(live, capturer, "a-2")
    alice, bob, admin = live.token("purge"), live.token("purge"), live.token("admin")
    mine = purge(live, alice, "a-1")

    # Another purge user, a retention user (not a retention request), an audit user: 403.
    assert_refused(cancel(live, bob, mine))
    assert_refused(cancel(live, live.token("retention"), mine))
    assert cancel(live, live.token("audit"), mine).status_code == 403
    assert cancel(live, live.token("capture", "read", "hold"), mine).status_code == 403
    # Nothing changed: still waiting for its window, the call still hidden, nothing audited.
    assert state_of(live, mine) == ("Purging", ["Purging"])
    with live.client(live.token("read")) as client:
        assert client.get(f"/calls/v1/{call_id}").status_code == 404
    assert cancelled_events(live) == []

    # The requester cancels its own.
    answer = cancel(live, alice, mine)
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "Cancelled"
    with live.client(live.token("read")) as client:
        assert client.get(f"/calls/v1/{call_id}").status_code == 200

    # admin cancels anyone's.
    bobs = purge(live, bob, "a-2")
    answer = cancel(live, admin, bobs)
    assert answer.status_code == 200, answer.text
    assert state_of(live, bobs) == ("Cancelled", ["Cancelled"])
    assert [e["requestId"] for e in cancelled_events(live)] == [mine, bobs]


def test_a_retention_request_is_cancelled_by_retention_users_only(live, capturer):
    live.app_state.workers.close()
    call_id = capture(live, capturer, "old-1", days_ago=100)
    with live.client(live.token("retention")) as client:
        saved = client.put("/retention/v1/policies/ninety", json={"maxAgeDays": 90})
        assert saved.status_code == 200, saved.text
    (request_id,) = live.app_state.retention_service.sweep().request_ids
    assert state_of(live, request_id) == ("Purging", ["Purging"])

    # `purge` alone, however many purge users: 403, nothing changes.
    assert_refused(cancel(live, live.token("purge"), request_id))
    assert_refused(cancel(live, live.token("purge", "audit", "hold"), request_id))
    assert state_of(live, request_id) == ("Purging", ["Purging"])
    assert cancelled_events(live) == []

    # Any retention user, not only the one who saved the policy, and without `purge`.
    answer = cancel(live, live.token("retention"), request_id)
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "Cancelled"
    with live.client(live.token("read")) as client:
        assert client.get(f"/calls/v1/{call_id}").status_code == 200
    (event,) = cancelled_events(live)
    assert event["requestId"] == request_id


def test_admin_cancels_a_retention_request(live, capturer):
    live.app_state.workers.close()
    capture(live, capturer, "old-2", days_ago=100)
    with live.client(live.token("retention")) as client:
        assert client.put("/retention/v1/policies/ninety", json={"maxAgeDays": 90}).is_success
    (request_id,) = live.app_state.retention_service.sweep().request_ids
    assert cancel(live, live.token("admin"), request_id).status_code == 200
    assert state_of(live, request_id) == ("Cancelled", ["Cancelled"])


def test_an_unknown_request_is_404_for_whoever_may_cancel_some(live):
    for permission in ("purge", "retention"):
        assert cancel(live, live.token(permission), "nope").status_code == 404
