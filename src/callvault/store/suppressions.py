"""Queries of suppressions (contract §22): the list of callers who objected, as keyed hashes.

A suppression is a row in ``suppressions`` and one ``suppression_digests`` row per identifier:
the blind index's HMAC of its phone number or e-mail address, never the value. Whether a caller
is suppressed is one index seek per digest (``active_for``), whatever the number of
suppressions. A capture refused for a suppressed caller leaves only a tombstone in
``suppressed_captures``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, insert, or_, select, update

from callvault.store.tables import suppressed_captures, suppression_digests, suppressions

ACTIVE, LIFTED, EXPIRED = "Active", "Lifted", "Expired"


@dataclass(frozen=True)
class SuppressionRow:
    suppression_id: str
    state: str  # as stored: Active | Lifted (``state_at`` tells Expired apart)
    identifiers: int
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    lifted_by: str | None
    lifted_at: datetime | None
    reference: str | None
    request_id: str | None
    sealed_texts: bytes

    @classmethod
    def from_row(cls, row: Any) -> SuppressionRow:
        return cls(
            suppression_id=row.suppression_id,
            state=row.state,
            identifiers=row.identifiers,
            created_by=row.created_by,
            created_at=row.created_at,
            expires_at=row.expires_at,
            lifted_by=row.lifted_by,
            lifted_at=row.lifted_at,
            reference=row.reference,
            request_id=row.request_id,
            sealed_texts=bytes(row.sealed_texts),
        )

    def state_at(self, now: datetime) -> str:
        """Active, Lifted, or Expired (an active one whose ``expires_at`` has passed)."""
        if self.state == ACTIVE and self.expires_at is not None and self.expires_at <= now:
            return EXPIRED
        return self.state


@dataclass(frozen=True)
class Tombstone:
    call_id: str
    session_id: str
    suppression_id: str
    captured_at: datetime


def insert_suppression(conn: Connection, values: dict[str, Any], digests: Sequence[bytes]) -> None:
    conn.execute(insert(suppressions).values(**values))
    conn.execute(
        insert(suppression_digests),
        [{"digest": d, "suppression_id": values["suppression_id"]} for d in sorted(set(digests))],
    )


def get_suppression(conn: Connection, suppression_id: str) -> SuppressionRow | None:
    row = conn.execute(
        select(suppressions).where(suppressions.c.suppression_id == suppression_id)
    ).first()
    return None if row is None else SuppressionRow.from_row(row)


def _in_state(state: str | None, now: datetime) -> Any:
    s = suppressions.c
    live = or_(s.expires_at.is_(None), s.expires_at > now)
    if state == ACTIVE:
        return and_(s.state == ACTIVE, live)
    if state == EXPIRED:
        return and_(s.state == ACTIVE, s.expires_at <= now)
    if state == LIFTED:
        return s.state == LIFTED
    return None


def page_suppressions(
    conn: Connection,
    state: str | None,
    reference: str | None,
    limit: int,
    after: tuple[datetime, str] | None,
    now: datetime,
) -> list[SuppressionRow]:
    """Up to ``limit`` suppressions, newest first (creation time, then ID, both descending),
    those after ``after`` (the last of the previous page) when given."""
    s = suppressions.c
    query = select(suppressions)
    condition = _in_state(state, now)
    if condition is not None:
        query = query.where(condition)
    if reference is not None:
        query = query.where(s.reference == reference)
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(s.created_at < at, and_(s.created_at == at, s.suppression_id < last_id))
        )
    query = query.order_by(s.created_at.desc(), s.suppression_id.desc()).limit(limit)
    return [SuppressionRow.from_row(r) for r in conn.execute(query)]


def mark_lifted(
    conn: Connection, suppression_id: str, by: str, at: datetime, sealed_texts: bytes
) -> bool:
    """Lift a suppression not yet lifted; False when it was (a concurrent lift won)."""
    done = conn.execute(
        update(suppressions)
        .where(suppressions.c.suppression_id == suppression_id, suppressions.c.state == ACTIVE)
        .values(state=LIFTED, lifted_by=by, lifted_at=at, sealed_texts=sealed_texts)
    )
    return bool(done.rowcount)


# One statement, compiled once: the same work whether or not a digest matches (a check's timing
# must not tell its answer).
_ACTIVE_FOR = (
    select(suppression_digests.c.suppression_id)
    .join(
        suppressions,
        suppressions.c.suppression_id == suppression_digests.c.suppression_id,
    )
    .where(
        suppression_digests.c.digest.in_(bindparam("digests", expanding=True)),
        suppressions.c.state == ACTIVE,
        or_(suppressions.c.expires_at.is_(None), suppressions.c.expires_at > bindparam("now")),
    )
    .order_by(suppression_digests.c.suppression_id)
)


def active_for(conn: Connection, digests: Sequence[bytes], now: datetime) -> list[str]:
    """The IDs of the suppressions in force at ``now`` that name any of ``digests``, sorted."""
    if not digests:
        return []
    found = conn.execute(_ACTIVE_FOR, {"digests": list(digests), "now": now}).scalars()
    return list(dict.fromkeys(found))


def insert_tombstone(conn: Connection, tombstone: Tombstone, captured_by: str) -> None:
    conn.execute(
        insert(suppressed_captures).values(
            call_id=tombstone.call_id,
            session_id=tombstone.session_id,
            suppression_id=tombstone.suppression_id,
            captured_at=tombstone.captured_at,
            captured_by=captured_by,
        )
    )


_DELETE_TOMBSTONES = delete(suppressed_captures).where(
    suppressed_captures.c.session_id == bindparam("session_id")
)


def delete_tombstones(conn: Connection, session_id: str) -> None:
    """Forget the refused captures of a session ID a live call now has (one index probe)."""
    conn.execute(_DELETE_TOMBSTONES, {"session_id": session_id})


def tombstones_by_session(conn: Connection, session_ids: Sequence[str]) -> dict[str, Tombstone]:
    """The latest tombstone of each session ID that has one."""
    if not session_ids:
        return {}
    t = suppressed_captures.c
    found: dict[str, Tombstone] = {}
    rows = conn.execute(
        select(t.call_id, t.session_id, t.suppression_id, t.captured_at)
        .where(t.session_id.in_(list(set(session_ids))))
        .order_by(t.captured_at)
    )
    for r in rows:
        found[r.session_id] = Tombstone(r.call_id, r.session_id, r.suppression_id, r.captured_at)
    return found
