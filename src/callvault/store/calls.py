"""Queries over captured calls and their blind index."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from callvault.errors import Conflict
from callvault.store.engine import among, write_transaction
from callvault.store.tables import api_users, audit_events, audit_pending, calls, customer_phones


@dataclass(frozen=True)
class CallRow:
    call_id: str
    session_id: str
    status: str
    start_time: datetime
    end_time: datetime | None
    direction: str
    contact_types: tuple[str, ...]
    sealed: bytes
    audio_format: str | None
    audio_content_type: str | None
    audio_bytes: int
    blob_key: str
    duration_sec: float | None
    status_before_purge: str | None = None
    blob_version: str | None = None
    # False: a Customer number could not be indexed, so no customer purge or hold finds the call
    # by it (contract §19).
    customer_indexed: bool = True
    # A redaction is under way (contract §21): the audio is not served until it ends.
    redacting: bool = False

    @property
    def tethr_status(self) -> str:
        """The status Tethr's clients are shown: a call being purged keeps the one it had."""
        if self.status == "Purging" and self.status_before_purge is not None:
            return self.status_before_purge
        return self.status

    @classmethod
    def from_mapping(cls, m: RowMapping | Mapping[str, Any]) -> CallRow:
        return cls(
            call_id=m["call_id"],
            session_id=m["session_id"],
            status=m["status"],
            start_time=m["start_time"],
            end_time=m["end_time"],
            direction=m["direction"],
            contact_types=tuple(t for t in m["contact_types"].split("\x1f") if t),
            sealed=bytes(m["sealed"]),
            audio_format=m["audio_format"],
            audio_content_type=m["audio_content_type"],
            audio_bytes=m["audio_bytes"],
            blob_key=m["blob_key"],
            duration_sec=m["duration_sec"],
            status_before_purge=m.get("status_before_purge"),
            blob_version=m.get("blob_version"),
            customer_indexed=bool(m.get("customer_indexed", True)),
            redacting=bool(m.get("redacting", False)),
        )


# The statements every capture, status poll and read runs are built once: SQLAlchemy memoizes a
# statement's cache key on the statement object (see store/purges.py).
_SESSION_IN_USE = select(calls.c.call_id).where(calls.c.session_id == bindparam("session_id"))
_INSERT_CALL = insert(calls)
_INSERT_DIGESTS = insert(customer_phones)
_GET_CALL = select(calls).where(calls.c.call_id == bindparam("call_id"))
_CALL_STATUS = select(calls.c.status).where(calls.c.call_id == bindparam("call_id"))
# (An UPDATE's own parameters may not take its columns' names, which its SET clause reserves.)
_MARK_PROCESSED = (
    update(calls)
    .where(calls.c.call_id == bindparam("processed_id"), calls.c.status == "Concluded")
    .values(status="Complete", duration_sec=bindparam("measured"))
)


def session_in_use(engine: Engine, session_id: str) -> bool:
    with engine.connect() as conn:
        found = conn.execute(_SESSION_IN_USE, {"session_id": session_id})
        return found.first() is not None


def insert_call(
    engine: Engine,
    row: CallRow,
    captured_at: datetime,
    phone_digests: Iterable[bytes],
    also: Callable[[Connection], None] | None = None,
) -> None:
    """Store a captured call and its blind-index entries in one transaction (409 on a live twin).

    ``also`` runs last inside that transaction (the capture's audit event): one commit, one fsync.
    """
    values = {
        "call_id": row.call_id,
        "session_id": row.session_id,
        "status": row.status,
        "start_time": row.start_time,
        "end_time": row.end_time,
        "direction": row.direction,
        "contact_types": "\x1f".join(row.contact_types),
        "sealed": row.sealed,
        "audio_format": row.audio_format,
        "audio_content_type": row.audio_content_type,
        "audio_bytes": row.audio_bytes,
        "blob_key": row.blob_key,
        "blob_version": row.blob_version,
        "duration_sec": row.duration_sec,
        "captured_at": captured_at,
        "customer_indexed": row.customer_indexed,
    }
    digests = sorted(set(phone_digests))
    try:
        with write_transaction(engine) as conn:
            conn.execute(_INSERT_CALL, values)
            if digests:
                conn.execute(
                    _INSERT_DIGESTS, [{"digest": d, "call_id": row.call_id} for d in digests]
                )
            if also is not None:
                also(conn)
    except IntegrityError:
        raise Conflict(
            f"a live call with sessionId {row.session_id!r} already exists; "
            "session IDs are unique among live calls"
        ) from None


