"""What a certificate claims (contract §14, issue 32 item 8), on both backends: none for a
``Cancelled`` request, ``erasedCount`` always and ``method`` only when something was erased, and
the subjects of a customer request each by its own keyed hash (``subjectHashes``), a phone's
first as ``customerPhoneHash`` only when the request named a phone."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from callvault import emails
from callvault.client import verify_certificate
from callvault.phone import index_form
from helpers import call_info, post_call, post_v2_call, v2_customer_info

pytestmark = pytest.mark.both_backends

METHOD = "cryptographic erase (NIST SP 800-88 Purge), then deletion"
PHONE = "+1 (737) 555-0163"
OTHER_PHONE = "+1 737 555 0188"
EMAIL = "Quinn.Zyx+Purge@Mail.Example.org"
OTHER_EMAIL = "quinn@bücher.de"


def settled(client: httpx.Client, request_id: str) -> dict:
    deadline = time.monotonic() + 60
    while True:
        doc: dict = client.get(f"/purge/v1/requests/{request_id}").json()
        if doc["state"] != "Purging":
            return doc
        assert time.monotonic() < deadline, f"request {request_id} never settled: {doc}"
        time.sleep(0.05)


def captured(live, phone: str | None, email: str | None) -> str:
    with live.client(live.token("capture")) as client:
        info = v2_customer_info(f"s-{uuid.uuid4()}", phone, email)
        answer = post_v2_call(client, info)
    assert answer.status_code == 200, answer.text
    call_id: str = answer.json()["id"]
    return call_id


def certified(live, request_id: str) -> dict:
    with live.client(live.token("purge")) as client:
        answer = client.get(f"/purge/v1/requests/{request_id}/certificate")
        assert answer.status_code == 200, answer.text
        keys = client.get("/.well-known/jwks.json").json()
    return verify_certificate(answer.text, keys)


def customer_v2(live, body: dict) -> str:
    with live.client(live.token("purge")) as client:
        answer = client.post(
            "/interactions/v2/purge/customer", json={"allowIncompleteInteraction": True, **body}
        )
        assert answer.status_code == 200, answer.text
        request_id: str = answer.json()["requestId"]
        assert settled(client, request_id)["state"] == "Complete"
    return request_id


def phone_hash(live, phone: str) -> str:
    form = index_form(phone, "US")
    assert form is not None
    return live.runtime.keys.audit_hash(form)  # the audit trail's keyed hash


def email_hash(live, address: str) -> str:
    return live.runtime.keys.audit_hash(emails.index_form(address))


@pytest.mark.settings(purge_grace_seconds=3600)
def test_a_cancelled_request_has_no_certificate(live):
    with live.client(live.token("capture")) as client:
        call_id = post_call(client, call_info(f"c-{uuid.uuid4()}")).json()["callId"]
    with live.client(live.token("purge")) as client:
        request_id = client.post("/purge/v1/calls", json={"ids": [call_id]}).json()["requestId"]
        cancelled = client.post(f"/purge/v1/requests/{request_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["state"] == "Cancelled"
        answer = client.get(f"/purge/v1/requests/{request_id}/certificate")
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    detail = answer.json()["detail"]
    assert "Cancelled" in detail
    assert "nothing was erased" in detail
    with live.client(live.token("audit")) as client:
        trail = client.get("/audit/v1/events", params={"limit": 1000}).json()["events"]
    assert not [
        e for e in trail if e["requestId"] == request_id and e["action"] == "certificate.issued"
    ]


def test_a_request_that_erased_nothing_claims_no_method(live):
    with live.client(live.token("purge")) as client:
        answer = client.post("/purge/v1/calls", json={"ids": ["ghost-1", "ghost-2"]})
        request_id = answer.json()["requestId"]
        assert settled(client, request_id)["state"] == "Complete"
    claims = certified(live, request_id)
    assert [i["status"] for i in claims["items"]] == ["NotFound", "NotFound"]
    assert claims["erasedCount"] == 0
    assert "method" not in claims


def test_erased_count_counts_the_purged_items(live):
    call_id = captured(live, PHONE, None)
    with live.client(live.token("purge")) as client:
        answer = client.post("/purge/v1/calls", json={"ids": [call_id, "ghost"]})
        request_id = answer.json()["requestId"]
        settled(client, request_id)
    claims = certified(live, request_id)
    assert claims["erasedCount"] == 1
    assert claims["method"] == METHOD


def test_an_email_only_request_names_no_phone_hash(live):
    captured(live, None, EMAIL)
    request_id = customer_v2(live, {"emails": [EMAIL]})
    claims = certified(live, request_id)
    assert "customerPhoneHash" not in claims
    assert claims["subjectHashes"] == [{"type": "email", "hash": email_hash(live, EMAIL)}]
    assert claims["erasedCount"] == 1


def test_phones_and_emails_each_have_their_hash(live):
    captured(live, PHONE, EMAIL)
    captured(live, OTHER_PHONE, None)
    body = {
        "phoneNumbers": [PHONE, OTHER_PHONE, "737-555-0163"],  # the third is the first again
        "emails": [EMAIL, OTHER_EMAIL, f"  {EMAIL.upper()} "],  # and so is the sixth
    }
    request_id = customer_v2(live, body)
    claims = certified(live, request_id)
    assert claims["subjectHashes"] == [
        {"type": "phone", "hash": phone_hash(live, PHONE)},
        {"type": "phone", "hash": phone_hash(live, OTHER_PHONE)},
        {"type": "email", "hash": email_hash(live, EMAIL)},
        {"type": "email", "hash": email_hash(live, OTHER_EMAIL)},
    ]
    assert claims["customerPhoneHash"] == phone_hash(live, PHONE)  # the first phone's
    assert claims["erasedCount"] == 2
    raw = str(claims).lower()
    for clear in ("quinn", "zyx", "bücher", "xn--bcher", "5550163", "555-0163", "5550188"):
        assert clear not in raw, clear


def test_a_v1_customer_request_has_one_phone_subject(live):
    captured(live, PHONE, None)
    with live.client(live.token("purge")) as client:
        answer = client.post("/purge/v1/calls/customer", json={"phoneNumber": PHONE})
        request_id = answer.json()["requestId"]
        settled(client, request_id)
    claims = certified(live, request_id)
    assert claims["customerPhoneHash"] == phone_hash(live, PHONE)
    assert claims["subjectHashes"] == [{"type": "phone", "hash": phone_hash(live, PHONE)}]


def test_requests_by_ids_have_no_subjects(live):
    call_id = captured(live, PHONE, EMAIL)
    with live.client(live.token("purge")) as client:
        request_id = client.post("/purge/v1/calls", json={"ids": [call_id]}).json()["requestId"]
        settled(client, request_id)
    claims = certified(live, request_id)
    assert "subjectHashes" not in claims
    assert "customerPhoneHash" not in claims
