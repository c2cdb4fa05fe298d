"""Queries of legal holds: placing, releasing, and which live calls a hold covers.

A hold covers a call when the call matches any of the hold's call IDs, session IDs or customer
phone digests (every call, when it names none) and started inside its window. For the calls
an acceptance, a capture or an erasure asks about, ``covering`` starts from the calls and finds
their holds through the entries' indexes (cost: the calls asked and the entries matching them,
whatever the number and size of holds). For counting over the whole store (retention),
``covered_by_active`` is one condition over the hold tables. A single
hold's own calls (``count_covered``, ``covered_being_erased``) are asked with its lists.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    and_,
    bindparam,
    exists,
    func,
    insert,
    not_,
    or_,
    select,
    text,
    union_all,
    update,
)

from callvault.crypto import KeyRing
from callvault.store.engine import write_transaction
from callvault.store.tables import calls, customer_phones, hold_entries, hold_phones, legal_holds

ACTIVE, RELEASED = "Active", "Released"
_TEXTS_PURPOSE = "hold-texts"
# PostgreSQL advisory lock that orders a hold's commit against the erasure of keys: erasers take
# it shared while they check holds and destroy keys, a hold change takes it exclusively. On SQLite
# the write lock that both take does the same.
HOLD_LOCK = 0x686F_6C64


@dataclass(frozen=True)
class HoldRow:
    hold_id: str
    matter: str
    reason: str
    state: str
    created_by: str
    created_at: datetime
    released_by: str | None
    released_at: datetime | None
    release_reason: str | None
    started_after: datetime | None
    started_before: datetime | None
    has_entries: bool
    sealed_scope: bytes
    sealed_texts: bytes | None = None  # None: only before the store's opening sealed them
    reference: str | None = None
    call_ids: tuple[str, ...] = ()
    session_ids: tuple[str, ...] = ()
    digests: tuple[bytes, ...] = ()

    @classmethod
    def from_row(cls, row: Any, entries: dict[str, list[Any]]) -> HoldRow:
        return cls(
            hold_id=row.hold_id,
            matter=row.matter,
            reason=row.reason,
            state=row.state,
            created_by=row.created_by,
            created_at=row.created_at,
            released_by=row.released_by,
            released_at=row.released_at,
            release_reason=row.release_reason,
            started_after=row.started_after,
            started_before=row.started_before,
            has_entries=row.has_entries,
            sealed_scope=bytes(row.sealed_scope),
            sealed_texts=None if row.sealed_texts is None else bytes(row.sealed_texts),
            reference=getattr(row, "reference", None),
            call_ids=tuple(entries.get("call", ())),
            session_ids=tuple(entries.get("session", ())),
            digests=tuple(bytes(d) for d in entries.get("phone", ())),
        )


def lock_for_change(conn: Connection) -> None:
    """Taken by a hold's placement or release, before anything else (PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": HOLD_LOCK})


