"""Webhook delivery (contract §23), end to end on both backends: a live instance whose workers
send to a receiver over a real socket that verifies every delivery with ``standardwebhooks``.

Every event is delivered, signed, once each by several workers when nothing fails; a receiver
that is down, then answers 503, then 204 gets every event in the end, none lost, duplicates
only as at-least-once allows (the same webhook-id and body); no personal value is in a payload,
a header, the outbox or the delivery log."""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest
from sqlalchemy import select

from callvault.audit.outbox import EVENT_TYPES
from callvault.store.tables import webhook_attempts, webhook_deliveries
from helpers import call_info, free_port, post_call
from webhook_receiver import Receiver

pytestmark = pytest.mark.both_backends

PHONE, PHONE_DIGITS, E164 = "(512) 555-0143", "5125550143", "+15125550143"
SUPPRESSED, SUPPRESSED_DIGITS = "(737) 555-0199", "7375550199"
EMAIL, FIRST, LAST = "dora.vance@example.org", "Dorabella", "Vancemoor"
PERSONAL = [PHONE, PHONE_DIGITS, E164, SUPPRESSED, SUPPRESSED_DIGITS, EMAIL, FIRST, LAST]
TICKET = "DSR-2026-0142"


def _customer(session: str, phone: str) -> dict:
    return call_info(
        session,
        contacts=[
            {
                "type": "Customer",
                "channel": 1,
                "phoneNumber": phone,
                "email": EMAIL,
                "firstName": FIRST,
                "lastName": LAST,
            }
        ],
    )


def _register(live, url: str, events=EVENT_TYPES) -> dict:
    with live.client(live.token("admin")) as client:
        made = client.post("/webhooks/v1", json={"url": url, "events": list(events)})
    assert made.status_code == 201, made.text
    doc: dict = made.json()
    return doc


def _log(live, webhook_id: str) -> list[dict]:
    with live.client(live.token("admin")) as client:
        doc = client.get(f"/webhooks/v1/{webhook_id}/deliveries", params={"limit": 100}).json()
    deliveries: list[dict] = doc["deliveries"]
    return deliveries


def _stored(live) -> tuple[list[dict], bytes]:
    """The outbox's rows, and every cell of the outbox and the delivery log as bytes."""
    with live.runtime.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(webhook_deliveries))]
        attempts = [dict(r._mapping) for r in conn.execute(select(webhook_attempts))]
    cells = b"\n".join(str(v).encode() for row in rows + attempts for v in row.values())
    return rows, cells


def _no_personal_value(*blobs: bytes) -> None:
    for blob in blobs:
        for value in PERSONAL:
            assert value.encode().lower() not in blob.lower(), value


def _make_events(live) -> tuple[str, str]:
    """Every event callvault makes today: a suppression and a capture it refuses, a hold and a
    customer purge it holds, the release and the erasure that follows. Returns the request ID
    and the hold ID."""
    tokens = {p: live.token(p) for p in ("capture", "purge", "hold", "suppress")}
    with live.client(tokens["capture"]) as client:
        captured = post_call(client, _customer("wh-kept", PHONE))
        assert captured.status_code == 200, captured.text
        call_id = captured.json()["callId"]
    with live.client(tokens["suppress"]) as client:
        made = client.post(
            "/suppressions/v1",
            json={"phoneNumbers": [SUPPRESSED], "reason": "objected", "reference": TICKET},
        )
        assert made.status_code == 201, made.text
    with live.client(tokens["capture"]) as client:
        assert post_call(client, _customer("wh-refused", SUPPRESSED)).status_code == 200
    with live.client(tokens["hold"]) as client:
        hold = client.post(
            "/holds/v1",
            json={"matter": "m", "reason": "r", "callIds": [call_id], "reference": "LIT-1"},
        ).json()
    with live.client(tokens["purge"]) as client:
        asked = client.post(
            "/purge/v1/calls/customer", params={"reference": TICKET}, json={"phoneNumber": PHONE}
        )
        assert asked.status_code == 200, asked.text
        request_id = asked.json()["requestId"]
    with live.client(tokens["hold"]) as client:
        released = client.post(f"/holds/v1/{hold['holdId']}/release", json={"reason": "over"})
        assert released.status_code == 200, released.text
    return request_id, hold["holdId"]


