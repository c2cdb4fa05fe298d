"""The v2 API on the same store and rules as v1 (contract §16, §12-14, §18).

A call captured through either API is found and purged through either; v2 purges meet the same
holds, guards, audit trail and certificates as v1 purges (one purge request, one certificate);
``allowIncompleteInteraction`` false spares calls still processing; an e-mail is never stored in
clear, before or after its call is purged. The wire format itself is in test_tethr_v2_wire.py.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import pytest

from callvault.capture.service import CaptureService
from callvault.client import verify_certificate
from helpers import (
    call_info,
    post_call,
    post_v2_call,
    stored_bytes,
    v2_customer_info,
    wav_read_from_its_middle,
)

PHONE = "+1 (737) 555-0163"
EMAIL = "Quinn.Zyx+Purge@Mail.Example.org"


def v2_info(session_id: str, phone: str | None = PHONE, email: str | None = EMAIL) -> dict:
    return v2_customer_info(session_id, phone, email)


def captured(live, api: str, **kwargs: Any) -> tuple[str, str]:
    """(call ID, session ID) of one call captured through ``api`` (v1 or v2)."""
    session_id = f"{api}-{uuid.uuid4()}"
    with live.client(live.token("capture")) as client:
        if api == "v1":
            contacts = [{"type": "Customer", "phoneNumber": kwargs.get("phone", PHONE)}]
            answer = post_call(client, call_info(session_id, contacts=contacts))
            assert answer.status_code == 200, answer.text
            return answer.json()["callId"], session_id
        answer = post_v2_call(client, v2_info(session_id, **kwargs))
    assert answer.status_code == 200, answer.text
    return answer.json()["id"], session_id


def settled(client, request_id: str) -> dict:
    deadline = time.monotonic() + 30
    while True:
        doc: dict = client.get(f"/purge/v1/requests/{request_id}").json()
        if doc["state"] not in ("Purging",):
            return doc
        assert time.monotonic() < deadline, "purge never settled"
        time.sleep(0.05)


def customer_v2(client, body: dict, **params: str):
    body = {"allowIncompleteInteraction": True, **body}
    return client.post("/interactions/v2/purge/customer", json=body, params=params or None)


# --------------------------------------------------------------------------- across APIs


def test_a_v1_capture_is_purged_through_v2(live):
    by_phone, _ = captured(live, "v1")
    by_session, session_id = captured(live, "v1", phone="+1 737 555 0999")
    with live.client(live.token("purge")) as client:
        customer = customer_v2(client, {"phoneNumbers": ["737-555-0163"]})
        sessions = client.post(
            "/interactions/v2/purge/sessions",
            json={"ids": [session_id], "allowIncompleteInteraction": True},
        )
        assert [i["id"] for i in customer.json()["items"]] == [by_phone]
        assert sessions.json()["items"][0]["id"] == by_session
        for answer in (customer, sessions):
            assert settled(client, answer.json()["requestId"])["items"][0]["status"] == "Purged"


def test_a_v2_capture_is_purged_through_v1(live):
    call_id, _ = captured(live, "v2", email=None)
    with live.client(live.token("purge")) as client:
        answer = client.post("/purge/v1/calls/customer", json={"phoneNumber": "+17375550163"})
        assert [i["callId"] for i in answer.json()["items"]] == [call_id]
        assert settled(client, answer.json()["requestId"])["state"] == "Complete"


def test_phones_and_emails_of_one_customer_are_one_request_and_one_certificate(live):
    both, _ = captured(live, "v2")
    email_only, _ = captured(live, "v2", phone=None)
    with live.client(live.token("purge")) as client:
        answer = customer_v2(
            client, {"phoneNumbers": [PHONE], "emails": [EMAIL.lower(), f"  {EMAIL.upper()} "]}
        )
        assert answer.status_code == 200, answer.text
        items = answer.json()["items"]
        assert sorted(i["id"] for i in items) == sorted([both, email_only])
        request_id = answer.json()["requestId"]
        assert settled(client, request_id)["state"] == "Complete"
        certificate = client.get(f"/purge/v1/requests/{request_id}/certificate")
        assert certificate.status_code == 200, certificate.text
        jwks = client.get("/.well-known/jwks.json").json()
    claims = verify_certificate(certificate.text, jwks)
    assert claims["kind"] == "customer"
    assert sorted(i["callId"] for i in claims["items"]) == sorted([both, email_only])
    assert all(i["status"] == "Purged" for i in claims["items"])
    with live.client(live.token("audit")) as client:
        trail = client.get("/audit/v1/events", params={"limit": 1000}).json()["events"]
    requested = [
        e for e in trail if e["requestId"] == request_id and e["action"] == "purge.requested"
    ]
    assert len(requested) == 1
    hashes = requested[0]["details"]["customerHashes"]
    assert len(hashes) == 2  # one phone, one address
    # Contract §14: each subject by its own keyed hash, the phone's as customerPhoneHash.
    subjects = claims["subjectHashes"]
    assert [s["type"] for s in subjects] == ["phone", "email"]
    assert sorted(s["hash"] for s in subjects) == hashes
    assert claims["customerPhoneHash"] == subjects[0]["hash"]


# --------------------------------------------------------------------------- incomplete calls


def _capture_concluded(live) -> tuple[str, str]:
    """A call left ``Concluded`` (the capture service itself, without the processing that the
    capture route schedules, of audio whose duration its ends do not tell), as a call still
    being processed is."""
    session_id = f"concluded-{uuid.uuid4()}"
    boundary = "b0undary"
    info = json.dumps(v2_info(session_id)).encode()
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=info\r\n\r\n".encode()
        + info
        + f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=data\r\n"
        "Content-Type: audio/wav\r\n\r\n".encode()
        + wav_read_from_its_middle()
        + f"\r\n--{boundary}--\r\n".encode()
    )

    async def stream():
        yield body

    from callvault.capture.info import parse_v2_info

    call_id = asyncio.run(
        CaptureService(live.runtime).capture(
            f"multipart/form-data; boundary={boundary}", stream(), "test", parse=parse_v2_info
        )
    )
    return call_id, session_id


@pytest.mark.parametrize("path", ["", "/sessions", "/customer"])
def test_an_incomplete_call_is_an_error_unless_allowed(live, path):
    call_id, session_id = _capture_concluded(live)
    asked = {"": call_id, "/sessions": session_id}.get(path)
    body: dict[str, Any] = {"emails": [EMAIL]} if asked is None else {"ids": [asked]}
    url = f"/interactions/v2/purge{path}"
    with live.client(live.token("purge")) as client:
        refused = client.post(url, json={**body, "allowIncompleteInteraction": False})
        preview = client.post(
            url, params={"whatIf": "true"}, json={**body, "allowIncompleteInteraction": False}
        )
        for answer in (refused, preview):
            assert answer.status_code == 200, answer.text
            assert answer.json()["items"] == [
                {
                    "id": call_id,
                    "sessionId": session_id,
                    "status": "Error",
                    "errorMsg": "interaction is still processing",
                }
            ]
        status = client.get(f"/purge/v1/requests/{refused.json()['requestId']}").json()
        assert status["items"][0]["status"] == "Error"
        assert live.runtime.keystore.get(call_id) is not None  # not purged
        allowed = client.post(url, json={**body, "allowIncompleteInteraction": True})
        assert allowed.json()["items"][0]["status"] == "Purging"
        assert settled(client, allowed.json()["requestId"])["items"][0]["status"] == "Purged"


def test_absent_allow_incomplete_is_false_as_the_sdk_default(live):
    call_id, _ = _capture_concluded(live)
    with live.client(live.token("purge")) as client:
        answer = client.post("/interactions/v2/purge", json={"ids": [call_id]})
    assert answer.json()["items"][0]["status"] == "Error"


# --------------------------------------------------------------------------- governance


def test_a_held_call_is_an_error_naming_the_hold(live):
    call_id, _ = captured(live, "v2")
    with live.client(live.token("hold")) as client:
        hold = client.post(
            "/holds/v1", json={"matter": "M-1", "reason": "litigation", "callIds": [call_id]}
        ).json()
    with live.client(live.token("purge")) as client:
        answer = customer_v2(client, {"emails": [EMAIL]})
    assert answer.json()["items"] == [
        {
            "id": call_id,
            "sessionId": answer.json()["items"][0]["sessionId"],
            "status": "Error",
            "errorMsg": f"held by legal hold {hold['holdId']}",
        }
    ]


@pytest.mark.settings(purge_confirm_above=1)
def test_a_large_customer_purge_needs_the_previews_confirm_token(live):
    first, _ = captured(live, "v2")
    second, _ = captured(live, "v2", phone=None)
    body = {"phoneNumbers": [PHONE], "emails": [EMAIL]}
    with live.client(live.token("purge")) as client:
        refused = customer_v2(client, body)
        assert refused.status_code == 409
        assert refused.json()["matched"] == 2
        preview = customer_v2(client, body, whatIf="true").json()
        assert {i["status"] for i in preview["items"]} == {"WhatIf"}
        wrong_set = customer_v2(client, {"emails": [EMAIL]}, confirm=preview["confirmToken"])
        assert wrong_set.status_code == 409
        accepted = customer_v2(client, body, confirm=preview["confirmToken"])
    assert accepted.status_code == 200, accepted.text
    assert sorted(i["id"] for i in accepted.json()["items"]) == sorted([first, second])


@pytest.mark.settings(purge_quota_per_hour=1)
def test_the_quota_counts_v2_purges(live):
    first, _ = captured(live, "v2")
    second, _ = captured(live, "v1", phone="+1 737 555 0111")
    with live.client(live.token("purge")) as client:
        body = {"ids": [first, second], "allowIncompleteInteraction": True}
        refused = client.post("/interactions/v2/purge", json=body)
    assert refused.status_code == 429
    assert refused.headers["retry-after"]


@pytest.mark.parametrize("spelling", ["whatIf=yes", "whatIf=true&whatIf=false", "what_if=true"])
@pytest.mark.parametrize("path", ["", "/sessions", "/customer"])
def test_a_doubtful_preview_is_a_400(live, spelling, path):
    call_id, session_id = captured(live, "v2")
    body = {
        "": {"ids": [call_id]},
        "/sessions": {"ids": [session_id]},
        "/customer": {"phoneNumbers": [PHONE], "emails": [EMAIL]},
    }[path]
    body["allowIncompleteInteraction"] = True
    with live.client(live.token("purge")) as client:
        answer = client.post(f"/interactions/v2/purge{path}?{spelling}", json=body)
        in_body = client.post(f"/interactions/v2/purge{path}", json={**body, "whatIf": True})
    assert answer.status_code == 400, answer.text
    assert in_body.status_code == 400, in_body.text
    assert live.runtime.keystore.get(call_id) is not None


# --------------------------------------------------------------------------- e-mail at rest


@pytest.mark.both_backends
def test_an_email_is_never_stored_in_clear(live):
    call_id, _ = captured(live, "v2")
    needles = [EMAIL, EMAIL.lower(), "Quinn.Zyx", "quinn.zyx", "mail.example.org", "Mail.Example"]

    def assert_absent() -> None:
        stored = stored_bytes(live.runtime)
        for needle in needles:
            assert needle.encode() not in stored, needle
            assert needle.encode("utf-16-le") not in stored, needle

    assert_absent()
    with live.client(live.token("read")) as client:
        # The scan can fail: the sealed contact holds the address, which the read decrypts.
        assert client.get(f"/calls/v1/{call_id}").json()["contacts"][1]["email"] == EMAIL
    with live.client(live.token("purge")) as client:
        answer = customer_v2(client, {"emails": [EMAIL.lower()]})
        assert answer.json()["items"][0]["id"] == call_id
        assert settled(client, answer.json()["requestId"])["state"] == "Complete"
    assert_absent()
