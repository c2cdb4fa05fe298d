"""Queries of purge requests, their items, and the job queue (the only SQL the purge code runs).

The database is the queue: a job is written in the same transaction that accepts the purge, so an
accepted purge cannot be lost, and a job whose worker died is claimed again once its lease ends.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    String,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from callvault.store import webhooks
from callvault.store.engine import among, write_transaction
from callvault.store.tables import calls, customer_phones, purge_items, purge_jobs, purge_requests
from callvault.store.types import UTCDateTime, utcnow


@dataclass(frozen=True)
class LiveCall:
    call_id: str
    session_id: str
    status: str
    start_time: datetime | None = None  # set by the resolver below (an export's window reads it)


@dataclass(frozen=True)
class Job:
    """A claimed erasure of one call."""

    call_id: str
    request_id: str
    attempts: int
    requested_by: str
    session_id: str | None
    blob_key: str | None
    audio_bytes: int
    blob_version: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> Job:
        return cls(
            call_id=row.call_id,
            request_id=row.request_id,
            attempts=row.attempts,
            requested_by=row.requested_by or "unknown",
            session_id=row.session_id,
            blob_key=row.blob_key,
            audio_bytes=row.audio_bytes or 0,
            blob_version=row.blob_version,
        )


_LIVE = (calls.c.call_id, calls.c.session_id, calls.c.status, calls.c.start_time)


# Statements of the hot paths (an acceptance, a customer preview) are built once: SQLAlchemy
# memoizes a statement's cache key on the statement object, so one built per request pays for its
# construction and its key every time (bench/README.md, "Customer whatIf"). Lists are bound as
# expanding parameters.
_WANTED = calls.c.call_id.in_(bindparam("ids", expanding=True))
_BY_ID = select(*_LIVE).where(_WANTED)
_BY_SESSION = select(*_LIVE).where(calls.c.session_id.in_(bindparam("ids", expanding=True)))
# Locking the rows makes two concurrent purges of one call queue it once: the second waits, then
# reads the committed status `Purging` (SQLite's write lock does the same implicitly).
_BY_ID_LOCKED = _BY_ID.with_for_update()
_BY_SESSION_LOCKED = _BY_SESSION.with_for_update()
_BY_ONE_CUSTOMER = (
    select(*_LIVE)
    .join(customer_phones, customer_phones.c.call_id == calls.c.call_id)
    .where(customer_phones.c.digest == bindparam("digest"))
    .order_by(calls.c.start_time, calls.c.call_id)
)
_BY_ONE_CUSTOMER_LOCKED = _BY_ONE_CUSTOMER.with_for_update(of=calls)
_INSERT_REQUEST = insert(purge_requests)
_INSERT_ITEMS = insert(purge_items)
_QUEUE_JOBS = insert(purge_jobs).from_select(
    ["call_id", "request_id", "status", "attempts", "available_at", "created_at"],
    select(
        calls.c.call_id,
        bindparam("for_request", type_=String),
        literal("queued", String),
        literal(0, Integer),
        bindparam("due", type_=UTCDateTime),
        bindparam("now", type_=UTCDateTime),
    ).where(_WANTED),
)
_HIDE = update(calls).where(_WANTED).values(status="Purging", status_before_purge=calls.c.status)


def calls_by_id(conn: Connection, ids: Sequence[str], lock: bool = False) -> dict[str, LiveCall]:
    rows = conn.execute(_BY_ID_LOCKED if lock else _BY_ID, {"ids": list(set(ids))})
    return {r.call_id: LiveCall(r.call_id, r.session_id, r.status, r.start_time) for r in rows}


def calls_by_session(
    conn: Connection, ids: Sequence[str], lock: bool = False
) -> dict[str, LiveCall]:
    rows = conn.execute(_BY_SESSION_LOCKED if lock else _BY_SESSION, {"ids": list(set(ids))})
    return {r.session_id: LiveCall(r.call_id, r.session_id, r.status, r.start_time) for r in rows}


def calls_by_customer(conn: Connection, digest: bytes, lock: bool = False) -> list[LiveCall]:
    return calls_by_customers(conn, [digest], lock)


def calls_by_customers(
    conn: Connection, digests: Sequence[bytes], lock: bool = False
) -> list[LiveCall]:
    """Live calls with a Customer contact of any of these blind-index digests (phones, e-mail
    addresses), each call once, by start time."""
    if len(digests) == 1:
        query = _BY_ONE_CUSTOMER_LOCKED if lock else _BY_ONE_CUSTOMER
        rows = conn.execute(query, {"digest": digests[0]})
    else:
        matching = select(customer_phones.c.call_id).where(
            customer_phones.c.digest.in_(set(digests))
        )
        many = (
            select(*_LIVE)
            .where(calls.c.call_id.in_(matching))
            .order_by(calls.c.start_time, calls.c.call_id)
        )
        rows = conn.execute(many.with_for_update(of=calls) if lock else many)
    return [LiveCall(r.call_id, r.session_id, r.status, r.start_time) for r in rows]


def insert_request(
    conn: Connection,
    request_id: str,
    kind: str,
    what_if: bool,
    requested_by: str,
    state: str,
    phone_hash: str | None,
    items: list[dict[str, Any]],
    queued: int = 0,
    erase_after: datetime | None = None,
    suppression_id: str | None = None,
    reference: str | None = None,
) -> None:
    now = utcnow()
    conn.execute(
        _INSERT_REQUEST,
        {
            "suppression_id": suppression_id,
            "reference": reference,
            "queued": queued,
            "erase_after": erase_after,
            "request_id": request_id,
            "created_at": now,
            "kind": kind,
            "what_if": what_if,
            "requested_by": requested_by,
            "state": state,
            "phone_hash": phone_hash,
            "completed_at": now if state != "Purging" else None,
        },
    )
    if items:
        conn.execute(
            _INSERT_ITEMS,
            [{"request_id": request_id, "position": i, **item} for i, item in enumerate(items)],
        )
    if state != "Purging" and not what_if:
        _announce(conn, {request_id: state})  # over at once: nothing to erase, or all held


def enqueue(
    conn: Connection,
    request_id: str,
    call_ids: Sequence[str],
    available_at: datetime | None = None,
) -> None:
    """Hide the calls from every read and queue their erasure (callers pass only live calls),
    due at ``available_at`` (the end of a grace window) or now."""
    if not call_ids:
        return
    now = utcnow()
    # The jobs are made from the calls' rows by the database: one statement whose parameters are
    # bound once, instead of a row of parameters per call for the driver to convert (at 100 IDs a
    # request that conversion cost more than the inserts; see bench/README.md, intake).
    wanted = {"ids": list(call_ids)}
    conn.execute(
        _QUEUE_JOBS, {**wanted, "for_request": request_id, "due": available_at or now, "now": now}
    )
    conn.execute(_HIDE, wanted)


def queued_total_since(conn: Connection, user: str, since: datetime) -> int:
    """Calls the user's requests queued since ``since`` (one index range, summed in SQL)."""
    total = conn.execute(
        select(func.coalesce(func.sum(purge_requests.c.queued), 0)).where(
            purge_requests.c.requested_by == user, purge_requests.c.created_at > since
        )
    ).scalar_one()
    return int(total)


