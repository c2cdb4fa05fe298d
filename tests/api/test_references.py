"""References: the privacy program's ticket on what it asked (contract §23). ``?reference=`` on
Tethr's purge endpoints (v1 and v2; their bodies are Tethr's), a body key on holds; stored,
shown, printed in certificates, searchable on the lists."""

from __future__ import annotations

import base64
import json
import time

import pytest

from helpers import call_info, post_call

pytestmark = pytest.mark.both_backends

TICKET = "DSR-2026-0142"


def _claims(jws: str) -> dict:
    payload = jws.split(".")[1]
    claims: dict = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


def _settled(client, request_id: str) -> dict:
    deadline = time.monotonic() + 60
    while (doc := client.get(f"/purge/v1/requests/{request_id}").json())["state"] == "Purging":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return doc


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/purge/v1/calls", {"ids": ["no-such-call"]}),
        ("/purge/v1/calls/sessions", {"ids": ["no-such-session"]}),
        ("/purge/v1/calls/customer", {"phoneNumber": "+1 512 555 0101"}),
        ("/interactions/v2/purge", {"ids": ["no-such-call"]}),
        ("/interactions/v2/purge/sessions", {"ids": ["no-such-session"]}),
        ("/interactions/v2/purge/customer", {"phoneNumbers": ["+1 512 555 0101"]}),
    ],
)
def test_every_purge_endpoint_keeps_its_reference(live, path, body):
    with live.client(live.token("purge", "audit")) as client:
        answer = client.post(path, params={"reference": TICKET}, json=body)
        assert answer.status_code == 200, answer.text
        assert "reference" not in answer.json()  # Tethr's answer is Tethr's
        request_id = answer.json()["requestId"]
        doc = _settled(client, request_id)
        assert doc["reference"] == TICKET
        listed = client.get("/purge/v1/requests", params={"reference": TICKET}).json()["requests"]
        assert [r["requestId"] for r in listed] == [request_id]
        assert listed[0]["reference"] == TICKET
        assert client.get("/purge/v1/requests", params={"reference": "other"}).json() == {
            "requests": []
        }
        jws = client.get(f"/purge/v1/requests/{request_id}/certificate").text
        assert _claims(jws)["reference"] == TICKET
        events = client.get("/audit/v1/events", params={"action": "purge.requested"}).json()
        assert events["events"][-1]["details"]["reference"] == TICKET


def test_a_request_without_a_reference_has_none(live):
    with live.client(live.token("purge", "audit")) as client:
        request_id = client.post("/purge/v1/calls", json={"ids": ["x"]}).json()["requestId"]
        doc = _settled(client, request_id)
        assert doc["reference"] is None
        jws = client.get(f"/purge/v1/requests/{request_id}/certificate").text
        assert "reference" not in _claims(jws)


def test_a_hold_keeps_its_reference_and_the_list_finds_it(live):
    with live.client(live.token("capture")) as client:
        call_id = post_call(client, call_info("ref-hold")).json()["callId"]
    with live.client(live.token("hold", "audit")) as client:
        placed = client.post(
            "/holds/v1",
            json={"matter": "m", "reason": "r", "callIds": [call_id], "reference": TICKET},
        )
        assert placed.status_code == 201, placed.text
        assert placed.json()["reference"] == TICKET
        other = client.post("/holds/v1", json={"matter": "m", "reason": "r", "callIds": ["y"]})
        assert other.json()["reference"] is None
        found = client.get("/holds/v1", params={"reference": TICKET}).json()["holds"]
        assert [h["holdId"] for h in found] == [placed.json()["holdId"]]
        assert client.get(f"/holds/v1/{placed.json()['holdId']}").json()["reference"] == TICKET


BAD = ["", "x" * 201, "DSR\x07", "line\nbreak", "tab\there"]


@pytest.mark.parametrize("reference", BAD)
def test_a_bad_reference_is_a_400_and_changes_nothing(live, reference):
    with live.client(live.token("capture")) as client:
        call_id = post_call(client, call_info("ref-bad")).json()["callId"]
    with live.client(live.token("purge", "hold", "audit")) as client:
        answer = client.post(
            "/purge/v1/calls", params={"reference": reference}, json={"ids": [call_id]}
        )
        assert answer.status_code == 400, answer.text
        assert "reference" in answer.json()["detail"]
        hold = client.post(
            "/holds/v1",
            json={"matter": "m", "reason": "r", "callIds": [call_id], "reference": reference},
        )
        assert hold.status_code == 400, hold.text
        assert client.get("/purge/v1/requests").json()["requests"] == []
        assert client.get("/holds/v1").json()["holds"] == []
        assert client.get(f"/calls/v1/{call_id}").status_code in (200, 403)
        twice = client.post(
            "/purge/v1/calls", params=[("reference", "a"), ("reference", "b")], json={"ids": ["x"]}
        )
        assert twice.status_code == 400
        listed = client.get("/purge/v1/requests", params={"reference": reference})
        assert listed.status_code == 400
