"""A retention policy change is guarded like a purge (contract §15, §13; issue 32, item 1):
a `retention` credential alone must not wipe the store past the confirmation threshold and the
hourly erasure quota."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from callvault.purge.loop import ErasureLoop, ErasureOptions
from callvault.retention.service import RetentionService
from callvault.store.tables import calls, retention_policies
from helpers import call_info, post_call

pytestmark = [
    pytest.mark.both_backends,
    pytest.mark.settings(purge_confirm_above=2, purge_quota_per_hour=5),
]

POLICY = "/retention/v1/policies"


def _capture(live, token, n, days_ago=2.0) -> list[str]:
    start = (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ids = []
    with live.client(token) as client:
        for i in range(n):
            answer = post_call(client, call_info(f"wipe-{i}", startTime=start, endTime=None))
            assert answer.status_code == 200, answer.text
            ids.append(answer.json()["callId"])
    return ids


def _live_calls(live) -> int:
    with live.runtime.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(calls).where(calls.c.status != "Purging")
            ).scalar_one()
        )


def _policies(live) -> list[str]:
    with live.runtime.engine.connect() as conn:
        return list(conn.execute(select(retention_policies.c.name)).scalars())


def _sweep_and_erase(live) -> None:
    live.app_state.workers.close() if live.app_state.workers else None
    RetentionService(live.runtime).sweep()
    ErasureLoop(live.runtime, ErasureOptions()).drain()


def test_a_retention_credential_alone_cannot_wipe_the_store(live):
    _capture(live, live.token("capture"), 10)
    retention = live.token("retention")
    with live.client(retention) as client:
        # The attack as reported: one PUT, no preview.
        attack = client.put(f"{POLICY}/wipe", json={"maxAgeDays": 1})
        assert attack.status_code == 409, attack.text
        assert attack.json()["matched"] == 10
        assert "whatIf" in attack.json()["detail"]
    assert _policies(live) == []
    _sweep_and_erase(live)
    assert _live_calls(live) == 10

    with live.client(retention) as client:
        preview = client.put(f"{POLICY}/wipe", params={"whatIf": "true"}, json={"maxAgeDays": 1})
        assert preview.status_code == 200, preview.text
        body = preview.json()
        assert body["expiredNow"] == 10
        assert body["heldNow"] == 0
        token = body["confirmToken"]
        # Confirmed, but 10 calls pass the quota of 5: 429, nothing saved.
        over = client.put(f"{POLICY}/wipe", params={"confirm": token}, json={"maxAgeDays": 1})
        assert over.status_code == 429, over.text
        assert "quota" in over.json()["detail"]
        assert over.headers["retry-after"]
    assert _policies(live) == []
    _sweep_and_erase(live)
    assert _live_calls(live) == 10


def test_a_confirmed_change_within_the_quota_is_saved_and_swept(live):
    _capture(live, live.token("capture"), 4)
    retention = live.token("retention")
    with live.client(retention) as client:
        preview = client.put(f"{POLICY}/wipe", params={"whatIf": "true"}, json={"maxAgeDays": 1})
        token = preview.json()["confirmToken"]
        # The token binds maxAgeDays, direction and the name.
        for other in (
            {"name": "wipe", "body": {"maxAgeDays": 1, "direction": "Inbound"}},
            {"name": "other", "body": {"maxAgeDays": 1}},
        ):
            refused = client.put(
                f"{POLICY}/{other['name']}", params={"confirm": token}, json=other["body"]
            )
            assert refused.status_code == 409, refused.text
        preview = client.put(f"{POLICY}/wipe", params={"whatIf": "true"}, json={"maxAgeDays": 1})
        token = preview.json()["confirmToken"]
        # ...and another user cannot use it.
        with live.client(live.token("retention")) as thief:
            stolen = thief.put(f"{POLICY}/wipe", params={"confirm": token}, json={"maxAgeDays": 1})
            assert stolen.status_code == 409
        preview = client.put(f"{POLICY}/wipe", params={"whatIf": "true"}, json={"maxAgeDays": 1})
        token = preview.json()["confirmToken"]
        saved = client.put(f"{POLICY}/wipe", params={"confirm": token}, json={"maxAgeDays": 1})
        assert saved.status_code == 200, saved.text
        assert saved.json()["expiredNow"] == 4
        # Used once.
        again = client.put(f"{POLICY}/wipe", params={"confirm": token}, json={"maxAgeDays": 1})
        assert again.status_code == 409
    assert _policies(live) == ["wipe"]
    _sweep_and_erase(live)
    assert _live_calls(live) == 0


def test_the_quota_charged_by_a_change_counts_for_the_next_one(live):
    capture = live.token("capture")
    _capture(live, capture, 2, days_ago=10)
    retention = live.token("retention")
    with live.client(retention) as client:
        # 2 calls: at the threshold, no token needed; charged to the quota (2 of 5).
        first = client.put(f"{POLICY}/nine", json={"maxAgeDays": 9})
        assert first.status_code == 200, first.text
        assert first.json()["expiredNow"] == 2
    with live.client(capture) as client:
        start = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        for i in range(4):
            answer = post_call(client, call_info(f"young-{i}", startTime=start, endTime=None))
            assert answer.status_code == 200
    with live.client(retention) as client:
        preview = client.put(f"{POLICY}/one", params={"whatIf": "true"}, json={"maxAgeDays": 1})
        assert preview.json()["expiredNow"] == 6
        # 2 charged + 6 > 5: refused whole.
        over = client.put(
            f"{POLICY}/one",
            params={"confirm": preview.json()["confirmToken"]},
            json={"maxAgeDays": 1},
        )
        assert over.status_code == 429, over.text
    assert _policies(live) == ["nine"]
