"""Queries of webhooks (contract §23): the endpoints, the outbox of deliveries, the delivery log.

A webhook is a row in ``webhooks`` (its secret sealed). An event a webhook subscribes to becomes
one ``webhook_deliveries`` row, written by ``enqueue`` in the transaction that records the event,
so an event is never recorded without its deliveries nor delivered without being recorded. The
workers claim due deliveries with a lease (``claim``; PostgreSQL skips rows another worker has
locked, SQLite's writers are serialised by its write lock), send them and ``finish`` each attempt:
one ``webhook_attempts`` row (the delivery log) and the delivery's next state, in one transaction.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, insert, or_, select, tuple_, update

from callvault.store.engine import write_transaction
from callvault.store.tables import webhook_attempts, webhook_deliveries, webhooks
from callvault.store.types import utcnow

PENDING, DELIVERED, FAILED = "Pending", "Delivered", "Failed"


@dataclass(frozen=True)
class WebhookRow:
    webhook_id: str
    url: str
    events: tuple[str, ...]
    sealed_secret: bytes
    created_by: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> WebhookRow:
        return cls(
            webhook_id=row.webhook_id,
            url=row.url,
            events=tuple(json.loads(row.events)),
            sealed_secret=bytes(row.sealed_secret),
            created_by=row.created_by,
            created_at=row.created_at,
        )


@dataclass(frozen=True)
class Claimed:
    """A delivery a worker holds the lease of, with what it needs to send it."""

    delivery_id: str
    webhook_id: str
    event_type: str
    url: str
    sealed_secret: bytes
    payload: str
    attempts: int  # before this one
    created_at: datetime


@dataclass(frozen=True)
class Attempt:
    """One line of the delivery log."""

    attempt_id: int
    delivery_id: str
    event_type: str
    attempt: int
    at: datetime
    http_status: int | None
    error: str | None
    next_try_at: datetime | None
    state: str  # the delivery's state now


def insert_webhook(conn: Connection, row: WebhookRow) -> None:
    conn.execute(
        insert(webhooks).values(
            webhook_id=row.webhook_id,
            url=row.url,
            events=json.dumps(list(row.events)),
            sealed_secret=row.sealed_secret,
            created_by=row.created_by,
            created_at=row.created_at,
        )
    )


def get_webhook(conn: Connection, webhook_id: str) -> WebhookRow | None:
    row = conn.execute(select(webhooks).where(webhooks.c.webhook_id == webhook_id)).first()
    return None if row is None else WebhookRow.from_row(row)


def list_webhooks(
    conn: Connection, limit: int, after: tuple[datetime, str] | None = None
) -> list[WebhookRow]:
    """Newest first, ``limit`` of them, after the position ``after`` (keyset paging)."""
    query = select(webhooks).order_by(webhooks.c.created_at.desc(), webhooks.c.webhook_id.desc())
    if after is not None:
        query = query.where(tuple_(webhooks.c.created_at, webhooks.c.webhook_id) < after)
    return [WebhookRow.from_row(r) for r in conn.execute(query.limit(limit))]


def delete_webhook(conn: Connection, webhook_id: str) -> bool:
    """The webhook, its pending deliveries and its delivery log; False when there is none."""
    gone = conn.execute(delete(webhooks).where(webhooks.c.webhook_id == webhook_id)).rowcount
    conn.execute(delete(webhook_attempts).where(webhook_attempts.c.webhook_id == webhook_id))
    conn.execute(delete(webhook_deliveries).where(webhook_deliveries.c.webhook_id == webhook_id))
    return bool(gone)


def subscribers(conn: Connection, event_type: str) -> list[str]:
    """The webhooks that subscribe to ``event_type`` (webhooks are few: filtered here)."""
    rows = conn.execute(select(webhooks.c.webhook_id, webhooks.c.events)).all()
    return [r.webhook_id for r in rows if event_type in json.loads(r.events)]


def enqueue(
    conn: Connection, event_type: str, data: Mapping[str, Any], webhook_ids: Sequence[str]
) -> int:
    """In the caller's transaction (the one that records the event): one delivery per webhook,
    due now, whose body is ``{"type", "timestamp", "data"}`` exactly as it will be sent."""
    if not webhook_ids:
        return 0
    now = utcnow()
    body = json.dumps(
        {
            "type": event_type,
            "timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "data": dict(data),
        },
        separators=(",", ":"),
    )
    conn.execute(
        insert(webhook_deliveries),
        [
            {
                "delivery_id": "msg_" + secrets.token_hex(16),
                "webhook_id": webhook_id,
                "event_type": event_type,
                "payload": body,
                "created_at": now,
                "state": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
            }
            for webhook_id in webhook_ids
        ],
    )
    return len(webhook_ids)


def claim(engine: Engine, worker_id: str, limit: int, lease_seconds: float) -> list[Claimed]:
    """Take up to ``limit`` due deliveries (or ones whose lease ran out) with a fresh lease: each
    is held by one worker at a time, so in the no-fault case each is sent once."""
    now = utcnow()
    due = (
        select(webhook_deliveries.c.delivery_id)
        .where(
            webhook_deliveries.c.state == PENDING,
            webhook_deliveries.c.next_attempt_at <= now,
            or_(webhook_deliveries.c.lease_until.is_(None), webhook_deliveries.c.lease_until < now),
        )
        .order_by(webhook_deliveries.c.next_attempt_at)
        .limit(limit)
    )
    if engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    # Not flushed to disk (``durable=False``): a claim lost to an OS crash only lets another
    # worker claim the delivery again, which at least once allows.
    with write_transaction(engine, durable=False) as conn:
        claimed = (
            conn.execute(
                update(webhook_deliveries)
                .where(webhook_deliveries.c.delivery_id.in_(due.scalar_subquery()))
                .values(worker_id=worker_id, lease_until=now + timedelta(seconds=lease_seconds))
                .returning(webhook_deliveries.c.delivery_id)
            )
            .scalars()
            .all()
        )
        if not claimed:
            return []
        rows = conn.execute(
            select(
                webhook_deliveries.c.delivery_id,
                webhook_deliveries.c.webhook_id,
                webhook_deliveries.c.event_type,
                webhook_deliveries.c.payload,
                webhook_deliveries.c.attempts,
                webhook_deliveries.c.created_at,
                webhooks.c.url,
                webhooks.c.sealed_secret,
            )
            .join(webhooks, webhooks.c.webhook_id == webhook_deliveries.c.webhook_id)
            .where(webhook_deliveries.c.delivery_id.in_(claimed))
            .order_by(webhook_deliveries.c.created_at)
        ).all()
    return [
        Claimed(
            delivery_id=r.delivery_id,
            webhook_id=r.webhook_id,
            event_type=r.event_type,
            url=r.url,
            sealed_secret=bytes(r.sealed_secret),
            payload=r.payload,
            attempts=r.attempts,
            created_at=r.created_at,
        )
        for r in rows
    ]


def finish(
    engine: Engine,
    delivery: Claimed,
    worker_id: str,
    at: datetime,
    http_status: int | None,
    error: str | None,
    next_try_at: datetime | None,
    state: str,
) -> bool:
    """Log one attempt and move the delivery on (``state``; due again at ``next_try_at`` when
    Pending). The attempt is logged whatever happens; the delivery moves only while this worker
    still holds its lease (else another worker took it over, and its own attempt decides).
    Returns whether it moved.

    Not flushed to disk (``durable=False``): an outcome lost to an OS crash (never to a crash of
    the process) leaves the delivery Pending, and it is sent again, which at least once allows;
    the next durable commit flushes it anyway."""
    with write_transaction(engine, durable=False) as conn:
        moved = conn.execute(
            update(webhook_deliveries)
            .where(
                webhook_deliveries.c.delivery_id == delivery.delivery_id,
                webhook_deliveries.c.worker_id == worker_id,
                webhook_deliveries.c.state == PENDING,
            )
            .values(
                state=state,
                attempts=webhook_deliveries.c.attempts + 1,
                next_attempt_at=next_try_at,
                worker_id=None,
                lease_until=None,
                finished_at=None if state == PENDING else at,
            )
        ).rowcount
        exists = conn.execute(
            select(webhook_deliveries.c.attempts).where(
                webhook_deliveries.c.delivery_id == delivery.delivery_id
            )
        ).scalar()
        if exists is None:
            return False  # its webhook was removed meanwhile: nothing left to log against
        conn.execute(
            insert(webhook_attempts).values(
                delivery_id=delivery.delivery_id,
                webhook_id=delivery.webhook_id,
                attempt=exists if moved else delivery.attempts + 1,
                at=at,
                http_status=http_status,
                error=None if error is None else error[:500],
                next_try_at=next_try_at if moved else None,
            )
        )
        return bool(moved)


def attempts_page(
    conn: Connection, webhook_id: str, limit: int, before: int | None = None
) -> list[Attempt]:
    """A webhook's delivery log, newest attempt first, ``limit`` of them, before ``before``."""
    query = (
        select(
            webhook_attempts.c.attempt_id,
            webhook_attempts.c.delivery_id,
            webhook_attempts.c.attempt,
            webhook_attempts.c.at,
            webhook_attempts.c.http_status,
            webhook_attempts.c.error,
            webhook_attempts.c.next_try_at,
            webhook_deliveries.c.event_type,
            webhook_deliveries.c.state,
        )
        .join(
            webhook_deliveries,
            webhook_deliveries.c.delivery_id == webhook_attempts.c.delivery_id,
        )
        .where(webhook_attempts.c.webhook_id == webhook_id)
        .order_by(webhook_attempts.c.attempt_id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(webhook_attempts.c.attempt_id < before)
    return [
        Attempt(
            attempt_id=r.attempt_id,
            delivery_id=r.delivery_id,
            event_type=r.event_type,
            attempt=r.attempt,
            at=r.at,
            http_status=r.http_status,
            error=r.error,
            next_try_at=r.next_try_at,
            state=r.state,
        )
        for r in conn.execute(query)
    ]


def pending_count(conn: Connection, webhook_id: str | None = None) -> int:
    """Deliveries not yet delivered nor given up (tests, the console)."""
    query = select(webhook_deliveries.c.delivery_id).where(webhook_deliveries.c.state == PENDING)
    if webhook_id is not None:
        query = query.where(and_(webhook_deliveries.c.webhook_id == webhook_id))
    return len(conn.execute(query).all())


def deliveries(conn: Connection, webhook_id: str) -> list[dict[str, Any]]:
    """Every delivery of a webhook as stored, oldest first (tests and scans)."""
    rows = conn.execute(
        select(webhook_deliveries)
        .where(webhook_deliveries.c.webhook_id == webhook_id)
        .order_by(webhook_deliveries.c.created_at)
    )
    return [dict(r._mapping) for r in rows]
