"""Retention policies (contract §15) against the service and a real purge worker, on both
backends: policies, the preview, the sweep and what it queues, holds, the forecast."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from callvault.certificates.service import CertificateService
from callvault.demo import seed_calls
from callvault.errors import BadInput, NotFound
from callvault.holds.service import HoldScope, HoldService
from callvault.purge.loop import ErasureLoop, ErasureOptions
from callvault.purge.service import PurgeService
from callvault.retention.service import MAX_CALLS_PER_REQUEST, RetentionService
from callvault.store.tables import audit_events, calls, purge_items, purge_jobs, purge_requests
from helpers import chained

pytestmark = pytest.mark.both_backends

_SEQ = itertools.count()


def _calls(runtime, ages_days, direction="Inbound", prefix="c") -> list[str]:
    """Real calls (key, sealed details, blob, index), started ``ages_days`` days ago."""
    ids = seed_calls(runtime, len(ages_days), session_prefix=f"{prefix}-{next(_SEQ)}-")
    now = datetime.now(UTC)
    with runtime.engine.begin() as conn:
        for call_id, age in zip(ids, ages_days, strict=True):
            conn.execute(
                update(calls)
                .where(calls.c.call_id == call_id)
                .values(start_time=now - timedelta(days=age), direction=direction)
            )
    return ids


def _retention_requests(runtime) -> list[tuple[str, str, list[str]]]:
    """(requestId, requestedBy, call IDs) of every retention request, oldest first."""
    with runtime.engine.connect() as conn:
        heads = conn.execute(
            select(purge_requests.c.request_id, purge_requests.c.requested_by)
            .where(purge_requests.c.kind == "retention")
            .order_by(purge_requests.c.created_at)
        ).all()
        out = []
        for request_id, by in heads:
            items = conn.execute(
                select(purge_items.c.call_id).where(purge_items.c.request_id == request_id)
            ).scalars()
            out.append((request_id, by, list(items)))
    return out


def _live(runtime, ids) -> set[str]:
    with runtime.engine.connect() as conn:
        return set(
            conn.execute(
                select(calls.c.call_id).where(calls.c.call_id.in_(ids), calls.c.status != "Purging")
            ).scalars()
        )


def _actions(runtime) -> list[dict]:
    with chained(runtime).engine.connect() as conn:
        rows = conn.execute(
            select(audit_events.c.action, audit_events.c.actor, audit_events.c.details).order_by(
                audit_events.c.seq
            )
        ).all()
    return [{"action": a, "actor": b, "details": json.loads(d)} for a, b, d in rows]


# --------------------------------------------------------------------------- policies


def test_set_list_delete_a_policy_and_audit_each_change(runtime):
    service = RetentionService(runtime)
    saved = service.put("pci-90d", 90, None, "officer")
    assert saved["name"] == "pci-90d"
    assert saved["maxAgeDays"] == 90
    assert saved["direction"] is None
    assert saved["updatedBy"] == "officer"
    assert saved["updatedAt"].endswith("Z")
    assert saved["expiredNow"] == 0
    service.put("inbound", 30, "Inbound", "officer")
    changed = service.put("pci-90d", 60, "Outbound", "dpo")
    assert (changed["maxAgeDays"], changed["direction"], changed["updatedBy"]) == (
        60,
        "Outbound",
        "dpo",
    )
    listed = service.list()
    assert [p["name"] for p in listed] == ["inbound", "pci-90d"]
    assert listed[1]["maxAgeDays"] == 60
    service.delete("inbound", "dpo")
    assert [p["name"] for p in service.list()] == ["pci-90d"]
    with pytest.raises(NotFound):
        service.delete("inbound", "dpo")
    events = [e for e in _actions(runtime) if e["action"].startswith("retention.")]
    assert [e["action"] for e in events] == [
        "retention.policy.set",
        "retention.policy.set",
        "retention.policy.set",
        "retention.policy.deleted",
    ]
    assert events[2]["actor"] == "dpo"
    assert events[2]["details"]["name"] == "pci-90d"
    assert events[2]["details"]["maxAgeDays"] == 60
    assert events[2]["details"]["direction"] == "Outbound"
    assert events[2]["details"]["previous"] == {"maxAgeDays": 90, "direction": None}
    assert events[3]["details"]["name"] == "inbound"


@pytest.mark.parametrize(
    ("name", "days", "direction"),
    [
        ("", 30, None),
        ("a" * 65, 30, None),
        ("has space", 30, None),
        ("dot.name", 30, None),
        ("ok", 0, None),
        ("ok", 36501, None),
        ("ok", True, None),
        ("ok", 30, "inbound-ish"),
        ("ok", 30, "Sideways"),
    ],
)
def test_bad_policies_are_refused_and_change_nothing(runtime, name, days, direction):
    service = RetentionService(runtime)
    with pytest.raises(BadInput):
        service.put(name, days, direction, "officer")
    assert service.list() == []
    assert not [e for e in _actions(runtime) if e["action"].startswith("retention.")]


def test_what_if_saves_nothing_and_counts_what_the_sweep_then_erases(runtime):
    old_in = _calls(runtime, [400, 100, 31], "Inbound")
    young = _calls(runtime, [29, 1], "Inbound")
    old_out = _calls(runtime, [45], "Outbound")
    service = RetentionService(runtime)
    preview = service.put("thirty", 30, None, "officer", what_if=True)
    assert preview["expiredNow"] == 4
    assert service.list() == []
    assert not [e for e in _actions(runtime) if e["action"].startswith("retention.")]
    real = service.put("thirty", 30, None, "officer")
    assert real["expiredNow"] == preview["expiredNow"]
    swept = service.sweep()
    assert swept.queued == preview["expiredNow"]
    assert ErasureLoop(runtime, ErasureOptions()).drain() == preview["expiredNow"]
    remaining = _live(runtime, old_in + young + old_out)
    assert remaining == set(young)
    for call_id in old_in + old_out:
        assert runtime.keystore.get(call_id) is None, "an expired call kept its key"


# --------------------------------------------------------------------------- the sweep


def test_sweep_queues_expired_calls_as_retention_requests_erased_like_any_purge(runtime):
    expired = _calls(runtime, [40, 35])
    kept = _calls(runtime, [10])
    service = RetentionService(runtime)
    service.put("thirty", 30, None, "officer")
    swept = service.sweep()
    assert swept.queued == 2
    ((request_id, by, items),) = _retention_requests(runtime)
    assert by == "retention:thirty"
    assert sorted(items) == sorted(expired)
    assert ErasureLoop(runtime, ErasureOptions()).drain() == 2
    doc = PurgeService(runtime).request(request_id)
    assert doc["kind"] == "retention"
    assert doc["requestedBy"] == "retention:thirty"
    assert doc["state"] == "Complete"
    assert {i["status"] for i in doc["items"]} == {"Purged"}
    assert _live(runtime, kept) == set(kept)
    # The same audit and certificate as any purge: key first, then a signed statement.
    requested = [e for e in _actions(runtime) if e["action"] == "purge.requested"]
    assert requested[-1]["actor"] == "retention:thirty"
    assert requested[-1]["details"]["kind"] == "retention"
    assert requested[-1]["details"]["queued"] == 2
    jws = CertificateService(runtime).certificate(request_id, actor="auditor")
    claims = json.loads(_b64(jws.split(".")[1]))
    assert claims["kind"] == "retention"
    assert claims["requestedBy"] == "retention:thirty"
    assert all(i["dataKeyDestroyed"] for i in claims["items"])
    # A second sweep finds nothing and writes nothing.
    before = len(_actions(runtime))
    assert service.sweep().queued == 0
    assert len(_actions(runtime)) == before
    assert len(_retention_requests(runtime)) == 1


def _b64(part: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_a_direction_policy_reaches_only_its_direction(runtime):
    inbound = _calls(runtime, [50], "Inbound")
    outbound = _calls(runtime, [50], "Outbound")
    internal = _calls(runtime, [50], "Internal")
    service = RetentionService(runtime)
    assert service.put("out", 30, "Outbound", "officer")["expiredNow"] == 1
    assert service.sweep().queued == 1
    ((_, _, items),) = _retention_requests(runtime)
    assert items == outbound
    assert _live(runtime, inbound + internal) == set(inbound + internal)


def test_the_smallest_matching_max_age_applies_and_names_the_request(runtime):
    inbound_40 = _calls(runtime, [40], "Inbound")
    outbound_40 = _calls(runtime, [40], "Outbound")
    outbound_400 = _calls(runtime, [400], "Outbound")
    service = RetentionService(runtime)
    service.put("one-year", 365, None, "officer")
    service.put("inbound-30", 30, "Inbound", "officer")
    assert service.sweep().queued == 2
    by_actor = {by: items for _, by, items in _retention_requests(runtime)}
    assert by_actor == {
        "retention:inbound-30": inbound_40,
        "retention:one-year": outbound_400,
    }
    assert _live(runtime, outbound_40) == set(outbound_40)


def test_requests_hold_at_most_the_batch_in_their_own_transactions(runtime):
    assert MAX_CALLS_PER_REQUEST == 1000
    expired = _calls(runtime, [40, 41, 42, 43, 44])
    service = RetentionService(runtime, batch=2)
    service.put("thirty", 30, None, "officer")
    assert service.sweep().queued == 5
    requests = _retention_requests(runtime)
    assert [len(items) for _, _, items in requests] == [2, 2, 1]
    # Oldest first, each call in exactly one request.
    assert [c for _, _, items in requests for c in items] == list(reversed(expired))


def test_a_call_already_being_purged_is_not_queued_again(runtime):
    first, second = _calls(runtime, [40, 40])
    PurgeService(runtime).purge_calls([first], False, "person")
    service = RetentionService(runtime)
    assert service.put("thirty", 30, None, "officer")["expiredNow"] == 1
    assert service.sweep().queued == 1
    ((_, _, items),) = _retention_requests(runtime)
    assert items == [second]
    with runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(purge_jobs)).scalar_one() == 2


def test_a_call_captured_later_with_an_old_start_is_queued_at_the_next_sweep(runtime):
    service = RetentionService(runtime)
    service.put("thirty", 30, None, "officer")
    assert service.sweep().queued == 0
    (late,) = _calls(runtime, [90], prefix="late")
    assert service.sweep().queued == 1
    ((_, _, items),) = _retention_requests(runtime)
    assert items == [late]


def test_held_calls_are_skipped_and_erased_at_the_sweep_after_release(runtime):
    held, free = _calls(runtime, [40, 40])
    holds = HoldService(runtime)
    hold = holds.place("Doe v. Acme", "litigation", HoldScope(call_ids=[held]), "legal")
    service = RetentionService(runtime)
    assert service.put("thirty", 30, None, "officer")["expiredNow"] == 1
    assert service.forecast(7)["held"] == 1
    assert service.sweep().queued == 1
    ((_, _, items),) = _retention_requests(runtime)
    assert items == [free]
    assert ErasureLoop(runtime, ErasureOptions()).drain() == 1
    assert _live(runtime, [held]) == {held}
    assert runtime.keystore.get(held) is not None
    assert service.sweep().queued == 0  # still held: skipped again, no empty request
    assert len(_retention_requests(runtime)) == 1
    holds.release(hold["holdId"], "matter settled", "legal")
    assert service.sweep().queued == 1
    assert _retention_requests(runtime)[-1][2] == [held]
    assert ErasureLoop(runtime, ErasureOptions()).drain() == 1
    assert runtime.keystore.get(held) is None


def test_a_hold_placed_after_the_sweep_queued_a_call_saves_it_until_released(runtime):
    (call_id,) = _calls(runtime, [40])
    service = RetentionService(runtime)
    service.put("thirty", 30, None, "officer")
    assert service.sweep().queued == 1
    holds = HoldService(runtime)
    hold = holds.place("M", "r", HoldScope(call_ids=[call_id]), "legal")
    ErasureLoop(runtime, ErasureOptions()).drain()
    ((request_id, _, _),) = _retention_requests(runtime)
    purges = PurgeService(runtime)
    assert purges.request(request_id)["state"] == "Held"
    assert runtime.keystore.get(call_id) is not None
    # The retention request's erasure resumes by itself at the release, as any purge's does.
    holds.release(hold["holdId"], "matter settled", "legal")
    assert ErasureLoop(runtime, ErasureOptions()).drain() == 1
    resumed = purges.request(request_id)
    assert resumed["state"] == "Complete"
    assert [i["status"] for i in resumed["items"]] == ["Purged"]
    assert runtime.keystore.get(call_id) is None
    assert "purge.resumed" in [a["action"] for a in _actions(runtime)]
    assert service.sweep().queued == 0  # erased once, by the request that asked first


# --------------------------------------------------------------------------- the forecast


def test_forecast_counts_each_coming_day_overdue_and_held(runtime):
    now = datetime.now(UTC)
    today = now.date()
    # Cross the 30-day line: already (overdue), in 2 days, in 5 days, beyond the window.
    overdue = _calls(runtime, [31, 45], "Inbound")
    in_two = _calls(runtime, [28], "Outbound")
    in_five = _calls(runtime, [25, 25], "Inbound")
    _calls(runtime, [1], "Inbound")  # crosses in 29 days: outside a 7-day forecast
    held_overdue = _calls(runtime, [50], "Inbound", prefix="held")
    held_soon = _calls(runtime, [27], "Internal", prefix="held")
    HoldService(runtime).place("M", "r", HoldScope(call_ids=held_overdue + held_soon), "legal")
    service = RetentionService(runtime)
    service.put("thirty", 30, None, "officer")
    forecast = service.forecast(7)
    assert [d["date"] for d in forecast["days"]] == [
        (today + timedelta(days=i)).isoformat() for i in range(7)
    ]
    by_date = {d["date"]: d["calls"] for d in forecast["days"]}
    assert by_date[(today + timedelta(days=2)).isoformat()] == len(in_two)
    assert by_date[(today + timedelta(days=5)).isoformat()] == len(in_five)
    assert sum(by_date.values()) == len(in_two) + len(in_five)
    assert forecast["overdue"] == len(overdue)
    assert forecast["held"] == len(held_overdue) + len(held_soon)
    # What is overdue is what the next sweep queues.
    assert service.sweep().queued == forecast["overdue"]
    assert service.forecast(7)["overdue"] == 0


def test_forecast_follows_the_smallest_max_age_per_direction(runtime):
    today = datetime.now(UTC).date()
    _calls(runtime, [8], "Inbound")  # inbound policy 10 days: crosses in 2 days
    _calls(runtime, [8], "Outbound")  # only the 365-day policy: not within the window
    service = RetentionService(runtime)
    service.put("year", 365, None, "officer")
    service.put("inbound", 10, "Inbound", "officer")
    forecast = service.forecast(30)
    assert len(forecast["days"]) == 30
    nonzero = {d["date"]: d["calls"] for d in forecast["days"] if d["calls"]}
    assert nonzero == {(today + timedelta(days=2)).isoformat(): 1}
    assert forecast["overdue"] == 0


def test_forecast_days_must_be_between_1_and_366(runtime):
    service = RetentionService(runtime)
    for days in (0, 367, -1):
        with pytest.raises(BadInput):
            service.forecast(days)
    assert len(service.forecast(366)["days"]) == 366
    assert service.forecast(1) == {
        "days": [{"date": datetime.now(UTC).date().isoformat(), "calls": 0}],
        "overdue": 0,
        "held": 0,
    }
