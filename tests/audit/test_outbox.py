"""The webhooks' outbox (contract §23): a delivery per (subscribed webhook, event), written in
the transaction that records the event — none when that transaction rolls back — and
``purge.completed`` once per state a request reaches, never for a whatIf. Nothing is sent here
(no worker runs): the rows are read as stored."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from callvault.audit.outbox import EVENT_TYPES
from callvault.audit.trail import AuditEvent, AuditTrail
from callvault.auth.users import create_user, disable_user
from callvault.demo import seed_calls
from callvault.holds.service import HoldScope, HoldService
from callvault.purge.loop import ErasureLoop, ErasureOptions
from callvault.purge.service import PurgeService
from callvault.store import webhooks as store
from callvault.store.engine import write_transaction
from callvault.store.tables import webhook_deliveries
from callvault.webhooks.service import WebhookService

pytestmark = pytest.mark.both_backends


def outbox(runtime, webhook_id) -> list[dict]:
    with runtime.engine.connect() as conn:
        return [json.loads(d["payload"]) for d in store.deliveries(conn, webhook_id)]


def subscribe(runtime, *events: str) -> str:
    made = WebhookService(runtime).create("https://privacy.example.com/h", list(events), "admin")
    webhook_id: str = made["webhookId"]
    return webhook_id


def test_an_event_rolled_back_leaves_no_delivery_and_one_committed_leaves_one(runtime):
    every = subscribe(runtime, *EVENT_TYPES)
    holds_only = subscribe(runtime, "hold.released")
    trail = AuditTrail(runtime.keys.audit_chain_key)
    event = AuditEvent("hold.released", "tester", details={"holdId": "h1", "resumedCalls": 2})

    def fails_after_recording() -> None:
        with write_transaction(runtime.engine) as conn:
            trail.append(conn, [event])
            raise RuntimeError("the writer fails after recording its event")

    with pytest.raises(RuntimeError):
        fails_after_recording()
    with runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(webhook_deliveries)).scalar() == 0
    with write_transaction(runtime.engine) as conn:
        trail.append(conn, [event, AuditEvent("call.read", "tester", call_id="c1")])
    for webhook_id in (every, holds_only):
        [payload] = outbox(runtime, webhook_id)
        assert payload["type"] == "hold.released"
        assert payload["data"] == {"holdId": "h1", "reference": None, "resumedCalls": 2}
        assert payload["timestamp"].endswith("Z")


def test_purge_completed_once_per_state_reached_never_for_a_what_if(runtime):
    webhook_id = subscribe(runtime, "purge.completed", "hold.placed", "hold.released")
    unsubscribed = subscribe(runtime, "suppression.created")
    kept, erased = seed_calls(runtime, 2, seed=3)
    purges, holds = PurgeService(runtime), HoldService(runtime)
    erasure = ErasureLoop(runtime, ErasureOptions())

    purges.purge_calls([kept, erased], True, "tester", reference="DSR-1")  # whatIf: nothing
    assert outbox(runtime, webhook_id) == []

    hold = holds.place("matter", "reason", HoldScope(call_ids=[kept]), "tester", None, "LIT-9")
    asked = purges.purge_calls([kept, erased], False, "tester", reference="DSR-2")
    while erasure.run_once():
        pass
    nothing = purges.purge_calls(["no-such-call"], False, "tester")  # over at once: Complete
    holds.release(hold["holdId"], "matter closed", "tester")
    while erasure.run_once():
        pass

    sent = outbox(runtime, webhook_id)
    assert [(p["type"], p["data"].get("state")) for p in sent] == [
        ("hold.placed", None),
        ("purge.completed", "Held"),
        ("purge.completed", "Complete"),
        ("hold.released", None),
        ("purge.completed", "Complete"),
    ]
    placed, held, over, released, done = (p["data"] for p in sent)
    assert placed == {
        "holdId": hold["holdId"],
        "reference": "LIT-9",
        "coveredCalls": 1,
        "savedFromErasure": 0,
    }
    assert held == {
        "requestId": asked.request_id,
        "state": "Held",
        "kind": "calls",
        "reference": "DSR-2",
        "items": {"Held": 1, "Purged": 1},
    }
    assert over == {
        "requestId": nothing.request_id,
        "state": "Complete",
        "kind": "calls",
        "reference": None,
        "items": {"NotFound": 1},
    }
    assert released == {"holdId": hold["holdId"], "reference": "LIT-9", "resumedCalls": 1}
    assert done == {**held, "state": "Complete", "items": {"Purged": 2}}
    assert outbox(runtime, unsubscribed) == []


def test_a_held_request_still_held_after_a_release_is_not_announced_again(runtime):
    """Two holds keep one request's two calls; the first is released while the requester is
    disabled: its call's item is not resumed (Error), the other still Held. The request stays
    Held: no second ``purge.completed`` Held (found by review: the settle rewrote Held to Held)."""
    webhook_id = subscribe(runtime, "purge.completed")
    first, second = seed_calls(runtime, 2, seed=4)
    create_user(runtime.engine, "robot", ["purge"])
    holds = HoldService(runtime)
    one = holds.place("m", "r", HoldScope(call_ids=[first]), "tester", None, None)
    holds.place("m", "r", HoldScope(call_ids=[second]), "tester", None, None)
    asked = PurgeService(runtime).purge_calls([first, second], False, "robot")
    disable_user(runtime.engine, "robot")
    holds.release(one["holdId"], "done", "tester")
    states = [(p["data"]["requestId"], p["data"]["state"]) for p in outbox(runtime, webhook_id)]
    assert states == [(asked.request_id, "Held")]
    assert PurgeService(runtime).request(asked.request_id)["state"] == "Held"


def test_exports_and_redactions_announce_ids_and_counts_only(runtime):
    webhook_id = subscribe(runtime, "export.created", "export.downloaded", "redaction.completed")
    trail = AuditTrail(runtime.keys.audit_chain_key)
    events = [
        AuditEvent(
            "export.created",
            "alice.smith",
            details={
                "exportId": "e1",
                "reference": "DSR-3",
                "calls": 4,
                "subjectHashes": ["ab" * 32],
                "phoneNumber": "+15125550100",
                "note": "Jane Doe asked",
                "partial": True,
            },
        ),
        AuditEvent("export.downloaded", "alice.smith", details={"exportId": "e1", "bytes": 9}),
        AuditEvent(
            "call.redacted",
            "bob",
            call_id="c1",
            details={"redactionId": "r1", "reason": "pci", "ranges": [[0, 5]], "reference": None},
        ),
        AuditEvent("redaction.failed", "bob", call_id="c2", details={"redactionId": "r2"}),
    ]
    with write_transaction(runtime.engine) as conn:
        trail.append(conn, events)
    assert [(p["type"], p["data"]) for p in outbox(runtime, webhook_id)] == [
        ("export.created", {"exportId": "e1", "reference": "DSR-3", "calls": 4}),
        ("export.downloaded", {"exportId": "e1", "reference": None, "bytes": 9}),
        (
            "redaction.completed",
            {"redactionId": "r1", "reference": None, "callId": "c1", "state": "Redacted"},
        ),
        (
            "redaction.completed",
            {"redactionId": "r2", "reference": None, "callId": "c2", "state": "Failed"},
        ),
    ]
