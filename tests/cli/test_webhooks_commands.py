"""``callvault webhooks add|list|deliveries|remove`` against a live server, through the SDK
(contract §23): the secret printed once verifies what the receiver gets."""

from __future__ import annotations

import json

import pytest

from webhook_receiver import Receiver


@pytest.mark.cli_process
def test_add_list_deliveries_remove(live, cli_as):
    cli = cli_as("admin")
    receiver = Receiver().start()
    try:
        added = cli("webhooks", "add", receiver.url, "--event", "hold.placed", "-o", "json")
        assert added.returncode == 0, added.stderr
        (made,) = json.loads(added.stdout)
        assert made["secret"].startswith("whsec_")
        assert "shown this once" in added.stderr
        receiver.secret = made["secret"]
        with live.client(live.token("hold")) as client:
            placed = client.post("/holds/v1", json={"matter": "m", "reason": "r", "callIds": ["c"]})
            assert placed.status_code == 201, placed.text
        receiver.wait_for(lambda r: r.types() == ["hold.placed"])
    finally:
        receiver.stop()
    assert receiver.refused == []

    listed = cli("webhooks", "list", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    (shown,) = json.loads(listed.stdout)
    assert shown["webhookId"] == made["webhookId"]
    assert "secret" not in shown

    log = cli("webhooks", "deliveries", made["webhookId"], "-o", "json")
    assert log.returncode == 0, log.stderr
    (attempt,) = json.loads(log.stdout)
    assert attempt["type"] == "hold.placed"
    assert attempt["httpStatus"] == 204
    assert attempt["state"] == "Delivered"
    assert attempt["deliveryId"] == receiver.received[0].message_id

    removed = cli("webhooks", "remove", made["webhookId"])
    assert removed.returncode == 0, removed.stderr
    assert json.loads(cli("webhooks", "list", "-o", "json").stdout) == []

    bad = cli("webhooks", "add", receiver.url, "--event", "purge.done")
    assert bad.returncode == 1
    assert "purge.done" in bad.stderr
    assert cli("webhooks", "add", receiver.url).returncode == 2  # no --event
    assert cli_as("purge")("webhooks", "list").returncode != 0  # admin only
