"""Calls a customer purge holds back under a legal hold are armed: the release erases them, so
they count toward the confirmation threshold and the quota like queued ones (contract §13,
"Every erasure path is guarded alike"; issue 32, item 2)."""

from __future__ import annotations

import pytest

from helpers import call_info, post_call

pytestmark = [
    pytest.mark.both_backends,
    pytest.mark.settings(purge_confirm_above=2, purge_quota_per_hour=5),
]

PHONE = "+1 512 555 0177"
CUSTOMER = "/purge/v1/calls/customer"


def _capture(live, token, n, phone=PHONE, prefix="armed") -> None:
    with live.client(token) as client:
        for i in range(n):
            info = call_info(
                f"{prefix}-{i}",
                contacts=[{"type": "Customer", "phoneNumber": phone}],
                startTime=f"2024-01-01T04:{i:02d}:00Z",
                endTime=None,
            )
            assert post_call(client, info).status_code == 200


def _hold(live, phone=PHONE) -> str:
    with live.client(live.token("hold")) as client:
        placed = client.post(
            "/holds/v1", json={"matter": "m", "reason": "r", "phoneNumbers": [phone]}
        )
        assert placed.status_code == 201, placed.text
        hold_id: str = placed.json()["holdId"]
        return hold_id


def test_held_calls_count_toward_the_threshold(live):
    _capture(live, live.token("capture"), 4)
    _hold(live)
    with live.client(live.token("purge")) as client:
        refused = client.post(CUSTOMER, json={"phoneNumber": PHONE})
        assert refused.status_code == 409, refused.text
        assert refused.json()["matched"] == 4
        preview = client.post(CUSTOMER, params={"whatIf": "true"}, json={"phoneNumber": PHONE})
        token = preview.json()["confirmToken"]
        armed = client.post(CUSTOMER, params={"confirm": token}, json={"phoneNumber": PHONE})
        assert armed.status_code == 200, armed.text
        assert {i["status"] for i in armed.json()["items"]} == {"Error"}


def test_held_calls_cost_quota(live):
    _capture(live, live.token("capture"), 2, prefix="first")
    _capture(live, live.token("capture"), 2, phone="+1 512 555 0178", prefix="second")
    _capture(live, live.token("capture"), 2, phone="+1 512 555 0179", prefix="third")
    _hold(live)
    _hold(live, "+1 512 555 0178")
    with live.client(live.token("purge")) as client:
        for phone in (PHONE, "+1 512 555 0178"):
            assert client.post(CUSTOMER, json={"phoneNumber": phone}).status_code == 200
        # 4 armed of 5: two more pass the quota.
        over = client.post(CUSTOMER, json={"phoneNumber": "+1 512 555 0179"})
        assert over.status_code == 429, over.text