def queued_since(conn: Connection, user: str, since: datetime) -> list[tuple[datetime, int]]:
    """(accepted at, calls queued) of the user's requests since ``since``, oldest first."""
    rows = conn.execute(
        select(purge_requests.c.created_at, purge_requests.c.queued)
        .where(
            purge_requests.c.requested_by == user,
            purge_requests.c.created_at > since,
            purge_requests.c.queued > 0,
        )
        .order_by(purge_requests.c.created_at)
    )
    return [(r.created_at, r.queued) for r in rows]


def cancel(conn: Connection, request_id: str, now: datetime) -> list[str] | None:
    """Take a request's calls out of erasure inside its grace window: every call whose job this
    request queued and no other request waits on is restored to the status it had; items end
    ``Cancelled``. None when a job already started (the window is over for it)."""
    lock = select(purge_jobs.c.call_id, purge_jobs.c.status).where(
        purge_jobs.c.request_id == request_id
    )
    if conn.dialect.name == "postgresql":
        lock = lock.with_for_update()
    jobs = conn.execute(lock).all()
    if any(j.status != "queued" for j in jobs):
        return None
    mine = [j.call_id for j in jobs]
    # A call another request also waits on keeps its erasure, now on that request's behalf.
    others = conn.execute(
        select(purge_items.c.call_id, purge_items.c.request_id).where(
            purge_items.c.call_id.in_(mine),
            purge_items.c.status == "Purging",
            purge_items.c.request_id != request_id,
        )
    ).all()
    handed_over: dict[str, str] = {}
    for call_id, other in others:
        handed_over.setdefault(call_id, other)
    for call_id, other in handed_over.items():
        conn.execute(
            update(purge_jobs).where(purge_jobs.c.call_id == call_id).values(request_id=other)
        )
    restored = [c for c in mine if c not in handed_over]
    if restored:
        restore(conn, restored)
    conn.execute(
        update(purge_items)
        .where(
            purge_items.c.request_id == request_id,
            purge_items.c.status.in_(("Purging", "Held")),
        )
        .values(status="Cancelled", hold_ids=None, error_msg=None)
    )
    conn.execute(
        update(purge_requests)
        .where(purge_requests.c.request_id == request_id)
        .values(state="Cancelled", completed_at=now)
    )
    _announce(conn, {request_id: "Cancelled"})
    return restored