def lock_for_erasure(conn: Connection) -> None:
    """Taken by an eraser before it checks holds and destroys keys (PostgreSQL; shared, so
    workers do not wait for each other)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": HOLD_LOCK})


def insert_hold(
    conn: Connection,
    values: dict[str, Any],
    call_ids: Sequence[str],
    session_ids: Sequence[str],
    digests: Sequence[bytes],
) -> None:
    conn.execute(insert(legal_holds).values(**values))
    entries = [{"hold_id": values["hold_id"], "kind": "call", "value": v} for v in call_ids]
    entries += [{"hold_id": values["hold_id"], "kind": "session", "value": v} for v in session_ids]
    if entries:
        conn.execute(insert(hold_entries), entries)
    if digests:
        conn.execute(
            insert(hold_phones), [{"hold_id": values["hold_id"], "digest": d} for d in digests]
        )


def _load(conn: Connection, condition: Any, newest_first: bool = False) -> list[HoldRow]:
    order = legal_holds.c.created_at.desc() if newest_first else legal_holds.c.created_at
    return _with_entries(conn, select(legal_holds).where(condition).order_by(order))


def _with_entries(conn: Connection, heads_query: Select[Any]) -> list[HoldRow]:
    """The holds ``heads_query`` selects, each with its entries."""
    heads = conn.execute(heads_query).all()
    if not heads:
        return []
    ids = [h.hold_id for h in heads]
    entries: dict[str, dict[str, list[Any]]] = {i: {} for i in ids}
    for e in conn.execute(
        select(hold_entries.c.hold_id, hold_entries.c.kind, hold_entries.c.value).where(
            hold_entries.c.hold_id.in_(ids)
        )
    ):
        entries[e.hold_id].setdefault(e.kind, []).append(e.value)
    for p in conn.execute(
        select(hold_phones.c.hold_id, hold_phones.c.digest).where(hold_phones.c.hold_id.in_(ids))
    ):
        entries[p.hold_id].setdefault("phone", []).append(p.digest)
    return [HoldRow.from_row(h, entries[h.hold_id]) for h in heads]


def get_hold(conn: Connection, hold_id: str) -> HoldRow | None:
    found = _load(conn, legal_holds.c.hold_id == hold_id)
    return found[0] if found else None


def list_holds(conn: Connection, state: str | None) -> list[HoldRow]:
    condition = (
        legal_holds.c.state == state if state is not None else legal_holds.c.hold_id.isnot(None)
    )
    return _load(conn, condition, newest_first=True)


def count_active(conn: Connection) -> int:
    query = select(func.count()).select_from(legal_holds).where(legal_holds.c.state == ACTIVE)
    return int(conn.execute(query).scalar_one())


def page_holds(
    conn: Connection,
    state: str | None,
    limit: int,
    after: tuple[datetime, str] | None,
    reference: str | None = None,
) -> list[HoldRow]:
    """Up to ``limit`` holds, newest first (placement time, then hold ID, both descending),
    those after ``after`` (the last one of the previous page) when given; ``reference``: only
    those placed for it."""
    hold = legal_holds.c
    query = select(legal_holds)
    if reference is not None:
        query = query.where(hold.reference == reference)
    if state is not None:
        query = query.where(hold.state == state)
    if after is not None:
        at, hold_id = after
        query = query.where(
            or_(hold.created_at < at, and_(hold.created_at == at, hold.hold_id < hold_id))
        )
    query = query.order_by(hold.created_at.desc(), hold.hold_id.desc()).limit(limit)
    return _with_entries(conn, query)


def mark_released(
    conn: Connection,
    hold_id: str,
    by: str,
    at: datetime,
    sealed_texts: bytes,
    sealed_scope: bytes,
) -> bool:
    """Release an active hold: its texts (the release reason among them) and its scope sealed
    anew, the scope without its phone numbers (their digests stay in ``hold_phones``). False
    when it was not active (released already)."""
    done = conn.execute(
        update(legal_holds)
        .where(legal_holds.c.hold_id == hold_id, legal_holds.c.state == ACTIVE)
        .values(
            state=RELEASED,
            released_by=by,
            released_at=at,
            release_reason=None,
            matter="",
            reason="",
            sealed_texts=sealed_texts,
            sealed_scope=sealed_scope,
        )
    )
    return bool(done.rowcount)


def holds_with_clear_texts(conn: Connection) -> list[Any]:
    """Holds placed before migration 0020, their texts still in clear."""
    hold = legal_holds.c
    query = select(
        hold.hold_id, hold.matter, hold.reason, hold.release_reason, hold.state, hold.sealed_scope
    )
    return list(conn.execute(query.where(hold.sealed_texts.is_(None))))


def seal_texts(
    conn: Connection, hold_id: str, sealed_texts: bytes, sealed_scope: bytes | None = None
) -> None:
    """Store a hold's sealed texts (and scope, when given) and empty its clear columns."""
    values: dict[str, Any] = {"sealed_texts": sealed_texts}
    if sealed_scope is not None:
        values["sealed_scope"] = sealed_scope
    conn.execute(
        update(legal_holds)
        .where(legal_holds.c.hold_id == hold_id)
        .values(matter="", reason="", release_reason=None, **values)
    )