EXPECTED = Counter(
    {
        "suppression.created": 1,
        "capture.suppressed": 1,
        "hold.placed": 1,
        "purge.completed": 2,  # Held, then Complete once the hold is released
        "hold.released": 1,
    }
)


@pytest.mark.settings(worker_concurrency=3)
def test_every_event_is_delivered_signed_once_each_with_no_personal_value(live):
    receiver = Receiver().start()
    try:
        webhook = _register(live, receiver.url)
        receiver.secret = webhook["secret"]
        request_id, hold_id = _make_events(live)
        receiver.wait_for(lambda r: Counter(r.types()) == EXPECTED)
    finally:
        receiver.stop()
    assert receiver.refused == []  # every delivery verified with standardwebhooks
    by_id = receiver.by_message()
    assert all(len(copies) == 1 for copies in by_id.values())  # several workers, no fault: once
    rows, cells = _stored(live)
    assert {r["delivery_id"] for r in rows} == set(by_id)
    assert {r["state"] for r in rows} == {"Delivered"}
    payloads = [d.payload for d in receiver.received]
    purge = [p["data"] for p in payloads if p["type"] == "purge.completed"]
    assert sorted(p["state"] for p in purge) == ["Complete", "Held"]
    assert {p["requestId"] for p in purge} == {request_id}
    assert {p["reference"] for p in purge} == {TICKET}
    placed = next(p["data"] for p in payloads if p["type"] == "hold.placed")
    assert placed["holdId"] == hold_id
    assert placed["reference"] == "LIT-1"
    for delivery in receiver.received:
        assert delivery.headers["content-type"] == "application/json"
        assert delivery.headers["webhook-signature"].startswith("v1,")
        assert set(delivery.payload) == {"type", "timestamp", "data"}
    log = _log(live, webhook["webhookId"])
    assert len(log) == len(by_id)
    assert all(a["httpStatus"] == 204 for a in log)
    assert all(a["state"] == "Delivered" and a["nextTryAt"] is None for a in log)
    assert all(a["error"] is None and a["attempt"] == 1 for a in log)
    _no_personal_value(receiver.bodies(), cells, json.dumps(log).encode())


@pytest.mark.settings(webhook_retry_seconds=0.2)
def test_a_receiver_down_then_failing_then_up_gets_every_event_none_lost(live):
    port = free_port()
    receiver = Receiver(port=port, answer=503)
    webhook = _register(live, receiver.url, ["hold.placed", "hold.released"])
    receiver.secret = webhook["secret"]
    with live.client(live.token("hold")) as client:
        for n in range(3):
            hold = client.post(
                "/holds/v1", json={"matter": f"m{n}", "reason": "r", "callIds": ["c"]}
            ).json()
            client.post(f"/holds/v1/{hold['holdId']}/release", json={"reason": "over"})
    expected = {r["delivery_id"] for r in _stored(live)[0]}
    assert len(expected) == 6

    def tried(at_least: int) -> None:
        deadline = time.monotonic() + 60
        while True:
            attempts = Counter(a["deliveryId"] for a in _log(live, webhook["webhookId"]))
            if set(attempts) == expected and min(attempts.values()) >= at_least:
                return
            assert time.monotonic() < deadline, attempts
            time.sleep(0.05)

    tried(at_least=2)  # down: every delivery tried and retried, nothing answered
    down = _log(live, webhook["webhookId"])
    assert all(a["httpStatus"] is None and "connect" in a["error"] for a in down)
    assert all(a["state"] == "Pending" and a["nextTryAt"] is not None for a in down)
    receiver.start()  # up, but failing: each delivery arrives, answered 503, and is retried
    try:
        receiver.wait_for(lambda r: set(r.by_message()) == expected)
        receiver.answer = 204
        deadline = time.monotonic() + 60
        while {r["state"] for r in _stored(live)[0]} != {"Delivered"}:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        receiver.stop()
    assert receiver.refused == []
    for copies in receiver.by_message().values():  # at least once: the same message each time
        assert len({c.body for c in copies}) == 1
    log = _log(live, webhook["webhookId"])
    assert {a["httpStatus"] for a in log} == {None, 503, 204}
    assert sum(1 for a in log if a["httpStatus"] == 204) == 6
    for delivery_id in expected:  # attempts numbered 1, 2, … per delivery
        numbers = sorted(a["attempt"] for a in log if a["deliveryId"] == delivery_id)
        assert numbers == list(range(1, len(numbers) + 1))
