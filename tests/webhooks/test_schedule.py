"""When a failed webhook delivery is tried again (contract §23): the first retry after
CALLVAULT_WEBHOOK_RETRY_SECONDS, each later wait doubled, at most an hour apart, given up 24
hours after the event, with a loud log line that names no URL."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from callvault.audit.trail import AuditEvent, AuditTrail
from callvault.store.engine import write_transaction
from callvault.store.tables import webhook_deliveries
from callvault.webhooks.delivery import next_try
from callvault.webhooks.loop import DeliveryLoop, DeliveryOptions
from callvault.webhooks.service import WebhookService
from helpers import free_port
from webhook_receiver import Receiver

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_waits_double_from_the_setting_at_most_an_hour_apart_for_24_hours():
    now, waits = T0, []
    for attempt in range(1, 100):
        due = next_try(attempt, T0, now, 5.0)
        if due is None:
            break
        waits.append((due - now).total_seconds())
        now = due
    assert waits[:5] == [5, 10, 20, 40, 80]
    assert max(waits) == 3600
    assert now <= T0 + timedelta(hours=24)
    assert now + timedelta(hours=1) > T0 + timedelta(hours=24)  # tried until the end
    assert next_try(1, T0, T0, 0.5) == T0 + timedelta(seconds=0.5)


def test_a_delivery_past_24_hours_is_given_up_loudly_without_its_url(runtime, caplog):
    url = f"http://127.0.0.1:{free_port()}/hooks?token=receiver-secret-query"
    made = WebhookService(runtime).create(url, ["hold.released"], "admin")
    event = AuditEvent("hold.released", "tester", details={"holdId": "h", "resumedCalls": 0})
    with write_transaction(runtime.engine) as conn:
        AuditTrail(runtime.keys.audit_chain_key).append(conn, [event])
        conn.execute(
            update(webhook_deliveries).values(
                created_at=datetime.now(UTC) - timedelta(hours=24, seconds=1)
            )
        )
    loop = DeliveryLoop(runtime, DeliveryOptions())
    with caplog.at_level(logging.ERROR, logger="callvault.webhooks.loop"):
        assert loop.step() == 1
    loop.close()
    [line] = [r.getMessage() for r in caplog.records if "GAVE UP" in r.getMessage()]
    assert "hold.released" in line
    assert made["webhookId"] in line
    assert "127.0.0.1" not in line
    assert "token" not in line
    log = WebhookService(runtime).deliveries(made["webhookId"], 10, None)["deliveries"]
    assert [(a["state"], a["nextTryAt"], a["httpStatus"]) for a in log] == [("Failed", None, None)]
    assert "connect" in log[0]["error"]
    assert loop.step() == 0  # never tried again


def test_a_redirect_is_not_followed_and_is_tried_again(runtime):
    receiver = Receiver(answer=307).start()  # a 3xx is no 2xx: never followed, retried
    try:
        made = WebhookService(runtime).create(receiver.url, ["hold.released"], "admin")
        receiver.secret = made["secret"]
        event = AuditEvent("hold.released", "tester", details={"holdId": "h", "resumedCalls": 0})
        with write_transaction(runtime.engine) as conn:
            AuditTrail(runtime.keys.audit_chain_key).append(conn, [event])
        loop = DeliveryLoop(runtime, DeliveryOptions(retry_seconds=60))
        assert loop.step() == 1
        assert loop.step() == 0  # not due again for a minute
        loop.close()
    finally:
        receiver.stop()
    assert len(receiver.received) == 1
    [attempt] = WebhookService(runtime).deliveries(made["webhookId"], 10, None)["deliveries"]
    assert (attempt["httpStatus"], attempt["state"], attempt["error"]) == (307, "Pending", None)
    assert attempt["nextTryAt"] is not None