def _covers(hold: HoldRow) -> Any:
    """The condition on ``calls`` that says the hold covers a row."""
    conditions = []
    if hold.has_entries:
        matches = []
        if hold.call_ids:
            matches.append(calls.c.call_id.in_(hold.call_ids))
        if hold.session_ids:
            matches.append(calls.c.session_id.in_(hold.session_ids))
        if hold.digests:
            matches.append(
                calls.c.call_id.in_(
                    select(customer_phones.c.call_id).where(
                        customer_phones.c.digest.in_(hold.digests)
                    )
                )
            )
        conditions.append(or_(*matches))
    if hold.started_after is not None:
        conditions.append(calls.c.start_time >= hold.started_after)
    if hold.started_before is not None:
        conditions.append(calls.c.start_time < hold.started_before)
    return and_(*conditions)


def covering(conn: Connection, call_ids: Sequence[str]) -> dict[str, list[str]]:
    """For each of ``call_ids`` covered by an active hold: those holds' IDs, oldest first."""
    # Most of the time no hold is active: one look at the state index says so.
    if not call_ids or conn.execute(_ANY_ACTIVE).first() is None:
        return {}
    found: dict[str, list[str]] = {}
    asked = list(dict.fromkeys(call_ids))
    for start in range(0, len(asked), _CHUNK):
        found.update(_covering(conn, asked[start : start + _CHUNK]))
    return found


def _covering(conn: Connection, ids: list[str]) -> dict[str, list[str]]:
    """``covering`` for at most ``_CHUNK`` calls. It starts from the calls: their IDs, session
    IDs and phone digests are looked up in the holds' entries by index (0021), then the holds
    found, with the holds that name nothing (a window alone: few), by key. Four statements,
    whose cost follows the calls asked and the entries that match them, not the number of
    holds or their sizes. (As one join, SQLite started from the active holds and probed the
    entries of every one of them.)"""
    live: dict[str, Any] = {}
    digests: dict[bytes, list[str]] = {}
    for row in conn.execute(_CALLS, {"ids": ids}):
        live.setdefault(row.call_id, row)
        if row.digest is not None:
            digests.setdefault(row.digest, []).append(row.call_id)
    if not live:
        return {}
    sessions: dict[str, list[str]] = {}
    for row in live.values():
        sessions.setdefault(row.session_id, []).append(row.call_id)
    named: list[tuple[str, str]] = []  # (call ID, hold ID)
    for kind, value, hold_id in conn.execute(
        _BY_ENTRY, {"calls": list(live), "sessions": list(sessions)}
    ):
        named += [(c, hold_id) for c in ([value] if kind == "call" else sessions[value])]
    if digests:
        for digest, hold_id in conn.execute(_BY_PHONE, {"digests": list(digests)}):
            named += [(c, hold_id) for c in digests[digest]]
    holds = {
        r.hold_id: r
        for r in conn.execute(_HOLDS, {"ids": sorted({h for _, h in named}) or [""]})
        if r.state == ACTIVE
    }
    candidates = [(c, holds[h]) for c, h in named if h in holds]
    candidates += [(c, r) for r in holds.values() if not r.has_entries for c in live]
    pairs: dict[str, dict[str, tuple[datetime, str]]] = {}
    for call_id, hold in candidates:
        start = live[call_id].start_time
        if hold.started_after is not None and (start is None or start < hold.started_after):
            continue
        if hold.started_before is not None and (start is None or start >= hold.started_before):
            continue
        pairs.setdefault(call_id, {})[hold.hold_id] = (hold.created_at, hold.hold_id)
    return {call_id: [h for _, h in sorted(held.values())] for call_id, held in pairs.items()}


