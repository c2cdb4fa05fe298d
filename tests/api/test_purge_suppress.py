"""Purge and suppress at once (contract §22): ``?suppress=true`` on v1 and v2 customer purges."""

from __future__ import annotations

import base64
import json
import time

import pytest
from sqlalchemy import func, select

from callvault.store.tables import calls, suppressions
from helpers import call_info, post_call, post_v2_call, v2_customer_info

pytestmark = pytest.mark.both_backends

PHONE = "(512) 555-0188"
E164 = "+15125550188"
EMAIL = "river@example.net"


@pytest.fixture
def tokens(live) -> dict[str, str]:
    return {
        "capture": live.token("capture"),
        "purge": live.token("purge"),
        "both": live.token("purge", "suppress"),
        "audit": live.token("audit"),
    }


def count(live, table) -> int:
    with live.runtime.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def wait_final(client, request_id: str) -> dict:
    end = time.monotonic() + 30
    while time.monotonic() < end:
        doc = client.get(f"/purge/v1/requests/{request_id}").json()
        if doc["state"] != "Purging":
            return doc
        time.sleep(0.05)
    raise AssertionError(f"request {request_id} stayed Purging")


def claims(jws: str) -> dict:
    payload = jws.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_a_v1_purge_with_suppress_suppresses_the_next_capture(live, tokens):
    with live.client(tokens["capture"]) as client:
        info = call_info("first", contacts=[{"type": "Customer", "phoneNumber": PHONE}])
        assert post_call(client, info).status_code == 200
    with live.client(tokens["both"]) as client:
        answer = client.post(
            "/purge/v1/calls/customer", params={"suppress": "true"}, json={"phoneNumber": E164}
        )
        assert answer.status_code == 200, answer.text
        request_id = answer.json()["requestId"]
        assert [i["status"] for i in answer.json()["items"]] == ["Purging"]
        doc = wait_final(client, request_id)
        sid = doc["suppressionId"]
        assert sid
        certificate = client.get(f"/purge/v1/requests/{request_id}/certificate")
        assert certificate.status_code == 200
        assert claims(certificate.text)["suppressionId"] == sid
    with live.client(tokens["audit"]) as client:
        made = client.get(f"/suppressions/v1/{sid}").json()
        assert made["state"] == "Active"
        assert made["reason"] == f"suppressed with purge request {request_id}"
        assert made["requestId"] == request_id
        assert made["identifiers"] == 1
    with live.client(tokens["capture"]) as client:
        again = call_info("second", contacts=[{"type": "Customer", "phoneNumber": "512-555-0188"}])
        assert post_call(client, again).status_code == 200
        assert client.get("/callCapture/v1/status/second").json()["status"] == "Excluded"
    assert count(live, calls) == 0


def test_a_v2_purge_with_suppress_names_phones_and_emails(live, tokens):
    with live.client(tokens["both"]) as client:
        answer = client.post(
            "/interactions/v2/purge/customer",
            params={"suppress": "1"},
            json={"phoneNumbers": [PHONE], "emails": [EMAIL], "allowIncompleteInteraction": True},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["items"] == []  # no match: the request is recorded all the same
        doc = client.get(f"/purge/v1/requests/{answer.json()['requestId']}").json()
        assert doc["suppressionId"]
    with live.client(tokens["capture"]) as client:
        info = v2_customer_info("v2-next", email=EMAIL.upper())
        assert post_v2_call(client, info).status_code == 200
        assert client.get("/capture/v2/status/v2-next").json()["status"] == "Excluded"
    assert count(live, calls) == 0


def test_without_the_suppress_permission_it_is_403_and_nothing_is_purged(live, tokens):
    with live.client(tokens["capture"]) as client:
        info = call_info("kept", contacts=[{"type": "Customer", "phoneNumber": PHONE}])
        assert post_call(client, info).status_code == 200
    with live.client(tokens["purge"]) as client:
        for path, body in (
            ("/purge/v1/calls/customer", {"phoneNumber": PHONE}),
            ("/interactions/v2/purge/customer", {"phoneNumbers": [PHONE]}),
        ):
            answer = client.post(path, params={"suppress": "true"}, json=body)
            assert answer.status_code == 403, answer.text
            assert "suppress" in answer.json()["detail"]
    with live.client(tokens["capture"]) as client:
        assert client.get("/callCapture/v1/status/kept").json()["status"] != "NotFound"
    assert count(live, suppressions) == 0


def test_a_preview_creates_nothing_and_doubtful_flags_are_400(live, tokens):
    with live.client(tokens["both"]) as client:
        preview = client.post(
            "/purge/v1/calls/customer",
            params={"suppress": "true", "whatIf": "true"},
            json={"phoneNumber": PHONE},
        )
        assert preview.status_code == 200
        for params in (
            {"suppress": "yes"},
            {"suppress": ""},
            [("suppress", "true"), ("suppress", "true")],
            {"Suppress_": "true"},
            {"suppress[]": "true"},
        ):
            answer = client.post(
                "/purge/v1/calls/customer", params=params, json={"phoneNumber": PHONE}
            )
            assert answer.status_code == 400, (params, answer.text)
        on_ids = client.post("/purge/v1/calls", params={"suppress": "true"}, json={"ids": ["x"]})
        assert on_ids.status_code == 400
        off = client.post(
            "/purge/v1/calls/customer", params={"suppress": "false"}, json={"phoneNumber": PHONE}
        )
        assert off.status_code == 200
        assert (
            client.get(f"/purge/v1/requests/{off.json()['requestId']}").json()["suppressionId"]
            is None
        )
    assert count(live, suppressions) == 0