def requeue_failed(conn: Connection, call_ids: Sequence[str]) -> None:
    """A call whose erasure had given up is tried afresh when someone asks again."""
    if call_ids:
        conn.execute(
            update(purge_jobs)
            .where(purge_jobs.c.call_id.in_(call_ids), purge_jobs.c.status == "failed")
            .values(status="queued", attempts=0, available_at=utcnow(), last_error=None)
        )


def claim(engine: Engine, worker_id: str, limit: int, lease_seconds: float) -> list[Job]:
    """Take up to ``limit`` due jobs (or jobs whose lease ran out) with a fresh lease."""
    now = utcnow()
    due = (
        select(purge_jobs.c.call_id)
        .where(
            or_(
                and_(purge_jobs.c.status == "queued", purge_jobs.c.available_at <= now),
                and_(purge_jobs.c.status == "running", purge_jobs.c.lease_until < now),
            )
        )
        .order_by(purge_jobs.c.available_at)
        .limit(limit)
    )
    if engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    with write_transaction(engine) as conn:
        claimed = (
            conn.execute(
                update(purge_jobs)
                .where(purge_jobs.c.call_id.in_(due.scalar_subquery()))
                .values(
                    status="running",
                    worker_id=worker_id,
                    lease_until=now + timedelta(seconds=lease_seconds),
                    attempts=purge_jobs.c.attempts + 1,
                )
                .returning(purge_jobs.c.call_id)
            )
            .scalars()
            .all()
        )
        if not claimed:
            return []
        rows = conn.execute(
            select(
                purge_jobs.c.call_id,
                purge_jobs.c.request_id,
                purge_jobs.c.attempts,
                purge_requests.c.requested_by,
                calls.c.session_id,
                calls.c.blob_key,
                calls.c.audio_bytes,
                calls.c.blob_version,
            )
            .select_from(purge_jobs)
            .outerjoin(calls, calls.c.call_id == purge_jobs.c.call_id)
            .outerjoin(purge_requests, purge_requests.c.request_id == purge_jobs.c.request_id)
            .where(among(purge_jobs.c.call_id, claimed))
        ).all()
    return [Job.from_row(r) for r in rows]


