"""Queries of redactions (contract §21): a time range of a call's audio erased, the call kept.

A redaction is one ``redactions`` row. Its ``step`` records how far its worker got, so that a
worker killed anywhere leaves a row the next one finishes: ``queued`` (nothing written yet),
``written`` (the new audio and its staged key exist; the call still names the old ones),
``swapped`` (the call names the new audio and key; the old key is destroyed, the old audio is
still to delete). ``calls.redacting`` is true while any redaction of the call is Redacting.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, exists, insert, or_, select, update
from sqlalchemy.orm import aliased

from callvault.store.calls import CallRow
from callvault.store.engine import among, write_transaction
from callvault.store.tables import calls, redactions
from callvault.store.types import utcnow

REDACTING, REDACTED, FAILED = "Redacting", "Redacted", "Failed"
QUEUED, WRITTEN, SWAPPED = "queued", "written", "swapped"


@dataclass(frozen=True)
class RedactionRow:
    redaction_id: str
    call_id: str
    session_id: str
    state: str
    step: str
    ranges: list[tuple[int, int]]
    reason: str
    reference: str | None
    requested_by: str
    created_at: datetime
    completed_at: datetime | None
    error: str | None
    attempts: int
    old_blob_key: str | None
    old_blob_version: str | None
    new_blob_key: str | None
    new_blob_version: str | None
    new_sealed: bytes | None
    new_audio_bytes: int | None
    audio_sha256_before: str | None
    audio_sha256_after: str | None
    old_key_destroyed: bool
    blob_objects_deleted: int | None

    @classmethod
    def from_row(cls, row: Any) -> RedactionRow:
        m = row._mapping
        return cls(
            redaction_id=m["redaction_id"],
            call_id=m["call_id"],
            session_id=m["session_id"],
            state=m["state"],
            step=m["step"],
            ranges=[(int(a), int(b)) for a, b in json.loads(m["ranges"])],
            reason=m["reason"],
            reference=m["reference"],
            requested_by=m["requested_by"],
            created_at=m["created_at"],
            completed_at=m["completed_at"],
            error=m["error"],
            attempts=m["attempts"],
            old_blob_key=m["old_blob_key"],
            old_blob_version=m["old_blob_version"],
            new_blob_key=m["new_blob_key"],
            new_blob_version=m["new_blob_version"],
            new_sealed=None if m["new_sealed"] is None else bytes(m["new_sealed"]),
            new_audio_bytes=m["new_audio_bytes"],
            audio_sha256_before=m["audio_sha256_before"],
            audio_sha256_after=m["audio_sha256_after"],
            old_key_destroyed=bool(m["old_key_destroyed"]),
            blob_objects_deleted=m["blob_objects_deleted"],
        )


def lock_call(conn: Connection, call_id: str) -> CallRow | None:
    """The call's row, locked against a concurrent purge's acceptance until the transaction
    ends (PostgreSQL; SQLite's write transaction holds the whole database)."""
    query = select(calls).where(calls.c.call_id == call_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    return None if row is None else CallRow.from_mapping(row)


def insert_redaction(conn: Connection, values: dict[str, Any]) -> None:
    """Record an accepted redaction and hide the call's audio until it ends."""
    ranges = values.pop("ranges")
    conn.execute(
        insert(redactions).values(
            **values,
            ranges=json.dumps([list(r) for r in ranges]),
            state=REDACTING,
            step=QUEUED,
            attempts=0,
            old_key_destroyed=False,
        )
    )
    conn.execute(update(calls).where(calls.c.call_id == values["call_id"]).values(redacting=True))


def get_redaction(conn: Connection, redaction_id: str) -> RedactionRow | None:
    row = conn.execute(select(redactions).where(redactions.c.redaction_id == redaction_id)).first()
    return None if row is None else RedactionRow.from_row(row)


def page_redactions(
    conn: Connection,
    call_id: str | None,
    reference: str | None,
    limit: int,
    after: tuple[datetime, str] | None,
) -> list[RedactionRow]:
    """Up to ``limit`` redactions, newest first (creation time, then ID, both descending): of
    one call or of every call, of one reference or any, after ``after`` when given."""
    r = redactions.c
    query = select(redactions)
    if call_id is not None:
        query = query.where(r.call_id == call_id)
    if reference is not None:
        query = query.where(r.reference == reference)
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(r.created_at < at, and_(r.created_at == at, r.redaction_id < last_id))
        )
    query = query.order_by(r.created_at.desc(), r.redaction_id.desc()).limit(limit)
    return [RedactionRow.from_row(row) for row in conn.execute(query)]


_COMPLETED_FOR_CALL = (
    select(redactions)
    .where(redactions.c.call_id == bindparam("call_id"), redactions.c.state == REDACTED)
    .order_by(redactions.c.created_at, redactions.c.redaction_id)
)


def completed_for_call(conn: Connection, call_id: str) -> list[RedactionRow]:
    """The call's completed (Redacted) redactions, oldest first: what an export lists."""
    return [
        RedactionRow.from_row(row)
        for row in conn.execute(_COMPLETED_FOR_CALL, {"call_id": call_id})
    ]


def completed_for_calls(conn: Connection, call_ids: Sequence[str]) -> dict[str, list[RedactionRow]]:
    """Those calls' completed redactions, oldest first, in one query (an export reads them
    ahead for the calls it is about to send)."""
    if not call_ids:
        return {}
    done: dict[str, list[RedactionRow]] = {}
    r = redactions.c
    query = (
        select(redactions)
        .where(among(r.call_id, list(call_ids)), r.state == REDACTED)
        .order_by(r.created_at, r.redaction_id)
    )
    for row in conn.execute(query):
        done.setdefault(row.call_id, []).append(RedactionRow.from_row(row))
    return done


def claim(engine: Engine, worker_id: str, lease_seconds: float) -> RedactionRow | None:
    """Take the oldest due redaction (Redacting, its lease free or run out) whose call has no
    older redaction still Redacting: a second redaction of a call waits for the first."""
    now = utcnow()
    r = redactions
    older = aliased(redactions)
    due = (
        select(r.c.redaction_id)
        .where(
            r.c.state == REDACTING,
            or_(r.c.lease_until.is_(None), r.c.lease_until < now),
            ~exists(
                select(older.c.redaction_id).where(
                    older.c.call_id == r.c.call_id,
                    older.c.state == REDACTING,
                    or_(
                        older.c.created_at < r.c.created_at,
                        and_(
                            older.c.created_at == r.c.created_at,
                            older.c.redaction_id < r.c.redaction_id,
                        ),
                    ),
                )
            ),
        )
        .order_by(r.c.created_at)
        .limit(1)
    )
    if engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True, of=r)
    with write_transaction(engine) as conn:
        redaction_id = conn.execute(due).scalar()
        if redaction_id is None:
            return None
        taken = conn.execute(
            update(r)
            .where(
                r.c.redaction_id == redaction_id,
                r.c.state == REDACTING,
                or_(r.c.lease_until.is_(None), r.c.lease_until < now),
            )
            .values(
                lease_owner=worker_id,
                lease_until=now + timedelta(seconds=lease_seconds),
                attempts=r.c.attempts + 1,
            )
        )
        if not taken.rowcount:
            return None
        return get_redaction(conn, redaction_id)


