"""Unknown keys fail closed (contract §19; issue 32, item 5): a purge, hold, retention or release
body with a key its endpoint does not know (matched case-insensitively: ``email`` where
``emails`` is meant, ``sessionIds`` on ``/purge/v1/calls``) is a 400 naming the key, and nothing
changes: an erasure a client thinks it asked for is never silently narrowed. Known keys keep
Tethr's case-insensitive matching (``Ids``). Capture ``info`` keeps accepting unknown keys."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from callvault.store.tables import legal_holds, purge_jobs, purge_requests, retention_policies
from helpers import call_info, post_call, post_v2_call, v2_customer_info

pytestmark = pytest.mark.both_backends

PHONE = "+1 512 555 0166"
EMAIL = "robin@example.org"


@pytest.fixture
def call(live) -> tuple[str, str]:
    """(call ID, session ID) of a call with a Customer phone and e-mail, captured through v2."""
    session_id = f"k-{uuid.uuid4()}"
    with live.client(live.token("capture")) as client:
        answer = post_v2_call(client, v2_customer_info(session_id, PHONE, EMAIL))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"]), session_id


def _count(live, table) -> int:
    with live.runtime.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _refused(answer, key: str) -> None:
    assert answer.status_code == 400, answer.text
    detail = answer.json()["detail"]
    assert f"`{key}`" in detail, detail
    assert "not a key" in detail, detail


# (path, body with a typo, the unknown key) — `CALL`/`SESSION` are filled in from the fixture.
PURGES = [
    ("/purge/v1/calls", {"ids": ["CALL"], "sessionIds": ["SESSION"]}, "sessionIds"),
    ("/purge/v1/calls", {"id": ["CALL"]}, "id"),
    (
        "/purge/v1/calls",
        {"ids": ["CALL"], "allowIncompleteInteraction": True},
        "allowIncompleteInteraction",
    ),
    ("/purge/v1/calls/sessions", {"ids": ["SESSION"], "callIds": ["CALL"]}, "callIds"),
    ("/purge/v1/calls/customer", {"phoneNumber": PHONE, "email": EMAIL}, "email"),
    ("/purge/v1/calls/customer", {"phone": PHONE}, "phone"),
    ("/interactions/v2/purge", {"ids": ["CALL"], "sessionIds": ["SESSION"]}, "sessionIds"),
    (
        "/interactions/v2/purge/sessions",
        {"ids": ["SESSION"], "allowIncomplete": True},
        "allowIncomplete",
    ),
    ("/interactions/v2/purge/customer", {"phoneNumbers": [PHONE], "email": [EMAIL]}, "email"),
    ("/interactions/v2/purge/customer", {"emails": [EMAIL], "phoneNumber": PHONE}, "phoneNumber"),
    ("/interactions/v2/purge/customer", {"EMAILS": [EMAIL], "Phones": [PHONE]}, "Phones"),
]


def _fill(body: dict[str, Any], call: tuple[str, str]) -> dict[str, Any]:
    call_id, session_id = call

    def value(v: Any) -> Any:
        if isinstance(v, list):
            return [value(x) for x in v]
        return {"CALL": call_id, "SESSION": session_id}.get(v, v) if isinstance(v, str) else v

    return {k: value(v) for k, v in body.items()}


def test_every_purge_endpoint_refuses_an_unknown_key_and_purges_nothing(live, call):
    with live.client(live.token("purge")) as client:
        for path, body, key in PURGES:
            for params in ({}, {"whatIf": "true"}):
                _refused(client.post(path, json=_fill(body, call), params=params), key)
    assert _count(live, purge_jobs) == 0
    assert _count(live, purge_requests) == 0
    with live.client(live.token("read")) as client:
        assert client.get(f"/calls/v1/{call[0]}").status_code == 200


def test_known_keys_in_any_case_are_still_accepted(live, call):
    call_id, session_id = call
    accepted = [
        ("/purge/v1/calls", {"Ids": [call_id]}),
        ("/purge/v1/calls/sessions", {"IDS": [session_id]}),
        ("/purge/v1/calls/customer", {"PhoneNumber": PHONE}),
        ("/interactions/v2/purge", {"iDs": [call_id], "AllowIncompleteInteraction": True}),
        ("/interactions/v2/purge/sessions", {"ids": [session_id]}),
        ("/interactions/v2/purge/customer", {"Emails": [EMAIL], "PHONENUMBERS": [PHONE]}),
    ]
    with live.client(live.token("purge")) as client:
        for path, body in accepted:
            answer = client.post(path, json=body, params={"whatIf": "true"})
            assert answer.status_code == 200, (path, answer.text)
            assert [i["status"] for i in answer.json()["items"]] in (["WhatIf"], ["Error"]), path
    assert _count(live, purge_jobs) == 0


def test_a_what_if_in_the_body_is_still_told_to_go_in_the_query(live, call):
    with live.client(live.token("purge")) as client:
        answer = client.post("/purge/v1/calls", json={"ids": [call[0]], "whatIf": True})
    assert answer.status_code == 400, answer.text
    assert "?whatIf=true" in answer.json()["detail"]
    assert _count(live, purge_jobs) == 0


def test_hold_bodies_refuse_an_unknown_key(live, call):
    with live.client(live.token("hold")) as client:
        for body, key in (
            ({"matter": "M", "reason": "R", "phoneNumber": PHONE}, "phoneNumber"),
            ({"matter": "M", "reason": "R", "sessionIds": [call[1]], "emails": [EMAIL]}, "emails"),
            (
                {"matter": "M", "reason": "R", "callIds": [call[0]], "startedAfterr": "2024"},
                "startedAfterr",
            ),
        ):
            _refused(client.post("/holds/v1", json=body), key)
        assert _count(live, legal_holds) == 0
        placed = client.post("/holds/v1", json={"MATTER": "M", "Reason": "R", "callids": [call[0]]})
        assert placed.status_code == 201, placed.text
        hold_id = placed.json()["holdId"]
        release = client.post(
            f"/holds/v1/{hold_id}/release", json={"reason": "settled", "resumeErasures": False}
        )
        _refused(release, "resumeErasures")
        assert client.get(f"/holds/v1/{hold_id}").json()["state"] == "Active"
        done = client.post(f"/holds/v1/{hold_id}/release", json={"REASON": "settled"})
        assert done.status_code == 200, done.text


def test_a_retention_body_refuses_an_unknown_key(live, call):
    with live.client(live.token("retention")) as client:
        for params in ({}, {"whatIf": "true"}):
            answer = client.put(
                "/retention/v1/policies/short",
                json={"maxAgeDays": 1, "directon": "Inbound"},
                params=params,
            )
            _refused(answer, "directon")
        assert _count(live, retention_policies) == 0
        answer = client.put(
            "/retention/v1/policies/short",
            json={"MaxAgeDays": 36500, "DIRECTION": "Inbound"},
            params={"whatIf": "true"},
        )
        assert answer.status_code == 200, answer.text


def test_capture_info_still_accepts_unknown_keys(live):
    with live.client(live.token("capture")) as client:
        info = call_info(f"k-{uuid.uuid4()}", recorderSerial="R-7", extra={"any": "thing"})
        info["contacts"][1]["vendorField"] = 3
        assert post_call(client, info).status_code == 200