_CHUNK = 500
_HOLD = (
    legal_holds.c.hold_id,
    legal_holds.c.created_at,
    legal_holds.c.started_after,
    legal_holds.c.started_before,
    legal_holds.c.has_entries,
    legal_holds.c.state,
)
# The asked calls with their phone digests (a row per digest; one with none for a call without).
_CALLS = (
    select(calls.c.call_id, calls.c.session_id, calls.c.start_time, customer_phones.c.digest)
    .select_from(calls.outerjoin(customer_phones, customer_phones.c.call_id == calls.c.call_id))
    .where(calls.c.call_id.in_(bindparam("ids", expanding=True)))
)
_BY_ENTRY = union_all(
    select(hold_entries.c.kind, hold_entries.c.value, hold_entries.c.hold_id).where(
        hold_entries.c.kind == "call",
        hold_entries.c.value.in_(bindparam("calls", expanding=True)),
    ),
    select(hold_entries.c.kind, hold_entries.c.value, hold_entries.c.hold_id).where(
        hold_entries.c.kind == "session",
        hold_entries.c.value.in_(bindparam("sessions", expanding=True)),
    ),
)
_BY_PHONE = select(hold_phones.c.digest, hold_phones.c.hold_id).where(
    hold_phones.c.digest.in_(bindparam("digests", expanding=True))
)
# The holds named, by key (their state checked on the rows: asked here, SQLite would read
# every active hold), and the active holds that name nothing.
_HOLDS = union_all(
    select(*_HOLD).where(legal_holds.c.hold_id.in_(bindparam("ids", expanding=True))),
    select(*_HOLD).where(legal_holds.c.state == ACTIVE, legal_holds.c.has_entries.is_(False)),
)


def _pair_covered() -> Any:
    """The condition that the hold of ``legal_holds`` covers the call of ``calls``: its window,
    and each entry asked by its key (correlated by name: nested two levels down, SQLAlchemy
    would otherwise put ``calls`` into the inner FROMs)."""
    hold = legal_holds.c

    def names_by(kind: str, column: Any) -> Any:
        return (
            exists()
            .where(
                hold_entries.c.hold_id == hold.hold_id,
                hold_entries.c.kind == kind,
                hold_entries.c.value == column,
            )
            .correlate(legal_holds, calls)
        )

    names = or_(
        names_by("call", calls.c.call_id),
        names_by("session", calls.c.session_id),
        exists()
        .where(
            customer_phones.c.call_id == calls.c.call_id,
            exists()
            .where(
                hold_phones.c.hold_id == hold.hold_id,
                hold_phones.c.digest == customer_phones.c.digest,
            )
            .correlate(legal_holds, customer_phones),
        )
        .correlate(legal_holds, calls),
    )
    return and_(
        or_(hold.started_after.is_(None), calls.c.start_time >= hold.started_after),
        or_(hold.started_before.is_(None), calls.c.start_time < hold.started_before),
        or_(not_(hold.has_entries), names),
    )


_ANY_ACTIVE = select(legal_holds.c.hold_id).where(legal_holds.c.state == ACTIVE).limit(1)


def _covered_by_active_hold() -> Any:
    hold = legal_holds.c
    active = hold.state == ACTIVE
    windowless = and_(active, hold.started_after.is_(None), hold.started_before.is_(None))

    # Holds without a window (most): the calls they name, as uncorrelated sets the database
    # builds once per query and probes per call.
    def named(kind: str) -> Any:
        return (
            select(hold_entries.c.value)
            .join(legal_holds, legal_holds.c.hold_id == hold_entries.c.hold_id)
            .where(windowless, hold_entries.c.kind == kind)
        )

    phones = (
        select(hold_phones.c.digest)
        .join(legal_holds, legal_holds.c.hold_id == hold_phones.c.hold_id)
        .where(windowless)
    )
    by_windowless = or_(
        calls.c.call_id.in_(named("call")),
        calls.c.session_id.in_(named("session")),
        calls.c.call_id.in_(
            select(customer_phones.c.call_id).where(customer_phones.c.digest.in_(phones))
        ),
        exists().where(windowless, not_(hold.has_entries)).correlate(),  # covers every call
    )

    # Holds with a window (few): asked per call, each entry by its key.
    by_windowed = (
        exists()
        .where(
            active,
            or_(hold.started_after.isnot(None), hold.started_before.isnot(None)),
            _pair_covered(),
        )
        .correlate(calls)
    )
    return or_(by_windowless, by_windowed)