def existing_calls(engine: Engine, call_ids: Sequence[str]) -> set[str]:
    """Which of the call IDs have a call row."""
    if not call_ids:
        return set()
    with engine.connect() as conn:
        return set(
            conn.execute(select(calls.c.call_id).where(calls.c.call_id.in_(call_ids))).scalars()
        )


def insert_many(
    conn: Connection,
    call_rows: Sequence[Mapping[str, Any]],
    index_rows: Sequence[Mapping[str, Any]],
) -> None:
    """Bulk-store calls already made (``demo.seed_calls``): one insert of every call row, one of
    every blind-index row (``digest``, ``call_id``), inside the caller's write transaction. Rows
    are columns of ``calls`` and ``customer_phones``; a live twin raises IntegrityError."""
    conn.execute(_INSERT_CALL, call_rows)
    if index_rows:
        conn.execute(_INSERT_DIGESTS, index_rows)


def get_call(conn: Connection, call_id: str) -> CallRow | None:
    row = conn.execute(_GET_CALL, {"call_id": call_id}).mappings().first()
    return None if row is None else CallRow.from_mapping(row)


def call_status(engine: Engine, call_id: str) -> str | None:
    """The call's status, None once its row is gone (erased)."""
    with engine.connect() as conn:
        status: str | None = conn.execute(_CALL_STATUS, {"call_id": call_id}).scalar()
    return status


@dataclass(frozen=True)
class AudioState:
    """What decides whether a call's audio may be served: its status, whether a redaction is
    under way, and the blob its audio is in (a redaction swaps in a new one)."""

    status: str
    redacting: bool
    blob_key: str


_AUDIO_STATE_SQL = "SELECT status, redacting, blob_key FROM calls WHERE call_id = {}"


def audio_state(engine: Engine, call_id: str) -> AudioState | None:
    """The call's audio state; None once its row is gone.

    Asked before every piece of audio served (the audio route, an access export), so it is one
    statement on a pooled DBAPI connection: SQLAlchemy's round of checkout, BEGIN, compiled
    execute and ROLLBACK cost 0.24 ms on SQLite here, this 0.04 ms (``bench/README.md``, "Access
    export"). A lone SELECT needs no transaction: SQLite's connections run in autocommit, and
    PostgreSQL's pool rolls back the one the driver opened as the connection returns. A driver's
    error is raised as SQLAlchemy wraps it (``DBAPIError``: no connection, or one lost, is a
    transient error, ``store.engine.is_transient``), as any other query's."""
    dialect = engine.dialect
    sql = _AUDIO_STATE_SQL.format("?" if dialect.paramstyle == "qmark" else "%s")
    raw = None
    try:
        raw = engine.raw_connection()
        cursor = raw.cursor()
        try:
            cursor.execute(sql, (call_id,))
            row = cursor.fetchone()
        finally:
            cursor.close()
    except dialect.loaded_dbapi.Error as exc:
        # As SQLAlchemy's own: a failed connect has no statement; a lost connection is dropped
        # from the pool rather than given back.
        lost = dialect.is_disconnect(exc, None if raw is None else raw.dbapi_connection, None)
        if raw is not None and lost:
            raw.invalidate(exc)
        raise DBAPIError.instance(
            None if raw is None else sql,
            None if raw is None else (call_id,),
            exc,
            dialect.loaded_dbapi.Error,
            hide_parameters=True,
            connection_invalidated=lost,
            dialect=dialect,
        ) from exc
    finally:
        if raw is not None:
            raw.close()
    return None if row is None else AudioState(str(row[0]), bool(row[1]), str(row[2]))


def get_calls(conn: Connection, call_ids: Sequence[str]) -> dict[str, CallRow]:
    """Those calls that still have a row, by call ID, in one query."""
    if not call_ids:
        return {}
    rows = conn.execute(select(calls).where(among(calls.c.call_id, list(call_ids))))
    return {r["call_id"]: CallRow.from_mapping(r) for r in rows.mappings()}


def calls_by_session(engine: Engine, session_ids: Sequence[str]) -> dict[str, CallRow]:
    if not session_ids:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(select(calls).where(calls.c.session_id.in_(set(session_ids))))
        return {r["session_id"]: CallRow.from_mapping(r) for r in rows.mappings()}


