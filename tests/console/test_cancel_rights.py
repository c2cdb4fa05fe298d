"""The console's cancel follows the API's rule (contract §13): the requester (with `purge`), any
`retention` user for a `retention` request, `admin` for any; anyone else gets a 403 page, nothing
changes, and is not offered the button."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from console_helpers import hidden
from helpers import call_info, post_call

pytestmark = pytest.mark.settings(purge_grace_seconds=3600)

PHONE = "(512) 555-0174"
CANCEL_BUTTON = "Cancel this purge"
CANCELLED = 'id="state" class="badge state-cancelled">Cancelled<'
PURGING = 'id="state" class="badge state-purging">Purging<'


def capture(live, session_id: str, days_ago: float = 1) -> None:
    start = (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    info = call_info(
        session_id,
        startTime=start,
        endTime=None,
        contacts=[{"type": "Customer", "phoneNumber": PHONE}],
    )
    with live.client(live.token("capture")) as client:
        assert post_call(client, info).status_code == 200


def test_only_the_requester_or_admin_cancels_from_the_console(live, console_as):
    live.app_state.workers.close()
    capture(live, "c-1")
    alice = console_as("purge")
    preview = alice.post("/console/lookup", phone=PHONE)
    fields = {name: hidden(preview.text, name) for name in ("phone", "confirm", "expected")}
    page = alice.post("/console/purge", **fields, typed="1").headers["location"]
    assert CANCEL_BUTTON in alice.http.get(page).text

    bob = console_as("purge", "audit")
    assert CANCEL_BUTTON not in bob.http.get(page).text
    refused = bob.post(page + "/cancel")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert "admin" in refused.text
    assert PURGING in bob.http.get(page).text

    assert CANCEL_BUTTON in console_as("admin").http.get(page).text
    assert alice.post(page + "/cancel").status_code == 303
    assert CANCELLED in alice.http.get(page).text


def test_a_retention_request_is_cancelled_by_a_retention_user(live, console_as):
    live.app_state.workers.close()
    capture(live, "old-c", days_ago=100)
    with live.client(live.token("retention")) as client:
        assert client.put("/retention/v1/policies/ninety", json={"maxAgeDays": 90}).is_success
    (request_id,) = live.app_state.retention_service.sweep().request_ids
    page = f"/console/requests/{request_id}"

    purger = console_as("purge", "audit")
    assert CANCEL_BUTTON not in purger.http.get(page).text
    assert purger.post(page + "/cancel").status_code == 403
    assert PURGING in purger.http.get(page).text

    assert CANCEL_BUTTON in console_as("retention", "audit").http.get(page).text
    # `retention` alone, without `purge`, reaches the cancel too.
    assert console_as("retention").post(page + "/cancel").status_code == 303
    assert CANCELLED in purger.http.get(page).text
