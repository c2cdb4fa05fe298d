"""Append-only audit trail: a hash chain anyone can recompute, ordered by one sequencer.

An event's ``hash`` is the SHA-256 of its **canonical form**: the event as ``GET /audit/v1/events``
gives it (``seq``, ``at``, ``actor``, ``action``, ``requestId``, ``callId``, ``sessionId``,
``details``, ``prevHash``), without ``hash``, serialised as JSON with keys sorted, no spaces, and
non-ASCII characters escaped (Python's ``json.dumps(event, sort_keys=True, separators=(",",
":"))``), encoded as UTF-8. ``prevHash`` is the previous event's ``hash`` (64 zeros for the
first). No key enters it: a third party recomputes the chain from the API's output alone, and
checks it against the **signed checkpoints** (``certificates/checkpoints.py``): JWS on the
certificate keys of the chain's head, verifiable with the public JWKS.

Beside it, ``mac`` = HMAC-SHA256(audit key, ``hash``), under a key derived from the master key:
only the instance can make it, so ``callvault audit verify`` also detects a chain rewritten
consistently by someone who can write the database but holds no key (events sequenced before
migration 0027 have none; after the first event that has one, every event must).

**Sequencing.** On SQLite the one writer chains its events in its own transaction (the write lock
already orders writers). On PostgreSQL a writer only inserts its events into ``audit_pending`` —
no lock, no read of the head — and ``sequence`` (the sequencer loop every fraction of a second,
and any reader before it reads) moves them into the chain in the order they were written, under
a lock of its own that no writer waits on. Editing, deleting, reordering or inserting an event
breaks the chain from that point; removing the newest events is caught by the checkpoints.

Phone numbers never appear here, only ``phone_hash`` (a keyed hash from the key ring).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from callvault.audit import outbox
from callvault.store import audit as audit_store
from callvault.store.engine import write_transaction
from callvault.store.types import utcnow

GENESIS = "0" * 64
# Events one sequencing transaction moves at most (a catch-up repeats it).
SEQUENCE_BATCH = 5000


@dataclass(frozen=True)
class AuditEvent:
    action: str
    actor: str
    request_id: str | None = None
    call_id: str | None = None
    session_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def canonical(event: Mapping[str, Any]) -> bytes:
    """The bytes an event's ``hash`` is the SHA-256 of: its public form without ``hash``."""
    body = {k: v for k, v in event.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def chain_hash(event: Mapping[str, Any]) -> str:
    """An event's ``hash`` from its public form (``prevHash`` included)."""
    return hashlib.sha256(canonical(event)).hexdigest()


def _public(row: Mapping[str, Any], seq: int, prev_hash: str, details: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "at": _iso(row["at"]),
        "actor": row["actor"],
        "action": row["action"],
        "requestId": row["request_id"],
        "callId": row["call_id"],
        "sessionId": row["session_id"],
        "details": details,
        "prevHash": prev_hash,
    }


class AuditTrail:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, digest: str) -> str:
        return hmac.new(self._key, digest.encode(), hashlib.sha256).hexdigest()

    def append(self, conn: Connection, events: Sequence[AuditEvent]) -> None:
        """Append events inside the caller's write transaction. PostgreSQL: unsequenced, with
        no lock (the sequencer chains them shortly after the commit); SQLite: chained now."""
        if not events:
            return
        now = utcnow()
        rows = [
            {
                "at": now,
                "actor": event.actor,
                "action": event.action,
                "request_id": event.request_id,
                "call_id": event.call_id,
                "session_id": event.session_id,
                "details": json.dumps(event.details, sort_keys=True, separators=(",", ":")),
            }
            for event in events
        ]
        if audit_store.defers_sequencing(conn):
            audit_store.insert_pending(conn, rows)
        else:
            self._chain(conn, rows, [e.details for e in events])
        # The webhooks' deliveries of these events, in this same transaction (audit/outbox.py).
        outbox.record(conn, events)

    def _chain(
        self, conn: Connection, rows: Sequence[Mapping[str, Any]], details: Sequence[Any]
    ) -> None:
        """Give ``rows`` the next sequence numbers and their links, and insert them. The caller
        holds the sequencer's lock (PostgreSQL) or SQLite's write lock."""
        seq, prev = audit_store.head(conn) or (0, GENESIS)
        chained = []
        for row, parsed in zip(rows, details, strict=True):
            seq += 1
            digest = chain_hash(_public(row, seq, prev, parsed))
            chained.append(
                {
                    "seq": seq,
                    "at": row["at"],
                    "actor": row["actor"],
                    "action": row["action"],
                    "request_id": row["request_id"],
                    "call_id": row["call_id"],
                    "session_id": row["session_id"],
                    "details": row["details"],
                    "prev_hash": prev,
                    "hash": digest,
                    "mac": self._mac(digest),
                }
            )
            prev = digest
        audit_store.insert_events(conn, chained)

    def sequence(self, engine: Engine, limit: int = SEQUENCE_BATCH) -> int:
        """Chain up to ``limit`` unsequenced events, oldest written first; returns how many."""
        if not audit_store.defers_sequencing(engine):
            return 0  # SQLite: nothing is ever pending (no connection opened to learn it)
        with engine.connect() as conn:
            if not audit_store.has_pending(conn):
                return 0
        with write_transaction(engine) as conn:
            audit_store.lock_sequencer(conn)
            pending = audit_store.pending(conn, limit)
            if not pending:
                return 0  # another sequencer took them while this one waited for the lock
            self._chain(
                conn, [dict(r) for r in pending], [json.loads(r["details"]) for r in pending]
            )
            audit_store.delete_pending(conn, [r["id"] for r in pending])
        return len(pending)

    def catch_up(self, engine: Engine) -> None:
        """Chain every event committed before this call (a reader's read-your-writes)."""
        while self.sequence(engine) == SEQUENCE_BATCH:
            pass

    def verify(self, engine: Engine) -> tuple[int, str | None]:
        """Walk the chain; returns (events checked, None) or (position, what is wrong)."""
        prev, expected_seq, checked, keyed = GENESIS, 1, 0, False
        self.catch_up(engine)
        for row in self.iter_rows(engine):
            if row["seq"] != expected_seq:
                return checked, f"event {expected_seq} is missing (found {row['seq']} next)"
            if row["prev_hash"] != prev:
                return checked, f"event {row['seq']} does not follow the event before it"
            digest = chain_hash(_public(row, row["seq"], prev, row["details"]))
            mac = row["mac"]
            if (
                not hmac.compare_digest(digest, row["hash"])
                or (mac is None and keyed)
                or (mac is not None and not hmac.compare_digest(self._mac(digest), mac))
            ):
                return checked, f"event {row['seq']} was altered"
            keyed = keyed or mac is not None
            prev, expected_seq, checked = row["hash"], expected_seq + 1, checked + 1
        return checked, None

    @staticmethod
    def iter_rows(
        engine: Engine,
        after: int = 0,
        limit: int | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        actions: Sequence[str] = (),
    ) -> Iterator[dict[str, Any]]:
        # Closed with this generator, so that one left unfinished gives its connection back.
        found = audit_store.iter_events(
            engine, after, limit, since=since, until=until, actions=actions
        )
        with closing(found) as rows:
            for row in rows:
                yield {**row, "details": json.loads(row["details"])}

    @staticmethod
    def stream(
        engine: Engine,
        after: int = 0,
        limit: int | None = None,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        actions: Sequence[str] = (),
        page: int = 1000,
    ) -> Iterator[dict[str, Any]]:
        """Every matching event after ``after`` (at most ``limit``), read a page at a time on a
        connection of its own: a slow reader never holds one read transaction open (on SQLite
        that would keep the WAL, erased pages included, from being checkpointed)."""
        left = limit
        while left is None or left > 0:
            size = page if left is None else min(page, left)
            rows = list(
                AuditTrail.iter_rows(engine, after, size, since=since, until=until, actions=actions)
            )
            yield from rows
            if len(rows) < size:
                return
            after = rows[-1]["seq"]
            if left is not None:
                left -= len(rows)


def request_rows(engine: Engine, request_id: str) -> list[dict[str, Any]]:
    """Every event naming the request, oldest first (``details`` parsed)."""
    return [
        {**row, "details": json.loads(row["details"])}
        for row in audit_store.request_events(engine, request_id)
    ]


def event_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """The public shape of one event (API, export, evidence): its canonical form plus ``hash``."""
    return {**_public(row, row["seq"], row["prev_hash"], row["details"]), "hash": row["hash"]}
