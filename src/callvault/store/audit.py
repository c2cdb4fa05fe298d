"""Queries of the audit trail's events (the only SQL the trail runs; its chain is audit/trail.py).

An append is three statements inside the caller's write transaction: the appenders' lock
(PostgreSQL only), the chain's head, and one insert of the new events.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, insert, select, text

from callvault.store.tables import audit_events

# PostgreSQL advisory lock taken by every appender: any constant, shared by all of them.
APPEND_LOCK = 0x6361_6C6C
# Built once: every acceptance and capture appends (see store/purges.py on prebuilt statements).
_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_LAST_EVENT = (
    select(audit_events.c.seq, audit_events.c.hash).order_by(audit_events.c.seq.desc()).limit(1)
)
_INSERT_EVENTS = insert(audit_events)


def lock_for_append(conn: Connection) -> None:
    """Serialise appenders until the transaction ends. SQLite's write lock already does; on
    PostgreSQL two workers would otherwise chain their events to the same predecessor."""
    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK, {"key": APPEND_LOCK})


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
