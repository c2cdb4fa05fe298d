"""Queries of subject access exports (contract §20): the export rows and the calls each covers.

An export's package is never stored: only who asked, for whom (sealed), which calls (fixed at
creation), the link's token hash, its expiry and how many downloads it has left.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from callvault.store.tables import export_calls, exports

READY, REVOKED, EXPIRED = "Ready", "Revoked", "Expired"


@dataclass(frozen=True)
class ExportRow:
    export_id: str
    state: str  # as stored: Ready | Revoked (``state_at`` tells Expired apart)
    created_by: str
    created_at: datetime
    expires_at: datetime
    reference: str | None
    calls: int
    downloads: int
    max_downloads: int
    token_hash: bytes
    recipients: list[str]
    sealed_subject: bytes
    revoked_by: str | None
    revoked_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> ExportRow:
        return cls(
            export_id=row.export_id,
            state=row.state,
            created_by=row.created_by,
            created_at=row.created_at,
            expires_at=row.expires_at,
            reference=row.reference,
            calls=row.calls,
            downloads=row.downloads,
            max_downloads=row.max_downloads,
            token_hash=bytes(row.token_hash),
            recipients=json.loads(row.recipients),
            sealed_subject=bytes(row.sealed_subject),
            revoked_by=row.revoked_by,
            revoked_at=row.revoked_at,
        )

    def state_at(self, now: datetime) -> str:
        """Ready, Revoked, or Expired (a ready one past its link's expiry or out of downloads)."""
        if self.state == READY and (self.expires_at <= now or self.downloads >= self.max_downloads):
            return EXPIRED
        return self.state


@dataclass(frozen=True)
class ExportCall:
    call_id: str
    session_id: str
    start_time: datetime


def insert_export(conn: Connection, values: dict[str, Any], covered: Sequence[ExportCall]) -> None:
    conn.execute(insert(exports).values(**values))
    if covered:
        conn.execute(
            insert(export_calls),
            [
                {
                    "export_id": values["export_id"],
                    "position": n,
                    "call_id": c.call_id,
                    "session_id": c.session_id,
                    "start_time": c.start_time,
                }
                for n, c in enumerate(covered)
            ],
        )


def get_export(conn: Connection, export_id: str) -> ExportRow | None:
    row = conn.execute(select(exports).where(exports.c.export_id == export_id)).first()
    return None if row is None else ExportRow.from_row(row)


def covered_calls(conn: Connection, export_id: str) -> list[ExportCall]:
    rows = conn.execute(
        select(export_calls.c.call_id, export_calls.c.session_id, export_calls.c.start_time)
        .where(export_calls.c.export_id == export_id)
        .order_by(export_calls.c.position)
    )
    return [ExportCall(r.call_id, r.session_id, r.start_time) for r in rows]


def page_exports(
    conn: Connection, reference: str | None, limit: int, after: tuple[datetime, str] | None
) -> list[ExportRow]:
    """Up to ``limit`` exports, newest first (creation time, then ID, both descending), those
    after ``after`` (the last of the previous page) when given."""
    e = exports.c
    query = select(exports)
    if reference is not None:
        query = query.where(e.reference == reference)
    if after is not None:
        at, last_id = after
        query = query.where(or_(e.created_at < at, and_(e.created_at == at, e.export_id < last_id)))
    query = query.order_by(e.created_at.desc(), e.export_id.desc()).limit(limit)
    return [ExportRow.from_row(r) for r in conn.execute(query)]


def take_download(conn: Connection, export_id: str, now: datetime) -> bool:
    """Count one download started, if the export is Ready, unexpired and has downloads left;
    False (nothing changed) otherwise. One statement: two concurrent downloads of the last
    allowance cannot both win."""
    e = exports.c
    done = conn.execute(
        update(exports)
        .where(
            e.export_id == export_id,
            e.state == READY,
            e.expires_at > now,
            e.downloads < e.max_downloads,
        )
        .values(downloads=e.downloads + 1)
    )
    return done.rowcount == 1


def mark_revoked(conn: Connection, export_id: str, by: str, at: datetime) -> bool:
    """Revoke an export still Ready (and unexpired); False when it was not."""
    e = exports.c
    done = conn.execute(
        update(exports)
        .where(
            e.export_id == export_id,
            e.state == READY,
            e.expires_at > at,
            e.downloads < e.max_downloads,
        )
        .values(state=REVOKED, revoked_by=by, revoked_at=at)
    )
    return done.rowcount == 1