def extend_lease(engine: Engine, worker_id: str, call_ids: Sequence[str], seconds: float) -> None:
    with write_transaction(engine) as conn:
        conn.execute(
            update(purge_jobs)
            .where(among(purge_jobs.c.call_id, call_ids), purge_jobs.c.worker_id == worker_id)
            .values(lease_until=utcnow() + timedelta(seconds=seconds))
        )


def _settle_requests(
    conn: Connection,
    request_ids: set[str],
    now: datetime,
    from_states: tuple[str, ...] = ("Purging",),
) -> None:
    """Requests with no item left Purging settle: Held while an item waits on a legal hold
    (contract §12: the request is not over), else Failed if an item is Error, else Complete."""
    if not request_ids:
        return

    def having(status: str) -> Any:
        return exists().where(
            purge_items.c.request_id == purge_requests.c.request_id,
            purge_items.c.status == status,
        )

    failed, held = having("Error"), having("Held")
    settled: dict[str, str] = {}
    for state, condition in (
        ("Held", held),
        ("Failed", and_(~held, failed)),
        ("Complete", and_(~held, ~failed)),
    ):
        for request_id in conn.execute(
            update(purge_requests)
            .where(
                purge_requests.c.request_id.in_(request_ids),
                purge_requests.c.state.in_(from_states),
                # A Held request whose other items changed (one refused on a release) stays
                # Held: not reached again, not announced again, its completedAt kept.
                purge_requests.c.state != state,
                ~having("Purging"),
                condition,
            )
            .values(state=state, completed_at=now)
            .returning(purge_requests.c.request_id)
        ).scalars():
            settled[request_id] = state
    _announce(conn, settled)


def _announce(conn: Connection, settled: dict[str, str]) -> None:
    """``purge.completed`` (contract §23) for each real request that reached a state here
    (Complete, Failed, Held or Cancelled), in the transaction that moved it: once per state
    reached, never for a whatIf. Its data: IDs, the state, the kind, counts of the items by
    status and the reference — the request's personal values (a customer's number) never."""
    if not settled:
        return
    webhook_ids = webhooks.subscribers(conn, "purge.completed")
    if not webhook_ids:
        return
    ids = list(settled)
    requests = conn.execute(
        select(purge_requests.c.request_id, purge_requests.c.kind, purge_requests.c.reference)
        .where(purge_requests.c.request_id.in_(ids), purge_requests.c.what_if.is_(False))
        .order_by(purge_requests.c.created_at)
    ).all()
    counts: dict[str, dict[str, int]] = {}
    for request_id, status, number in conn.execute(
        select(purge_items.c.request_id, purge_items.c.status, func.count())
        .where(purge_items.c.request_id.in_(ids))
        .group_by(purge_items.c.request_id, purge_items.c.status)
    ):
        counts.setdefault(request_id, {})[status] = number
    for request_id, kind, reference in requests:
        data = {
            "requestId": request_id,
            "state": settled[request_id],
            "kind": kind,
            "reference": reference,
            "items": counts.get(request_id, {}),
        }
        webhooks.enqueue(conn, "purge.completed", data, webhook_ids)


def restore(conn: Connection, call_ids: Sequence[str]) -> None:
    """Take queued calls out of erasure: their jobs are dropped and each is served again with the
    status it had when its erasure was accepted."""
    conn.execute(delete(purge_jobs).where(purge_jobs.c.call_id.in_(call_ids)))
    conn.execute(
        update(calls)
        .where(calls.c.call_id.in_(call_ids), calls.c.status == "Purging")
        .values(
            status=func.coalesce(calls.c.status_before_purge, "Complete"),
            status_before_purge=None,
        )
    )


