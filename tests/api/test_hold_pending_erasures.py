"""What a hold's release sets off, shown before and on release, and erasures that are not resumed
(contract §12, "Release resumes erasure"; issue 32, item 2).

A hold shows ``pendingErasures``: the held items of purge requests that it alone still keeps.
An erasure whose requester was disabled, or lost ``purge``, is not resumed by a release: its item
becomes ``Error`` and the audit trail says ``purge.not_resumed``; a retention request is resumed
only while a policy still expires the call.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import update

from callvault.retention.service import RetentionService
from callvault.store import users as user_store
from callvault.store.engine import write_transaction
from callvault.store.tables import api_users
from helpers import call_info, post_call

pytestmark = pytest.mark.both_backends

PHONE = "+1 512 555 0163"
CUSTOMER = "/purge/v1/calls/customer"


def _capture(live, sessions, start="2024-01-01T04:23:00Z") -> dict[str, str]:
    ids = {}
    with live.client(live.token("capture")) as client:
        for sid in sessions:
            contacts = [{"type": "Customer", "phoneNumber": PHONE}]
            info = call_info(sid, contacts=contacts, startTime=start, endTime=None)
            answer = post_call(client, info)
            assert answer.status_code == 200, answer.text
            ids[sid] = answer.json()["callId"]
    return ids


def _place(client, **scope) -> dict:
    placed = client.post("/holds/v1", json={"matter": "m", "reason": "r", **scope})
    assert placed.status_code == 201, placed.text
    hold: dict = placed.json()
    return hold


def _request(live, request_id: str) -> dict:
    with live.client(live.token("audit")) as client:
        doc: dict = client.get(f"/purge/v1/requests/{request_id}").json()
    return doc


def _actions(live) -> list[dict]:
    with live.client(live.token("audit")) as client:
        events: list[dict] = client.get("/audit/v1/events", params={"limit": 1000}).json()["events"]
    return events


def test_a_hold_shows_the_erasures_its_release_would_set_off(live):
    ids = _capture(live, ["p1", "p2"])
    holder = live.token("hold", "audit")
    with live.client(holder) as client:
        by_phone = _place(client, phoneNumbers=[PHONE])
        assert by_phone["pendingErasures"] == {"calls": 0, "requestIds": []}
    with live.client(live.token("purge")) as client:
        armed = client.post(CUSTOMER, json={"phoneNumber": PHONE})
        assert armed.status_code == 200, armed.text
        request_id = armed.json()["requestId"]
    with live.client(holder) as client:
        shown = client.get(f"/holds/v1/{by_phone['holdId']}").json()
        assert shown["pendingErasures"] == {"calls": 2, "requestIds": [request_id]}
        # A second hold on one of the calls: that call is no longer kept by the first alone.
        by_call = _place(client, callIds=[ids["p1"]])
        assert by_call["pendingErasures"] == {"calls": 0, "requestIds": []}
        shown = client.get(f"/holds/v1/{by_phone['holdId']}").json()
        assert shown["pendingErasures"] == {"calls": 1, "requestIds": [request_id]}
        # The release answer says what it set off.
        released = client.post(
            f"/holds/v1/{by_phone['holdId']}/release", json={"reason": "settled"}
        )
        assert released.status_code == 200, released.text
        assert released.json()["pendingErasures"] == {"calls": 1, "requestIds": [request_id]}
        # The other hold now keeps the remaining call alone.
        shown = client.get(f"/holds/v1/{by_call['holdId']}").json()
        assert shown["pendingErasures"] == {"calls": 1, "requestIds": [request_id]}
        after = client.get(f"/holds/v1/{by_phone['holdId']}").json()
        assert after["pendingErasures"] == {"calls": 0, "requestIds": []}


@pytest.mark.parametrize("change", ["disabled", "no purge"])
def test_a_release_does_not_resume_an_erasure_whose_requester_lost_the_right(live, change):
    live.app_state.workers.close()  # nothing is erased behind the test's back
    ids = _capture(live, ["n1"])
    name = f"alice-{change.replace(' ', '-')}"
    with live.client(live.token("hold")) as client:
        hold = _place(client, phoneNumbers=[PHONE])
    with live.client(live.token("purge", name=name)) as client:
        request_id = client.post(CUSTOMER, json={"phoneNumber": PHONE}).json()["requestId"]
    assert _request(live, request_id)["state"] == "Held"
    if change == "disabled":
        assert user_store.disable(live.runtime.engine, name)
        expected = f"not resumed: requester {name} is disabled"
    else:
        with write_transaction(live.runtime.engine) as conn:
            conn.execute(
                update(api_users).where(api_users.c.name == name).values(permissions="read")
            )
        expected = f"not resumed: requester {name} no longer has purge"

    with live.client(live.token("hold")) as client:
        released = client.post(f"/holds/v1/{hold['holdId']}/release", json={"reason": "done"})
        assert released.status_code == 200, released.text
        assert released.json()["pendingErasures"] == {"calls": 1, "requestIds": [request_id]}

    doc = _request(live, request_id)
    assert [(i["status"], i["errorMsg"]) for i in doc["items"]] == [("Error", expected)]
    assert doc["state"] == "Failed"
    assert live.runtime.keystore.get(ids["n1"]) is not None  # a person decides
    with live.client(live.token("read")) as client:
        assert client.get(f"/calls/v1/{ids['n1']}").status_code == 200
    trail = _actions(live)
    (released,) = [e for e in trail if e["action"] == "hold.released"]
    assert released["details"]["resumedCalls"] == 0  # not resumed is not counted as resumed
    events = [e for e in trail if e["action"] in ("purge.not_resumed", "purge.resumed")]
    assert [(e["action"], e["requestId"]) for e in events] == [("purge.not_resumed", request_id)]
    assert PHONE not in str(events)
    assert "5550163" not in str(events)


@pytest.mark.parametrize("policy_kept", [True, False])
def test_a_retention_erasure_resumes_only_while_a_policy_expires_the_call(live, policy_kept):
    live.app_state.workers.close()
    old = _capture(live, ["old"], start="2020-01-01T00:00:00Z")
    with live.client(live.token("retention")) as client:
        saved = client.put("/retention/v1/policies/keep-a-year", json={"maxAgeDays": 365})
        assert saved.status_code == 200, saved.text
    outcome = RetentionService(live.runtime).sweep()
    assert outcome.queued == 1
    request_id = outcome.request_ids[0]
    with live.client(live.token("hold")) as client:
        hold = _place(client, callIds=[old["old"]])
    assert _request(live, request_id)["items"][0]["status"] == "Held"
    if not policy_kept:
        with live.client(live.token("retention")) as client:
            deleted = client.delete("/retention/v1/policies/keep-a-year")
            assert deleted.status_code in (200, 204), deleted.text
    with live.client(live.token("hold")) as client:
        client.post(f"/holds/v1/{hold['holdId']}/release", json={"reason": "done"})
    item = _request(live, request_id)["items"][0]
    if policy_kept:
        assert item["status"] == "Purging"
    else:
        assert (item["status"], item["errorMsg"]) == (
            "Error",
            "not resumed: no policy expires the call any more",
        )
        time.sleep(0.05)
        assert live.runtime.keystore.get(old["old"]) is not None