def set_status(
    engine: Engine, session_ids: Sequence[str], status: str, *, only_from: Sequence[str]
) -> int:
    with write_transaction(engine) as conn:
        result = conn.execute(
            update(calls)
            .where(calls.c.session_id.in_(set(session_ids)), calls.c.status.in_(only_from))
            .values(status=status)
        )
    return result.rowcount


def pending_processing(engine: Engine, limit: int = 100) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(calls.c.call_id).where(calls.c.status == "Concluded").limit(limit)
        )
        return [r[0] for r in rows]


def mark_processed(engine: Engine, call_id: str, duration_sec: float | None) -> None:
    """Concluded -> Complete; a call excluded or being purged meanwhile keeps its status.

    Relaxed (no flush before it returns): lost to a power failure, the call is Concluded again
    and the start-up backlog processes it again. It saved a capture one fsync of five."""
    with write_transaction(engine, durable=False) as conn:
        conn.execute(_MARK_PROCESSED, {"processed_id": call_id, "measured": duration_sec})


# ------------------------------------------------------------ calls with unindexed customers

# Calls being erased are left out: no one fixes the index of a call about to be gone.
_LIVE = calls.c.status != "Purging"


@dataclass(frozen=True)
class UnindexedCall:
    call_id: str
    session_id: str
    start_time: datetime


def unindexed_calls(engine: Engine) -> list[UnindexedCall]:
    """Live calls with a Customer number that is not in the blind index, by start time."""
    query = (
        select(calls.c.call_id, calls.c.session_id, calls.c.start_time)
        .where(calls.c.customer_indexed.is_(False), _LIVE)
        .order_by(calls.c.start_time, calls.c.call_id)
    )
    with engine.connect() as conn:
        return [UnindexedCall(r.call_id, r.session_id, r.start_time) for r in conn.execute(query)]


@dataclass(frozen=True)
class SealedCall:
    """What re-indexing reads of a call: its sealed details and its blind-index entries."""

    call_id: str
    sealed: bytes
    customer_indexed: bool
    digests: frozenset[bytes]


def sealed_calls_after(engine: Engine, after: str, limit: int) -> list[SealedCall]:
    """Up to ``limit`` live calls whose ID sorts after ``after``, in ID order (a keyset page),
    each with its blind-index digests."""
    query = (
        select(calls.c.call_id, calls.c.sealed, calls.c.customer_indexed)
        .where(calls.c.call_id > after, _LIVE)
        .order_by(calls.c.call_id)
        .limit(limit)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        digests: dict[str, set[bytes]] = {r.call_id: set() for r in rows}
        if digests:
            found = conn.execute(
                select(customer_phones.c.call_id, customer_phones.c.digest).where(
                    customer_phones.c.call_id.in_(list(digests))
                )
            )
            for call_id, digest in found:
                digests[call_id].add(bytes(digest))
    return [
        SealedCall(
            r.call_id, bytes(r.sealed), bool(r.customer_indexed), frozenset(digests[r.call_id])
        )
        for r in rows
    ]


def capturing_regions(engine: Engine) -> dict[str, str]:
    """Call ID -> the region of the API user who captured it (its ``call.captured`` event's
    actor), for the calls of users who have a region; the others read in the default region."""
    found: dict[str, str] = {}
    # Sequenced events, then those a PostgreSQL writer appended and the sequencer has not yet
    # chained (store/audit.py).
    for events in (audit_events, audit_pending):
        query = (
            select(events.c.call_id, api_users.c.region)
            .join(api_users, api_users.c.name == events.c.actor)
            .where(events.c.action == "call.captured", api_users.c.region.is_not(None))
        )
        with engine.connect() as conn:
            found.update({r.call_id: r.region for r in conn.execute(query) if r.call_id})
    return found


def reindex_call(engine: Engine, call_id: str, digests: Iterable[bytes], indexed: bool) -> bool:
    """Add the call's missing blind-index ``digests`` and set its ``customer_indexed``, in one
    transaction; False (nothing written) when the call is gone or being erased meanwhile."""
    with write_transaction(engine) as conn:
        marked = conn.execute(
            update(calls).where(calls.c.call_id == call_id, _LIVE).values(customer_indexed=indexed)
        )
        if marked.rowcount == 0:
            return False
        present = set(
            conn.execute(
                select(customer_phones.c.digest).where(customer_phones.c.call_id == call_id)
            ).scalars()
        )
        new = sorted(set(digests) - {bytes(d) for d in present})
        if new:
            conn.execute(insert(customer_phones), [{"digest": d, "call_id": call_id} for d in new])
    return True