def hold_back(conn: Connection, held: dict[str, list[str]]) -> dict[str, list[str]]:
    """Take queued calls out of erasure because legal holds cover them (their keys still exist):
    the call is served again with the status it had, its job is dropped, and every item that
    waited on it becomes ``Held`` naming the holds. Returns request ID -> held call IDs."""
    if not held:
        return {}
    ids = list(held)
    restore(conn, ids)
    affected: dict[str, list[str]] = {}
    for call_id, hold_ids in held.items():
        # An erasure that gave up (Error) while the key still exists is held too: its
        # obligation outlives the hold, and the release resumes it.
        for request_id in conn.execute(
            update(purge_items)
            .where(
                purge_items.c.call_id == call_id,
                purge_items.c.status.in_(("Purging", "Error")),
                purge_items.c.request_id.in_(
                    select(purge_requests.c.request_id).where(purge_requests.c.what_if.is_(False))
                ),
            )
            .values(status="Held", hold_ids=json.dumps(hold_ids), error_msg=held_message(hold_ids))
            .returning(purge_items.c.request_id)
        ).scalars():
            affected.setdefault(request_id, []).append(call_id)
    _settle_requests(conn, set(affected), utcnow(), from_states=("Purging", "Failed"))
    return affected


def held_message(hold_ids: Sequence[str]) -> str:
    return "held by legal hold " + ", ".join(hold_ids)


@dataclass(frozen=True)
class HeldItem:
    """An item of a real (not whatIf) request that waits on legal holds."""

    request_id: str
    call_id: str
    hold_ids: tuple[str, ...]
    kind: str
    requested_by: str


def held_items(conn: Connection) -> list[HeldItem]:
    """Every ``Held`` item of a real request, with the holds it names and who asked."""
    rows = conn.execute(
        select(
            purge_items.c.request_id,
            purge_items.c.call_id,
            purge_items.c.hold_ids,
            purge_requests.c.kind,
            purge_requests.c.requested_by,
        )
        .join(purge_requests, purge_requests.c.request_id == purge_items.c.request_id)
        .where(purge_items.c.status == "Held", purge_requests.c.what_if.is_(False))
        .order_by(purge_items.c.request_id, purge_items.c.position)
    )
    return [
        HeldItem(
            r.request_id, r.call_id, tuple(json.loads(r.hold_ids or "[]")), r.kind, r.requested_by
        )
        for r in rows
    ]


def update_held(conn: Connection, held: dict[str, list[str]]) -> None:
    """Items still held, by other holds than before: name the holds that cover them now."""
    for call_id, hold_ids in held.items():
        conn.execute(
            update(purge_items)
            .where(purge_items.c.call_id == call_id, purge_items.c.status == "Held")
            .values(hold_ids=json.dumps(hold_ids), error_msg=held_message(hold_ids))
        )