# One condition over the hold tables, whose size does not grow with the holds or their
# entries: an OR of every active hold's own condition, with its lists as bound values, passed
# SQLite's expression depth (1,000) at 1,000 holds and the bound-parameter limits (32,766
# SQLite, 65,535 PostgreSQL) at a dozen or two holds of the contract's size.
_COVERED_BY_ACTIVE = _covered_by_active_hold()


def covered_by_active() -> Any:
    """The condition on ``calls`` that an active hold covers a row: the rule ``covering``
    answers per call, for counting in SQL (the retention preview and forecast)."""
    return _COVERED_BY_ACTIVE


def count_covered(conn: Connection, hold: HoldRow) -> int:
    query = (
        select(func.count()).select_from(calls).where(_covers(hold), calls.c.status != "Purging")
    )
    return int(conn.execute(query).scalar_one())


def covered_being_erased(conn: Connection, hold: HoldRow) -> list[str]:
    """Calls the hold covers whose erasure is queued or running."""
    query = select(calls.c.call_id).where(_covers(hold), calls.c.status == "Purging")
    return list(conn.execute(query).scalars())


# ------------------------------------------------------------------ a hold's texts, sealed


def seal_hold_texts(
    keys: KeyRing, hold_id: str, matter: str, reason: str, release_reason: str | None
) -> bytes:
    """A hold's matter, reason and release reason, sealed under the master key, bound to it."""
    texts = {"matter": matter, "reason": reason, "releaseReason": release_reason}
    return keys.seal_record(json.dumps(texts).encode(), f"{_TEXTS_PURPOSE}:{hold_id}")


def open_hold_texts(keys: KeyRing, hold: HoldRow) -> dict[str, str | None]:
    """``{"matter", "reason", "releaseReason"}`` of a hold (its clear columns only before the
    store's opening sealed them)."""
    if hold.sealed_texts is None:
        return {"matter": hold.matter, "reason": hold.reason, "releaseReason": hold.release_reason}
    opened: dict[str, str | None] = json.loads(
        keys.open_record(hold.sealed_texts, f"{_TEXTS_PURPOSE}:{hold.hold_id}")
    )
    return opened


def _forgotten_scope(keys: KeyRing, row: Any) -> bytes | None:
    """A hold released before migration 0020 forgets its phone numbers now (the scope as the
    holds service seals it: ``{"callIds", "sessionIds", "phoneNumbers", "phoneNumbersForgotten"}``
    under ``hold-scope:<holdId>``); None for an active hold."""
    if row.state != RELEASED:
        return None
    purpose = f"hold-scope:{row.hold_id}"
    scope = json.loads(keys.open_record(bytes(row.sealed_scope), purpose))
    scope["phoneNumbersForgotten"] = scope.get("phoneNumbersForgotten", 0) + len(
        scope.get("phoneNumbers", [])
    )
    scope["phoneNumbers"] = []
    return keys.seal_record(json.dumps(scope).encode(), purpose)


def seal_clear_texts(engine: Engine, keys: KeyRing) -> int:
    """Seal the texts of the holds placed before migration 0020 and empty their clear columns
    (a released one forgets its phone numbers too), in one transaction (run by the store's
    opening, which has the master key); how many."""
    with engine.connect() as conn:
        if not holds_with_clear_texts(conn):
            return 0  # every opening but the first after the migration
    with write_transaction(engine) as conn:
        rows = holds_with_clear_texts(conn)
        for row in rows:
            sealed = seal_hold_texts(keys, row.hold_id, row.matter, row.reason, row.release_reason)
            seal_texts(conn, row.hold_id, sealed, _forgotten_scope(keys, row))
    return len(rows)
