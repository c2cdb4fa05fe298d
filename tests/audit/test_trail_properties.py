"""Properties of the audit trail's keyed hash chain (README "Purging", contract §7).

For any events appended in any batch sizes, ``verify`` accepts the whole chain; after any one
tampering done directly in the database — an edited field of any row, a deleted row that is not
the newest, two rows' ``seq`` swapped, a changed ``prev_hash`` or ``hash`` — it reports a problem,
at exactly the first event that no longer checks out.

Every example gets a database of its own (the fixtures are per test, not per example).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from callvault.audit.trail import AuditEvent, AuditTrail
from callvault.runtime import Runtime
from callvault.settings import Settings
from callvault.store.engine import write_transaction
from callvault.store.tables import audit_events

# Text the API would let through to the trail: no NUL, no lone surrogate.
clean = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
short_text = st.text(clean, min_size=1, max_size=30)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False)
    | st.text(clean, max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(clean, max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
details = st.dictionaries(st.text(clean, max_size=10), json_values, max_size=4)
optional_id = st.none() | st.text(st.sampled_from("0123456789abcdef"), min_size=1, max_size=32)

events = st.builds(
    AuditEvent,
    action=st.sampled_from(["purge.requested", "call.erased", "user.created"]) | short_text,
    actor=short_text,
    request_id=optional_id,
    call_id=optional_id,
    session_id=st.none() | short_text,
    details=details,
)


@st.composite
def batches(draw: st.DrawFn) -> list[list[AuditEvent]]:
    """Events in consecutive batches of random sizes (an empty batch appends nothing)."""
    flat = draw(st.lists(events, min_size=1, max_size=25))
    out, i = [], 0
    while i < len(flat):
        if draw(st.integers(0, 9)) == 0:
            out.append([])  # appends nothing, must change nothing
        size = draw(st.integers(1, 6))
        out.append(flat[i : i + size])
        i += size
    return out


@st.composite
def tamperings(draw: st.DrawFn, n: int) -> tuple[str, int, Any]:
    """(kind, seq of the row tampered with, argument)."""
    kinds = ["edit", "prev_hash", "hash"] + (["delete", "swap"] if n >= 2 else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "delete":
        return kind, draw(st.integers(1, n - 1)), None
    if kind == "swap":
        first = draw(st.integers(1, n - 1))
        return kind, first, draw(st.integers(first + 1, n))
    seq = draw(st.integers(1, n))
    if kind == "edit":
        column = draw(
            st.sampled_from(
                ["actor", "action", "details", "at", "call_id", "session_id", "request_id"]
            )
        )
        return kind, seq, (column, draw(st.integers(0, 2**32)), draw(details))
    return kind, seq, draw(st.text(st.sampled_from("0123456789abcdef"), min_size=64, max_size=64))


def _changed(column: str, old: Any, salt: int, new_details: dict[str, Any]) -> Any:
    """A value of ``column`` different from ``old`` (its canonical form differs too)."""
    if column == "at":
        return old + timedelta(microseconds=1 + salt % 10**9)
    if column == "details":
        current = json.loads(old)
        candidate = new_details if new_details != current else {**current, "tampered": salt}
        return json.dumps(candidate)
    candidate = f"forged-{salt}"
    return candidate if candidate != old else f"{candidate}x"


def _tamper(runtime: Runtime, kind: str, seq: int, arg: Any) -> None:
    table = audit_events
    with runtime.engine.begin() as conn:
        if kind == "delete":
            conn.execute(delete(table).where(table.c.seq == seq))
        elif kind == "swap":
            conn.execute(update(table).where(table.c.seq == seq).values(seq=-1))
            conn.execute(update(table).where(table.c.seq == arg).values(seq=seq))
            conn.execute(update(table).where(table.c.seq == -1).values(seq=arg))
        elif kind in ("prev_hash", "hash"):
            old = conn.execute(select(table.c[kind]).where(table.c.seq == seq)).scalar_one()
            new = arg if arg != old else ("1" if old[0] == "0" else "0") + old[1:]
            conn.execute(update(table).where(table.c.seq == seq).values({kind: new}))
        else:
            column, salt, new_details = arg
            old = conn.execute(select(table.c[column]).where(table.c.seq == seq)).scalar_one()
            new = _changed(column, old, salt, new_details)
            conn.execute(update(table).where(table.c.seq == seq).values({column: new}))


@settings(max_examples=30, deadline=None)
@given(batches=batches(), data=st.data())
def test_any_single_tampering_is_detected_where_it_happened(tmp_path_factory, batches, data):
    runtime = Runtime.open(Settings(data_dir=tmp_path_factory.mktemp("trail") / "data"))
    try:
        trail = AuditTrail(runtime.keys.audit_chain_key)
        for batch in batches:
            with write_transaction(runtime.engine) as conn:
                trail.append(conn, batch)
        n = sum(len(b) for b in batches)
        assert trail.verify(runtime.engine) == (n, None)
        rows = list(trail.iter_rows(runtime.engine))
        assert [r["seq"] for r in rows] == list(range(1, n + 1))
        appended = [e for b in batches for e in b]
        assert [(r["actor"], r["action"], r["details"]) for r in rows] == [
            (e.actor, e.action, e.details) for e in appended
        ]

        kind, seq, arg = data.draw(tamperings(n), label="tampering")
        _tamper(runtime, kind, seq, arg)
        checked, problem = trail.verify(runtime.engine)
        assert problem is not None, (kind, seq, arg)
        # Every event before the tampered one still checks out; the first bad one is named.
        assert checked == seq - 1, (kind, seq, arg, checked, problem)
        assert f"event {seq}" in problem, (kind, seq, problem)
    finally:
        runtime.close()


@settings(max_examples=10, deadline=None)
@given(batches=batches())
def test_the_chain_does_not_verify_under_another_key(tmp_path_factory, batches):
    runtime = Runtime.open(Settings(data_dir=tmp_path_factory.mktemp("trail") / "data"))
    try:
        for batch in batches:
            with write_transaction(runtime.engine) as conn:
                AuditTrail(runtime.keys.audit_chain_key).append(conn, batch)
        checked, problem = AuditTrail(b"\x00" * 32).verify(runtime.engine)
        assert (checked, problem is None) == (0, False)
    finally:
        runtime.close()
