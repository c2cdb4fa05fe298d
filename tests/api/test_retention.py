"""Retention policies (contract §15) over real HTTP: the wire, permissions, bad input."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from helpers import call_info, post_call

POLICY = "/retention/v1/policies"
FORECAST = "/retention/v1/forecast"


@pytest.fixture
def tokens(live) -> dict[str, str]:
    return {p: live.token(p) for p in ("capture", "purge", "retention", "audit", "admin")}


def _iso_days_ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _capture(live, token, session_id, days_ago, direction="Inbound") -> str:
    info = call_info(session_id, startTime=_iso_days_ago(days_ago), endTime=None)
    info["direction"] = direction
    with live.client(token) as client:
        answer = post_call(client, info)
    assert answer.status_code == 200, answer.text
    call_id: str = answer.json()["callId"]
    return call_id


def test_put_list_delete_over_http(live, tokens):
    _capture(live, tokens["capture"], "old", 100)
    with live.client(tokens["retention"]) as client:
        answer = client.put(f"{POLICY}/pci-90d", json={"maxAgeDays": 90, "direction": None})
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("application/json")
        body = answer.json()
        assert set(body) == {
            "name",
            "maxAgeDays",
            "direction",
            "updatedBy",
            "updatedAt",
            "expiredNow",
            "heldNow",
        }
        assert body["name"] == "pci-90d"
        assert body["maxAgeDays"] == 90
        assert body["direction"] is None
        assert body["expiredNow"] == 1
        assert (
            client.put(f"{POLICY}/out", json={"maxAgeDays": 7, "direction": "Outbound"}).json()[
                "direction"
            ]
            == "Outbound"
        )
        # direction may be left out: every direction
        assert client.put(f"{POLICY}/all", json={"maxAgeDays": 365}).json()["direction"] is None
        listed = client.get(POLICY)
        assert listed.status_code == 200
        assert [p["name"] for p in listed.json()["policies"]] == ["all", "out", "pci-90d"]
        deleted = client.delete(f"{POLICY}/out")
        assert deleted.status_code == 204
        assert deleted.content == b""
        again = client.delete(f"{POLICY}/out")
        assert again.status_code == 404
        assert again.headers["content-type"].startswith("application/problem+json")
        assert [p["name"] for p in client.get(POLICY).json()["policies"]] == ["all", "pci-90d"]


def test_what_if_answers_the_same_and_saves_nothing(live, tokens):
    _capture(live, tokens["capture"], "old", 40)
    _capture(live, tokens["capture"], "young", 10)
    with live.client(tokens["retention"]) as client:
        preview = client.put(f"{POLICY}/thirty", params={"whatIf": "true"}, json={"maxAgeDays": 30})
        assert preview.status_code == 200, preview.text
        assert preview.json()["expiredNow"] == 1
        assert client.get(POLICY).json() == {"policies": []}
        real = client.put(f"{POLICY}/thirty", json={"maxAgeDays": 30})
        assert real.json()["expiredNow"] == preview.json()["expiredNow"]


DOUBTFUL_WHAT_IFS = [
    {"whatIf": "yes"},
    {"whatIf": ""},
    {"what_if": "true"},
    {"whatIf[]": "true"},
    [("whatIf", "true"), ("whatIf", "true")],
]

BAD_PUTS = [
    ("ok", {"maxAgeDays": 0}),
    ("ok", {"maxAgeDays": 36501}),
    ("ok", {"maxAgeDays": "30"}),
    ("ok", {"maxAgeDays": 30.5}),
    ("ok", {"maxAgeDays": True}),
    ("ok", {}),
    ("ok", {"maxAgeDays": 30, "direction": "Sideways"}),
    ("ok", {"maxAgeDays": 30, "direction": ""}),
    ("ok", {"maxAgeDays": 30, "directoin": "Inbound"}),  # a misspelt key would widen it
    ("ok", {"maxAgeDays": 30, "whatIf": True}),
    ("ok", {"maxAgeDays": 30, "MAXAGEDAYS": 31}),
    ("ok", [30]),
    ("bad.name", {"maxAgeDays": 30}),
    ("bad%20name", {"maxAgeDays": 30}),
    ("a" * 65, {"maxAgeDays": 30}),
]


def test_a_doubtful_what_if_or_bad_input_is_a_clear_400_and_changes_nothing(live, tokens):
    # One server for every case (a server per case would cost a second each).
    with live.client(tokens["retention"]) as client:
        for query in DOUBTFUL_WHAT_IFS:
            answer = client.put(f"{POLICY}/thirty", params=query, json={"maxAgeDays": 30})
            assert answer.status_code == 400, (query, answer.text)
        for name, body in BAD_PUTS:
            answer = client.put(f"{POLICY}/{name}", json=body)
            assert answer.status_code == 400, (name, body, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert answer.json()["detail"]
        assert client.get(POLICY).json() == {"policies": []}
        assert client.delete(f"{POLICY}/bad.name").status_code == 400


def test_a_body_that_is_not_json_is_a_400(live, tokens):
    with live.client(tokens["retention"]) as client:
        answer = client.put(
            f"{POLICY}/ok", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert answer.status_code == 400
        wrong_type = client.put(
            f"{POLICY}/ok", content=b"maxAgeDays=3", headers={"content-type": "text/plain"}
        )
        assert wrong_type.status_code == 415


def test_permissions(live, tokens):
    body = {"maxAgeDays": 30}
    with live.client() as anonymous:
        assert anonymous.get(POLICY).status_code == 401
        assert anonymous.put(f"{POLICY}/x", json=body).status_code == 401
        assert anonymous.get(FORECAST).status_code == 401
    for who in ("capture", "purge", "audit"):
        with live.client(tokens[who]) as client:
            assert client.put(f"{POLICY}/x", json=body).status_code == 403, who
            assert client.delete(f"{POLICY}/x").status_code == 403, who
    for who in ("capture", "purge"):
        with live.client(tokens[who]) as client:
            assert client.get(POLICY).status_code == 403, who
            assert client.get(FORECAST).status_code == 403, who
    with live.client(tokens["admin"]) as client:
        assert client.put(f"{POLICY}/x", json=body).status_code == 200
    for who in ("retention", "audit", "admin"):
        with live.client(tokens[who]) as client:
            assert client.get(POLICY).status_code == 200, who
            assert client.get(FORECAST).status_code == 200, who


def test_forecast_over_http(live, tokens):
    _capture(live, tokens["capture"], "soon", 28)
    _capture(live, tokens["capture"], "due", 31)
    today = datetime.now(UTC).date()
    with live.client(tokens["retention"]) as client:
        client.put(f"{POLICY}/thirty", json={"maxAgeDays": 30})
        default = client.get(FORECAST).json()
        assert set(default) == {"days", "overdue", "held"}
        assert len(default["days"]) == 30
        assert default["days"][0] == {"date": today.isoformat(), "calls": 0}
        assert default["days"][2] == {"date": (today + timedelta(days=2)).isoformat(), "calls": 1}
        assert (default["overdue"], default["held"]) == (1, 0)
        assert len(client.get(FORECAST, params={"days": 366}).json()["days"]) == 366
        for bad in ("0", "367", "-1", "ten", "1.5", ""):
            answer = client.get(FORECAST, params={"days": bad})
            assert answer.status_code == 400, (bad, answer.text)


@pytest.mark.both_backends
@pytest.mark.settings(retention_interval_seconds=1)
def test_a_call_captured_past_its_policy_is_erased_by_the_next_sweep(live, tokens):
    with live.client(tokens["retention"]) as client:
        assert client.put(f"{POLICY}/thirty", json={"maxAgeDays": 30}).status_code == 200
    call_id = _capture(live, tokens["capture"], "captured-late", 45)
    kept = _capture(live, tokens["capture"], "recent", 2)
    with live.client(tokens["capture"]) as client:
        deadline = time.monotonic() + 30
        while client.get("/callCapture/v1/status/captured-late").json()["status"] != "NotFound":
            assert time.monotonic() < deadline, "the expired call was never erased"
            time.sleep(0.1)
        assert client.get("/callCapture/v1/status/recent").json()["status"] != "NotFound"
    assert live.runtime.keystore.get(call_id) is None
    assert live.runtime.keystore.get(kept) is not None
    with live.client(tokens["audit"]) as client:
        events = client.get("/audit/v1/events", params={"limit": 1000}).json()["events"]
    requested = [e for e in events if e["action"] == "purge.requested"]
    assert [e["actor"] for e in requested] == ["retention:thirty"]
    request_id = requested[0]["requestId"]
    with live.client(tokens["audit"]) as client:
        doc = client.get(f"/purge/v1/requests/{request_id}").json()
    assert doc["kind"] == "retention"
    assert [i["callId"] for i in doc["items"]] == [call_id]
