"""Append-only audit trail, each event chained to the one before by a keyed hash.

``hash = HMAC(audit key, prev_hash || canonical JSON of the event)``. Editing, deleting or
reordering any event breaks the chain from that point, and because the hash is keyed by a key
derived from the master key, someone with write access to the database alone cannot forge a
consistent replacement chain. (Removing the newest events leaves a shorter valid chain: compare
exported heads across time to catch that.)

Phone numbers never appear here, only ``phone_hash`` (a keyed hash from the key ring).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from callvault.audit import outbox
from callvault.store import audit as audit_store
from callvault.store.types import utcnow

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEvent:
    action: str
    actor: str
    request_id: str | None = None
    call_id: str | None = None
    session_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def _canonical(seq: int, at: datetime, event: dict[str, Any]) -> bytes:
    body = {
        "seq": seq,
        "at": at.isoformat(),
        "actor": event["actor"],
        "action": event["action"],
        "request_id": event["request_id"],
        "call_id": event["call_id"],
        "session_id": event["session_id"],
        "details": event["details"],
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _chain(key: bytes, prev_hash: str, payload: bytes) -> str:
    return hmac.new(key, prev_hash.encode() + payload, hashlib.sha256).hexdigest()


class AuditTrail:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def append(self, conn: Connection, events: Sequence[AuditEvent]) -> None:
        """Append events inside the caller's write transaction (which serialises appenders)."""
        if not events:
            return
        audit_store.lock_for_append(conn)
        seq, prev = audit_store.head(conn) or (0, GENESIS)
        now = utcnow()
        rows = []
        for event in events:
            seq += 1
            details = json.dumps(event.details, sort_keys=True, separators=(",", ":"))
            row = {
                "seq": seq,
                "at": now,
                "actor": event.actor,
                "action": event.action,
                "request_id": event.request_id,
                "call_id": event.call_id,
                "session_id": event.session_id,
                "details": details,
            }
            payload = _canonical(seq, now, {**row, "details": event.details})
            digest = _chain(self._key, prev, payload)
            rows.append({**row, "prev_hash": prev, "hash": digest})
            prev = digest
        audit_store.insert_events(conn, rows)
        # The webhooks' deliveries of these events, in this same transaction (audit/outbox.py).
        outbox.record(conn, events)

    def verify(self, engine: Engine) -> tuple[int, str | None]:
        """Walk the chain; returns (events checked, None) or (position, what is wrong)."""
        prev, expected_seq, checked = GENESIS, 1, 0
        for row in self.iter_rows(engine):
            if row["seq"] != expected_seq:
                return checked, f"event {expected_seq} is missing (found {row['seq']} next)"
            if row["prev_hash"] != prev:
                return checked, f"event {row['seq']} does not follow the event before it"
            payload = _canonical(row["seq"], row["at"], {**row, "details": row["details"]})
            if not hmac.compare_digest(_chain(self._key, prev, payload), row["hash"]):
                return checked, f"event {row['seq']} was altered"
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


def event_json(row: dict[str, Any]) -> dict[str, Any]:
    """The public shape of one event (API and export)."""
    return {
        "seq": row["seq"],
        "at": row["at"].isoformat().replace("+00:00", "Z"),
        "actor": row["actor"],
        "action": row["action"],
        "requestId": row["request_id"],
        "callId": row["call_id"],
        "sessionId": row["session_id"],
        "details": row["details"],
        "prevHash": row["prev_hash"],
        "hash": row["hash"],
    }