def _by_request(items: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for request_id, call_id in items:
        grouped.setdefault(request_id, []).append(call_id)
    return grouped


def resume(conn: Connection, items: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """Queue again the erasure of these held (request ID, call ID) items, whose calls no hold
    covers any more, in the requests that asked for it (no new request). Returns request ID ->
    resumed call IDs."""
    if not items:
        return {}
    affected: dict[str, list[str]] = {}
    rows: list[Any] = []
    for request_id, call_ids in _by_request(items).items():
        rows += conn.execute(
            update(purge_items)
            .where(
                purge_items.c.request_id == request_id,
                purge_items.c.call_id.in_(call_ids),
                purge_items.c.status == "Held",
            )
            .values(status="Purging", hold_ids=None, error_msg=None)
            .returning(purge_items.c.request_id, purge_items.c.call_id)
        ).all()
    first_request: dict[str, str] = {}
    for request_id, call_id in rows:
        affected.setdefault(request_id, []).append(call_id)
        first_request.setdefault(call_id, request_id)
    if not rows:
        return {}
    conn.execute(
        update(purge_requests)
        .where(purge_requests.c.request_id.in_(list(affected)))
        .values(state="Purging", completed_at=None)
    )
    live = set(
        conn.execute(
            select(calls.c.call_id).where(
                calls.c.call_id.in_(list(first_request)),
                calls.c.status != "Purging",
            )
        ).scalars()
    )
    queued = set(
        conn.execute(
            select(purge_jobs.c.call_id).where(purge_jobs.c.call_id.in_(list(first_request)))
        ).scalars()
    )
    # A held call has no job and cannot be erased, so it is still there; one already queued
    # again (by another released hold's request) is simply waited for.
    by_request: dict[str, list[str]] = {}
    for call_id, request_id in first_request.items():
        if call_id in live and call_id not in queued:
            by_request.setdefault(request_id, []).append(call_id)
    windows = dict(
        conn.execute(
            select(purge_requests.c.request_id, purge_requests.c.erase_after).where(
                purge_requests.c.request_id.in_(list(by_request))
            )
        ).all()
    )
    now = utcnow()
    for request_id, ids in by_request.items():
        # A grace window still open when the hold ends is kept: erasure starts when it ends.
        window = windows.get(request_id)
        enqueue(conn, request_id, ids, window if window is not None and window > now else None)
    return affected


def not_resumed(conn: Connection, items: dict[tuple[str, str], str]) -> dict[str, list[str]]:
    """Held (request ID, call ID) items whose erasure a release does not resume (contract §12):
    each becomes ``Error`` with its message, the call stays as it is, and a request with nothing
    left to wait on settles. Returns request ID -> call IDs."""
    affected: dict[str, list[str]] = {}
    for (request_id, call_id), message in items.items():
        done = conn.execute(
            update(purge_items)
            .where(
                purge_items.c.request_id == request_id,
                purge_items.c.call_id == call_id,
                purge_items.c.status == "Held",
            )
            .values(status="Error", hold_ids=None, error_msg=message)
        )
        if done.rowcount:
            affected.setdefault(request_id, []).append(call_id)
    _settle_requests(conn, set(affected), utcnow(), from_states=("Held", "Purging"))
    return affected


def finish_erased(conn: Connection, worker_id: str, call_ids: Sequence[str]) -> list[str]:
    """Delete the erased calls' rows and mark every request item that waited on them Purged.

    Only jobs this worker still holds are finished (returned): if its lease ran out and another
    worker took a job over, that worker finishes it, so each call is recorded erased once.
    """
    owned = list(
        conn.execute(
            delete(purge_jobs)
            .where(among(purge_jobs.c.call_id, call_ids), purge_jobs.c.worker_id == worker_id)
            .returning(purge_jobs.c.call_id)
        ).scalars()
    )
    if not owned:
        return []
    call_ids = owned
    now = utcnow()
    conn.execute(delete(customer_phones).where(among(customer_phones.c.call_id, call_ids)))
    conn.execute(delete(calls).where(among(calls.c.call_id, call_ids)))
    # The requests to settle are those whose items this very statement marked: a purge of the
    # same call accepted concurrently (PostgreSQL) is included, not missed.
    affected = set(
        conn.execute(
            update(purge_items)
            .where(among(purge_items.c.call_id, call_ids), purge_items.c.status == "Purging")
            .values(status="Purged", erased_at=now)
            .returning(purge_items.c.request_id)
        ).scalars()
    )
    _settle_requests(conn, affected, now)
    return owned


def retry_later(
    engine: Engine, worker_id: str, call_id: str, error: str, delay_seconds: float
) -> None:
    with write_transaction(engine) as conn:
        conn.execute(
            update(purge_jobs)
            .where(purge_jobs.c.call_id == call_id, purge_jobs.c.worker_id == worker_id)
            .values(
                status="queued",
                lease_until=None,
                worker_id=None,
                last_error=error[:500],
                available_at=utcnow() + timedelta(seconds=delay_seconds),
            )
        )


def give_up(conn: Connection, call_id: str, error: str) -> None:
    """The erasure keeps failing: its items end in Error (the call stays hidden, key destroyed)."""
    now = utcnow()
    conn.execute(
        update(purge_jobs)
        .where(purge_jobs.c.call_id == call_id)
        .values(status="failed", lease_until=None, worker_id=None, last_error=error[:500])
    )
    affected = set(
        conn.execute(
            update(purge_items)
            .where(purge_items.c.call_id == call_id, purge_items.c.status == "Purging")
            .values(status="Error", error_msg=error[:500])
            .returning(purge_items.c.request_id)
        ).scalars()
    )
    _settle_requests(conn, affected, now)


def lock_request(conn: Connection, request_id: str) -> Any:
    query = select(purge_requests).where(purge_requests.c.request_id == request_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).first()


def get_request(engine: Engine, request_id: str) -> tuple[Any, list[Any]] | None:
    with engine.connect() as conn:
        return read_request(conn, request_id)


def read_request(conn: Connection, request_id: str) -> tuple[Any, list[Any]] | None:
    """A request row and its item rows, in the caller's transaction (None: no such request)."""
    head = conn.execute(
        select(purge_requests).where(purge_requests.c.request_id == request_id)
    ).first()
    if head is None:
        return None
    items = conn.execute(
        select(purge_items)
        .where(purge_items.c.request_id == request_id)
        .order_by(purge_items.c.position)
    ).all()
    return head, list(items)


@dataclass(frozen=True)
class QueueStats:
    depth: int
    failed: int
    oldest_age_seconds: float


def queue_stats(engine: Engine) -> QueueStats:
    with engine.connect() as conn:
        rows = conn.execute(
            select(purge_jobs.c.status, func.count(), func.min(purge_jobs.c.created_at)).group_by(
                purge_jobs.c.status
            )
        ).all()
    depth = sum(r[1] for r in rows if r[0] != "failed")
    failed = sum(r[1] for r in rows if r[0] == "failed")
    oldest = [r[2] for r in rows if r[0] != "failed" and r[2] is not None]
    age = (utcnow() - min(oldest)).total_seconds() if oldest else 0.0
    return QueueStats(depth=depth, failed=failed, oldest_age_seconds=max(age, 0.0))


REQUEST_STATES = ("Purging", "Held", "Complete", "Failed", "Cancelled")
REQUEST_KINDS = ("calls", "sessions", "customer", "retention")


def list_requests(
    engine: Engine,
    state: str | None,
    kind: str | None,
    limit: int,
    offset: int = 0,
    *,
    after: tuple[datetime, str] | None = None,
    reference: str | None = None,
) -> list[Any]:
    """Purge requests that erase (whatIf previews left out), newest first (then by request ID,
    descending), with item counts. ``after``: the (created_at, request_id) of the last request of
    the page before, for keyset paging (a request made meanwhile does not shift the pages)."""
    n_items = (
        select(func.count())
        .select_from(purge_items)
        .where(purge_items.c.request_id == purge_requests.c.request_id)
        .scalar_subquery()
    )
    query = select(
        purge_requests.c.request_id,
        purge_requests.c.created_at,
        purge_requests.c.kind,
        purge_requests.c.what_if,
        purge_requests.c.requested_by,
        purge_requests.c.state,
        purge_requests.c.completed_at,
        purge_requests.c.erase_after,
        purge_requests.c.reference,
        n_items.label("n_items"),
    ).where(purge_requests.c.what_if.is_(False))
    if reference is not None:
        query = query.where(purge_requests.c.reference == reference)
    if state is not None:
        query = query.where(purge_requests.c.state == state)
    if kind is not None:
        query = query.where(purge_requests.c.kind == kind)
    if after is not None:
        created_at, request_id = after
        query = query.where(
            or_(
                purge_requests.c.created_at < created_at,
                and_(
                    purge_requests.c.created_at == created_at,
                    purge_requests.c.request_id < request_id,
                ),
            )
        )
    query = query.order_by(purge_requests.c.created_at.desc(), purge_requests.c.request_id.desc())
    with engine.connect() as conn:
        return list(conn.execute(query.limit(limit).offset(offset)).all())


def call_summaries(engine: Engine, call_ids: Sequence[str]) -> dict[str, Any]:
    """Start time, direction and duration (columns in clear, nothing personal) of live calls."""
    if not call_ids:
        return {}
    query = select(
        calls.c.call_id, calls.c.start_time, calls.c.direction, calls.c.duration_sec
    ).where(calls.c.call_id.in_(set(call_ids)))
    with engine.connect() as conn:
        return {row.call_id: row for row in conn.execute(query)}
