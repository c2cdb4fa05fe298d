"""store/suppressions.py on both backends: which suppressions are in force, pages, tombstones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callvault.store import suppressions as store
from callvault.store.engine import write_transaction
from callvault.store.suppressions import Tombstone

pytestmark = pytest.mark.both_backends

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def _make(runtime, sid: str, digests: list[bytes], at: datetime = NOW, **values) -> None:
    row = {
        "suppression_id": sid,
        "state": "Active",
        "identifiers": len(digests),
        "created_by": "tester",
        "created_at": at,
        "expires_at": None,
        "lifted_by": None,
        "lifted_at": None,
        "reference": None,
        "request_id": None,
        "sealed_texts": b"-",
    }
    row.update(values)
    with write_transaction(runtime.engine) as conn:
        store.insert_suppression(conn, row, digests)


def test_in_force_means_active_and_not_expired(runtime):
    a, b, c = (bytes([n]) * 32 for n in (1, 2, 3))
    _make(runtime, "s-plain", [a, b])
    _make(runtime, "s-expiring", [a], expires_at=NOW + timedelta(hours=1))
    _make(runtime, "s-lifted", [c])
    with write_transaction(runtime.engine) as conn:
        assert store.mark_lifted(conn, "s-lifted", "tester", NOW, b"--")
        assert not store.mark_lifted(conn, "s-lifted", "tester", NOW, b"--")
    with runtime.engine.connect() as conn:
        assert store.active_for(conn, [a], NOW) == ["s-expiring", "s-plain"]
        assert store.active_for(conn, [a, b], NOW + timedelta(hours=2)) == ["s-plain"]
        assert store.active_for(conn, [c], NOW) == []
        assert store.active_for(conn, [], NOW) == []
        assert store.active_for(conn, [bytes(32)], NOW) == []
        row = store.get_suppression(conn, "s-expiring")
        assert row is not None
        assert row.state_at(NOW) == "Active"
        assert row.state_at(NOW + timedelta(hours=1)) == "Expired"


def test_pages_newest_first_by_state_and_reference(runtime):
    for n in range(5):
        _make(
            runtime,
            f"s-{n}",
            [bytes([n]) * 32],
            at=NOW + timedelta(minutes=n),
            reference="R" if n % 2 else None,
            expires_at=NOW if n == 4 else None,
        )
    later = NOW + timedelta(hours=1)
    with runtime.engine.connect() as conn:
        first = store.page_suppressions(conn, None, None, 2, None, later)
        assert [r.suppression_id for r in first] == ["s-4", "s-3"]
        after = (first[-1].created_at, first[-1].suppression_id)
        rest = store.page_suppressions(conn, None, None, 10, after, later)
        assert [r.suppression_id for r in rest] == ["s-2", "s-1", "s-0"]
        active = store.page_suppressions(conn, "Active", None, 10, None, later)
        assert [r.suppression_id for r in active] == ["s-3", "s-2", "s-1", "s-0"]
        expired = store.page_suppressions(conn, "Expired", None, 10, None, later)
        assert [r.suppression_id for r in expired] == ["s-4"]
        referenced = store.page_suppressions(conn, None, "R", 10, None, later)
        assert [r.suppression_id for r in referenced] == ["s-3", "s-1"]


def test_a_sessions_latest_tombstone_answers(runtime):
    with write_transaction(runtime.engine) as conn:
        store.insert_tombstone(conn, Tombstone("c1", "sess", "s1", NOW), "rec")
        store.insert_tombstone(conn, Tombstone("c2", "sess", "s1", NOW + timedelta(1)), "rec")
        store.insert_tombstone(conn, Tombstone("c3", "other", "s2", NOW), "rec")
    with runtime.engine.connect() as conn:
        found = store.tombstones_by_session(conn, ["sess", "other", "none"])
        assert store.tombstones_by_session(conn, []) == {}
    assert {k: v.call_id for k, v in found.items()} == {"sess": "c2", "other": "c3"}
