"""The SQL condition "an active legal hold covers this call" (retention's counts) answers as the
per-call rule does, however many holds there are and however many entries they name: the
contract lets each hold name 1,000 call IDs, 1,000 session IDs and 1,000 phone numbers."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from sqlalchemy import select

from callvault.demo import seed_calls
from callvault.store import holds
from callvault.store.engine import write_transaction
from callvault.store.tables import calls, customer_phones
from callvault.store.types import utcnow

pytestmark = pytest.mark.both_backends

FILLER = 1000  # entries of each kind a hold may name (contract §12)


def _place(conn, call_ids=(), session_ids=(), digests=(), after=None, state=holds.ACTIVE):
    hold_id = "hold-" + secrets.token_hex(8)
    holds.insert_hold(
        conn,
        {
            "hold_id": hold_id,
            "matter": "m",
            "reason": "r",
            "state": state,
            "created_by": "tester",
            "created_at": utcnow(),
            "started_after": after,
            "started_before": None,
            "has_entries": bool(call_ids or session_ids or digests),
            "sealed_scope": b"-",
        },
        list(call_ids),
        list(session_ids),
        list(digests),
    )
    return hold_id


def _filler(prefix: str) -> list[str]:
    return [f"{prefix}-{secrets.token_hex(6)}" for _ in range(FILLER)]


def _covered_in_sql(conn) -> set[str]:
    condition = holds.covered_by_active()
    return set(conn.execute(select(calls.c.call_id).where(condition)).scalars())


def _by_each_hold(conn, call_ids) -> dict[str, list[str]]:
    """The rule asked hold by hold, each with its own lists (holds._covers, as a hold's
    placement counts its calls): the reference both faster forms must agree with."""
    found: dict[str, list[str]] = {}
    oldest_first = sorted(
        holds.list_holds(conn, holds.ACTIVE), key=lambda h: (h.created_at, h.hold_id)
    )
    for hold in oldest_first:
        query = select(calls.c.call_id).where(calls.c.call_id.in_(call_ids), holds._covers(hold))
        for call_id in conn.execute(query).scalars():
            found.setdefault(call_id, []).append(hold.hold_id)
    return found


def test_the_condition_answers_as_the_per_call_rule_with_many_large_holds(runtime):
    ids = seed_calls(runtime, 40, session_prefix="held-", seed=7)
    with runtime.engine.connect() as conn:
        rows = {r.call_id: r for r in conn.execute(select(calls.c.call_id, calls.c.session_id))}
        digest_of = dict(
            conn.execute(select(customer_phones.c.call_id, customer_phones.c.digest)).all()
        )
        started = {
            r.call_id: r.start_time
            for r in conn.execute(select(calls.c.call_id, calls.c.start_time))
        }
    with write_transaction(runtime.engine) as conn:
        # 24 holds at the contract's size, each also naming one real call by one kind of entry:
        # 72,000 values, past PostgreSQL's 65,535 bound parameters and SQLite's 32,766.
        for k in range(24):
            target = ids[k]
            kind = k % 3
            _place(
                conn,
                call_ids=_filler("call") + ([target] if kind == 0 else []),
                session_ids=_filler("session") + ([rows[target].session_id] if kind == 1 else []),
                digests=[secrets.token_bytes(32) for _ in range(FILLER)]
                + ([digest_of[target]] if kind == 2 else []),
            )
        # 1,100 small holds: an OR of each hold's condition nests deeper than SQLite's 1,000.
        for _ in range(1100):
            _place(conn, call_ids=[f"call-{secrets.token_hex(6)}"])
        # A window alone covers the calls that started inside it; a released hold covers none.
        latest = max(started.values())
        _place(conn, after=latest - timedelta(microseconds=1))
        _place(conn, call_ids=ids[30:35], state=holds.RELEASED)
    with runtime.engine.connect() as conn:
        reference = _by_each_hold(conn, ids)
        assert len(reference) >= 25  # the 24 named, and the latest calls by the window
        assert not set(reference) & set(ids[30:35]) - {i for i in ids if started[i] >= latest}
        assert holds.covering(conn, ids) == reference  # the same holds, in the same order
        assert _covered_in_sql(conn) == set(reference)
