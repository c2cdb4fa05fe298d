"""Queries of the audit trail's events (the only SQL the trail runs; its chain is audit/trail.py).

On SQLite an append is two statements inside the caller's write transaction (whose write lock
already orders every writer): the chain's head and one insert of the new, chained events. On
PostgreSQL an append is one insert into ``audit_pending`` and takes no lock at all; the sequencer
(``AuditTrail.sequence``) then takes its own lock, reads the head and the pending events in
``id`` order, inserts them chained and deletes them from ``audit_pending``, in one short
transaction that no writer waits on. Signed checkpoints of the head are kept in
``audit_checkpoints``.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, delete, func, insert, select, text

from callvault.store.tables import audit_checkpoints, audit_events, audit_pending

# PostgreSQL advisory lock of the sequencer (one at a time across the fleet): any constant.
SEQUENCER_LOCK = 0x6361_6C6D
# Built once: every acceptance and capture appends (see store/purges.py on prebuilt statements).
_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_LAST_EVENT = (
    select(audit_events.c.seq, audit_events.c.hash).order_by(audit_events.c.seq.desc()).limit(1)
)
_INSERT_EVENTS = insert(audit_events)
_INSERT_PENDING = insert(audit_pending)
_ANY_PENDING = select(audit_pending.c.id).limit(1)


def defers_sequencing(bind: Connection | Engine) -> bool:
    """True where writers append unsequenced events (PostgreSQL: many writers at once); on
    SQLite the one writer chains its events in its own transaction."""
    return bind.dialect.name == "postgresql"


def insert_pending(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Unsequenced events (columns of ``audit_pending`` but ``id``), in the writer's transaction."""
    conn.execute(_INSERT_PENDING, rows)


def has_pending(conn: Connection) -> bool:
    return conn.execute(_ANY_PENDING).first() is not None


def lock_sequencer(conn: Connection) -> None:
    """One sequencer at a time until the transaction ends (PostgreSQL; SQLite's write lock is
    already one)."""
    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK, {"key": SEQUENCER_LOCK})


def pending(conn: Connection, limit: int) -> list[RowMapping]:
    """The oldest unsequenced events, in the order they were written (``id``)."""
    query = select(audit_pending).order_by(audit_pending.c.id).limit(limit)
    return list(conn.execute(query).mappings())


def delete_pending(conn: Connection, ids: Sequence[int]) -> None:
    conn.execute(delete(audit_pending).where(audit_pending.c.id.in_(list(ids))))


def oldest_pending_at(engine: Engine) -> datetime | None:
    """When the oldest unsequenced event was written (None: none waits)."""
    with engine.connect() as conn:
        found: datetime | None = conn.execute(select(func.min(audit_pending.c.at))).scalar()
    return found


def head(conn: Connection) -> tuple[int, str] | None:
    """(seq, hash) of the newest event; None while the trail is empty."""
    last = conn.execute(_LAST_EVENT).first()
    return None if last is None else (last.seq, last.hash)


def insert_events(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """One insert of every row (columns of ``audit_events``, ``details`` already JSON)."""
    conn.execute(_INSERT_EVENTS, rows)


def iter_events(
    engine: Engine,
    after: int = 0,
    limit: int | None = None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    actions: Sequence[str] = (),
) -> Generator[RowMapping, None, None]:
    """Events after ``after`` in sequence order, at most ``limit``, as stored (``details`` is
    JSON text), read lazily on a connection held until the iterator is exhausted or closed.
    ``since`` (inclusive) and ``until`` (exclusive) bound their time; ``actions``: only those."""
    query = select(audit_events).where(audit_events.c.seq > after).order_by(audit_events.c.seq)
    if since is not None:
        query = query.where(audit_events.c.at >= since)
    if until is not None:
        query = query.where(audit_events.c.at < until)
    if actions:
        query = query.where(audit_events.c.action.in_(list(actions)))
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        yield from conn.execute(query).mappings()


def request_events(engine: Engine, request_id: str) -> list[RowMapping]:
    """Every audit event naming the request, oldest first, as stored (``details`` JSON text)."""
    query = (
        select(audit_events)
        .where(audit_events.c.request_id == request_id)
        .order_by(audit_events.c.seq)
    )
    with engine.connect() as conn:
        return list(conn.execute(query).mappings())


# -- signed checkpoints --------------------------------------------------------------------


def head_of(engine: Engine) -> tuple[int, str] | None:
    with engine.connect() as conn:
        return head(conn)


def event_hash(engine: Engine, seq: int) -> str | None:
    """The stored hash of event ``seq`` (None: no such event)."""
    with engine.connect() as conn:
        found: str | None = conn.execute(
            select(audit_events.c.hash).where(audit_events.c.seq == seq)
        ).scalar()
    return found


def insert_checkpoint(
    conn: Connection, seq: int, digest: str, signed_at: datetime, kid: str, jws: str
) -> None:
    conn.execute(
        insert(audit_checkpoints).values(
            seq=seq, hash=digest, signed_at=signed_at, kid=kid, jws=jws
        )
    )


def latest_checkpoint(engine: Engine) -> RowMapping | None:
    query = select(audit_checkpoints).order_by(audit_checkpoints.c.seq.desc()).limit(1)
    with engine.connect() as conn:
        return conn.execute(query).mappings().first()


def covering_seq(conn: Connection, seq: int) -> int | None:
    """The ``seq`` of the first checkpoint at or after event ``seq`` (None: none yet)."""
    found: int | None = conn.execute(
        select(func.min(audit_checkpoints.c.seq)).where(audit_checkpoints.c.seq >= seq)
    ).scalar()
    return found


def covering_checkpoint(engine: Engine, seq: int) -> RowMapping | None:
    """The first checkpoint at or after event ``seq``: the one that covers it."""
    query = (
        select(audit_checkpoints)
        .where(audit_checkpoints.c.seq >= seq)
        .order_by(audit_checkpoints.c.seq)
        .limit(1)
    )
    with engine.connect() as conn:
        return conn.execute(query).mappings().first()


def checkpoints_after(engine: Engine, after: int, limit: int) -> list[RowMapping]:
    query = (
        select(audit_checkpoints)
        .where(audit_checkpoints.c.seq > after)
        .order_by(audit_checkpoints.c.seq)
        .limit(limit)
    )
    with engine.connect() as conn:
        return list(conn.execute(query).mappings())


def events_between(engine: Engine, first: int, last: int) -> list[RowMapping]:
    """Events ``first`` to ``last`` inclusive, in sequence order, as stored."""
    query = (
        select(audit_events)
        .where(audit_events.c.seq >= first, audit_events.c.seq <= last)
        .order_by(audit_events.c.seq)
    )
    with engine.connect() as conn:
        return list(conn.execute(query).mappings())