def extend_lease(engine: Engine, redaction_id: str, worker_id: str, seconds: float) -> None:
    with write_transaction(engine, durable=False) as conn:
        conn.execute(
            update(redactions)
            .where(redactions.c.redaction_id == redaction_id, redactions.c.lease_owner == worker_id)
            .values(lease_until=utcnow() + timedelta(seconds=seconds))
        )


def retry_later(engine: Engine, redaction_id: str, seconds: float) -> None:
    with write_transaction(engine) as conn:
        conn.execute(
            update(redactions)
            .where(redactions.c.redaction_id == redaction_id)
            .values(lease_owner=None, lease_until=utcnow() + timedelta(seconds=seconds))
        )


def mark_written(conn: Connection, redaction_id: str, values: dict[str, Any]) -> None:
    conn.execute(
        update(redactions)
        .where(redactions.c.redaction_id == redaction_id, redactions.c.state == REDACTING)
        .values(step=WRITTEN, **values)
    )


def swap_call(conn: Connection, row: RedactionRow) -> bool:
    """Point the call at the redaction's new audio and re-sealed details, if it is still
    readable and still names the audio the redaction was made from; False otherwise (a purge
    was accepted meanwhile, or the call is gone)."""
    assert row.new_blob_key is not None
    assert row.new_sealed is not None
    done = conn.execute(
        update(calls)
        .where(
            calls.c.call_id == row.call_id,
            calls.c.status.in_(("Concluded", "Complete", "Excluded")),
            calls.c.blob_key == row.old_blob_key,
        )
        .values(
            blob_key=row.new_blob_key,
            blob_version=row.new_blob_version,
            sealed=row.new_sealed,
            audio_bytes=row.new_audio_bytes,
        )
    )
    return bool(done.rowcount)


def mark_swapped(conn: Connection, redaction_id: str) -> None:
    conn.execute(
        update(redactions)
        .where(redactions.c.redaction_id == redaction_id)
        .values(step=SWAPPED, new_sealed=None, old_key_destroyed=True)
    )


def _end(conn: Connection, row: RedactionRow, values: dict[str, Any]) -> bool:
    done = conn.execute(
        update(redactions)
        .where(redactions.c.redaction_id == row.redaction_id, redactions.c.state == REDACTING)
        .values(
            completed_at=utcnow(), lease_owner=None, lease_until=None, new_sealed=None, **values
        )
    )
    if not done.rowcount:
        return False
    others = conn.execute(
        select(redactions.c.redaction_id).where(
            redactions.c.call_id == row.call_id, redactions.c.state == REDACTING
        )
    ).first()
    if others is None:
        conn.execute(update(calls).where(calls.c.call_id == row.call_id).values(redacting=False))
    return True


def mark_redacted(conn: Connection, row: RedactionRow, blob_objects_deleted: int) -> bool:
    return _end(conn, row, {"state": REDACTED, "blob_objects_deleted": blob_objects_deleted})


def mark_failed(conn: Connection, row: RedactionRow, error: str) -> bool:
    return _end(conn, row, {"state": FAILED, "error": error})


def redacting_ids(conn: Connection, call_ids: Sequence[str]) -> set[str]:
    """Which of the calls have a redaction under way."""
    if not call_ids:
        return set()
    found = conn.execute(
        select(redactions.c.call_id).where(
            redactions.c.call_id.in_(list(call_ids)), redactions.c.state == REDACTING
        )
    )
    return set(found.scalars())
