"""Contact types are read as a person means them (contract §19; issue 32, item 5): ``"Customer "``,
``"customer\\t"``, ``" CUSTOMER"`` are Customer, so the call is indexed and found by customer
purges and holds, through v1 and v2 alike. The type is stored as it was sent."""

from __future__ import annotations

import uuid

import pytest

from helpers import call_info, post_call, post_v2_call, v2_customer_info

pytestmark = pytest.mark.both_backends

PHONE = "+1 512 555 0177"
EMAIL = "casey@example.org"
SPELLINGS = ["Customer", "Customer ", "customer\t", " CUSTOMER", "\u00a0cUsToMeR\n"]


def _capture_v1(live, token: str, contact_type: str) -> str:
    contacts = [{"type": "Agent"}, {"type": contact_type, "phoneNumber": PHONE}]
    with live.client(token) as client:
        answer = post_call(client, call_info(f"v1-{uuid.uuid4()}", contacts=contacts))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["callId"])


def _capture_v2(live, token: str, contact_type: str) -> str:
    info = v2_customer_info(f"v2-{uuid.uuid4()}", PHONE, EMAIL)
    info["participants"][1]["type"] = contact_type
    with live.client(token) as client:
        answer = post_v2_call(client, info)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


def test_every_spelling_of_customer_is_found_by_v1_and_v2_purges_and_by_holds(live):
    capture = live.token("capture", "read")
    v1 = [_capture_v1(live, capture, spelling) for spelling in SPELLINGS]
    v2 = [_capture_v2(live, capture, spelling) for spelling in SPELLINGS]
    everyone = sorted(v1 + v2)
    with live.client(live.token("purge")) as client:
        by_v1 = client.post(
            "/purge/v1/calls/customer", json={"phoneNumber": PHONE}, params={"whatIf": "true"}
        )
        assert by_v1.status_code == 200, by_v1.text
        assert sorted(i["callId"] for i in by_v1.json()["items"]) == everyone
        by_email = client.post(
            "/interactions/v2/purge/customer",
            json={"emails": [EMAIL], "allowIncompleteInteraction": True},
            params={"whatIf": "true"},
        )
        assert by_email.status_code == 200, by_email.text
        assert sorted(i["id"] for i in by_email.json()["items"]) == sorted(v2)
    with live.client(live.token("hold")) as client:
        hold = client.post(
            "/holds/v1", json={"matter": "M", "reason": "R", "phoneNumbers": [PHONE]}
        )
        assert hold.status_code == 201, hold.text
        assert hold.json()["coveredCalls"] == len(everyone)
    with live.client(capture) as client:
        for call_id, spelling in zip(v1, SPELLINGS, strict=True):
            doc = client.get(f"/calls/v1/{call_id}").json()
            assert doc["customerIndexed"] is True
            assert doc["contacts"][1]["type"] == spelling  # stored as sent


def test_a_type_that_only_contains_customer_is_not_customer(live):
    capture = live.token("capture")
    for other in ("Customers", "Customer Service", "cust omer", "Agent"):
        _capture_v1(live, capture, other)
    with live.client(live.token("purge")) as client:
        answer = client.post(
            "/purge/v1/calls/customer", json={"phoneNumber": PHONE}, params={"whatIf": "true"}
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["items"] == []
