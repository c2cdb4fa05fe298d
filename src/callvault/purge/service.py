"""Accepting purge requests: the seed's three endpoints, whatIf included, on one code path.

Acceptance is one write transaction: resolve the IDs, hide the calls (status ``Purging``), write
the request, its items and one job per newly purged call, and append the audit event. whatIf runs
the very same resolution and item logic and only skips the writes that change calls and jobs, so a
preview can never differ from what the real run then does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection

from callvault.audit.trail import AuditEvent, AuditTrail
from callvault.errors import BadInput, Conflict, NotFound
from callvault.ids import new_request_id
from callvault.phone import index_form
from callvault.purge import guards
from callvault.purge.governance import Governance
from callvault.runtime import Runtime
from callvault.store import purges
from callvault.store.engine import write_transaction
from callvault.store.group_commit import GroupCommitter
from callvault.store.purges import LiveCall
from callvault.store.types import utcnow
from callvault.text import is_clean

PURGING, NOT_FOUND, WHAT_IF, PURGED, ERROR = "Purging", "NotFound", "WhatIf", "Purged", "Error"
HELD = "Held"


@dataclass(frozen=True)
class PurgeItem:
    call_id: str | None
    session_id: str | None
    status: str
    error_msg: str | None = None
    hold_ids: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The item as the purge endpoints answer it: Tethr's statuses only, so a call that a
        legal hold covers is an ``Error`` whose message names the hold."""
        return {
            "callId": self.call_id,
            "sessionId": self.session_id,
            "status": ERROR if self.status == HELD else self.status,
            "errorMsg": self.error_msg,
        }


@dataclass(frozen=True)
class PurgeResult:
    request_id: str
    kind: str
    what_if: bool
    items: list[PurgeItem]
    confirm_token: str | None = None  # a customer whatIf's, for the purge that follows


# Runs inside the acceptance transaction with the calls the request would queue: raises to refuse
# the request, or returns a confirm token (a customer preview's).
Guard = Callable[[Connection, list[str]], str | None]


@dataclass(frozen=True)
class _Accepted:
    items: list[PurgeItem]
    to_queue: list[str]
    event: AuditEvent
    confirm_token: str | None = None


# (asked ID or None for a customer match, the live call or None)
Resolved = list[tuple[str | None, LiveCall | None]]


def distinct(ids: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(ids))


class PurgeService:
    def __init__(self, runtime: Runtime, on_queued: Callable[[], None] | None = None) -> None:
        self.runtime = runtime
        self.trail = AuditTrail(runtime.keys.audit_chain_key)
        self.governance = Governance(runtime)
        self._on_queued = on_queued
        # Concurrent acceptances share one commit (one fsync): see store/group_commit.py.
        self._writes = GroupCommitter(runtime.engine, finish=self._append_events)

    def purge_calls(self, ids: Sequence[str], what_if: bool, actor: str) -> PurgeResult:
        asked = distinct(ids)

        def resolve(conn: Connection) -> Resolved:
            found = purges.calls_by_id(conn, asked, lock=not what_if)
            return [(i, found.get(i)) for i in asked]

        return self._accept("calls", resolve, what_if, actor, by_session=False)

    def purge_sessions(self, ids: Sequence[str], what_if: bool, actor: str) -> PurgeResult:
        asked = distinct(ids)

        def resolve(conn: Connection) -> Resolved:
            found = purges.calls_by_session(conn, asked, lock=not what_if)
            return [(i, found.get(i)) for i in asked]

        return self._accept("sessions", resolve, what_if, actor, by_session=True)

    def purge_customer(
        self,
        phone: str,
        what_if: bool,
        actor: str,
        confirm: str | None = None,
        region: str | None = None,
    ) -> PurgeResult:
        """Purge a customer's calls; a national ``phone`` is read in ``region`` (the asking
        user's, else the instance's default). ``confirm``: a preview's confirmToken."""
        form = index_form(phone, region or self.runtime.settings.default_region)
        if form is None:
            raise BadInput(
                "phoneNumber is not a complete phone number: give it with its area code "
                "(and its country code outside the default region), e.g. +15125551234"
            )
        digest = self.runtime.keys.blind_index(form)

        def resolve(conn: Connection) -> Resolved:
            return [
                (None, call) for call in purges.calls_by_customer(conn, digest, lock=not what_if)
            ]

        confirm_above = self.runtime.settings.purge_confirm_above

        def guard(conn: Connection, would_queue: list[str]) -> str | None:
            if what_if:
                return guards.issue_confirm_token(conn, actor, digest, would_queue)
            guards.check_customer_purge(conn, actor, digest, would_queue, confirm, confirm_above)
            return None

        phone_hash = self.runtime.keys.audit_hash(form)
        return self._accept("customer", resolve, what_if, actor, False, phone_hash, guard)

    def _accept(
        self,
        kind: str,
        resolve: Callable[[Connection], Resolved],
        what_if: bool,
        actor: str,
        by_session: bool,
        phone_hash: str | None = None,
        guard: Guard | None = None,
    ) -> PurgeResult:
        request_id = new_request_id()

        settings = self.runtime.settings
        quota = settings.purge_quota_per_hour if kind != "retention" else 0

        def unit(conn: Connection) -> _Accepted:
            if quota and not what_if:
                guards.lock_quota(conn)
            resolved = resolve(conn)
            held = self.governance.held(
                conn, [c.call_id for _, c in resolved if c is not None and c.status != PURGING]
            )
            items, to_queue, to_requeue = self._items(resolved, what_if, by_session, held)
            confirm_token = guard(conn, to_queue) if guard is not None else None
            if quota and not what_if and to_queue:
                guards.check_quota(conn, actor, len(to_queue), quota)
            erase_after = None
            # The window runs from acceptance, for held items too (released inside it, they
            # wait for it; cancel reaches them).
            if not what_if and settings.purge_grace_seconds:
                erase_after = utcnow() + timedelta(seconds=settings.purge_grace_seconds)
            if not what_if:
                purges.enqueue(conn, request_id, to_queue, erase_after)
                purges.requeue_failed(conn, to_requeue)
            state = _state(items, what_if)
            purges.insert_request(
                conn,
                request_id,
                kind,
                what_if,
                actor,
                state,
                phone_hash,
                [
                    {
                        "call_id": i.call_id,
                        "session_id": i.session_id,
                        # A preview's record never waits on an erasure: the machinery that
                        # settles, holds or cancels Purging items must not reach it.
                        "status": WHAT_IF if what_if and i.status == PURGING else i.status,
                        "error_msg": i.error_msg,
                        "hold_ids": json.dumps(list(i.hold_ids)) if i.hold_ids else None,
                    }
                    for i in items
                ],
                queued=0 if what_if else len(to_queue),
                erase_after=erase_after,
            )
            details: dict[str, Any] = {
                "kind": kind,
                "whatIf": what_if,
                "asked": len(resolved) if kind != "customer" else None,
                "matched": sum(1 for _, call in resolved if call is not None),
                "queued": 0 if what_if else len(to_queue),
                "held": sum(1 for i in items if i.status == HELD),
            }
            if phone_hash is not None:
                details["phoneHash"] = phone_hash
            event = AuditEvent("purge.requested", actor, request_id, None, None, details)
            return _Accepted(items, to_queue, event, confirm_token)

        accepted = self._writes.run(unit)
        items, to_queue = accepted.items, accepted.to_queue
        if to_queue and not what_if and self._on_queued is not None:
            self._on_queued()
        return PurgeResult(request_id, kind, what_if, items, accepted.confirm_token)

    def _append_events(self, conn: Connection, accepted: list[_Accepted]) -> None:
        # Once per batch, after every unit took its row locks (see store/group_commit.py).
        self.trail.append(conn, [a.event for a in accepted])

    @staticmethod
    def _items(
        resolved: Resolved, what_if: bool, by_session: bool, held: dict[str, list[str]]
    ) -> tuple[list[PurgeItem], list[str], list[str]]:
        items: list[PurgeItem] = []
        to_queue: list[str] = []
        already: list[str] = []
        for asked, call in resolved:
            if call is None:
                items.append(
                    PurgeItem(None, asked, NOT_FOUND)
                    if by_session
                    else PurgeItem(asked, None, NOT_FOUND)
                )
            elif call.status == PURGING:
                # Already being erased: report it, queue nothing new (retry it if it gave up).
                items.append(PurgeItem(call.call_id, call.session_id, PURGING))
                already.append(call.call_id)
            elif call.call_id in held:
                # A legal hold beats every erasure: neither hidden nor queued (whatIf shows it).
                hold_ids = held[call.call_id]
                message = purges.held_message(hold_ids)
                items.append(
                    PurgeItem(call.call_id, call.session_id, HELD, message, tuple(hold_ids))
                )
            else:
                items.append(
                    PurgeItem(call.call_id, call.session_id, WHAT_IF if what_if else PURGING)
                )
                to_queue.append(call.call_id)
        return items, to_queue, already

    def cancel(self, request_id: str, actor: str) -> dict[str, Any]:
        """Within its grace window, take a request's calls out of erasure (contract §13)."""
        if not is_clean(request_id) or len(request_id) > 64:
            raise NotFound("no purge request with that requestId")
        now = utcnow()
        with write_transaction(self.runtime.engine) as conn:
            head = purges.lock_request(conn, request_id)
            if head is None:
                raise NotFound(f"no purge request with requestId {request_id!r}")
            if head.what_if:
                raise Conflict("a whatIf preview erased nothing: there is nothing to cancel")
            if head.erase_after is None:
                raise Conflict(
                    "this request has no grace window (CALLVAULT_PURGE_GRACE_SECONDS was 0 or "
                    "it queued nothing): its erasure could not be cancelled"
                )
            if head.state not in (PURGING, HELD):
                raise Conflict(f"this request is already {head.state}: nothing to cancel")
            if now >= head.erase_after:
                raise Conflict(
                    f"the grace window ended at {_iso(head.erase_after)}: erasure has started"
                )
            restored = purges.cancel(conn, request_id, now)
            if restored is None:
                raise Conflict("erasure of this request's calls has started: too late to cancel")
            self.trail.append(
                conn,
                [
                    AuditEvent(
                        "purge.cancelled",
                        actor,
                        request_id,
                        details={"callsRestored": len(restored)},
                    )
                ],
            )
        return self.request(request_id)

    def list_requests(
        self, state: str | None = None, kind: str | None = None, page: int = 1, per_page: int = 50
    ) -> list[dict[str, Any]]:
        """Requests that erase (previews left out), newest first; ``state``/``kind`` filter."""
        if state is not None and state not in purges.REQUEST_STATES:
            raise BadInput(f"state must be one of {', '.join(purges.REQUEST_STATES)}")
        if kind is not None and kind not in purges.REQUEST_KINDS:
            raise BadInput(f"kind must be one of {', '.join(purges.REQUEST_KINDS)}")
        if not 1 <= page <= 100_000:
            raise BadInput("page must be a whole number from 1 to 100000")
        rows = purges.list_requests(
            self.runtime.engine, state, kind, per_page, (page - 1) * per_page
        )
        return [
            {
                "requestId": r.request_id,
                "createdAt": _iso(r.created_at),
                "kind": r.kind,
                "requestedBy": r.requested_by,
                "state": r.state,
                "completedAt": _iso(r.completed_at),
                "items": r.n_items,
            }
            for r in rows
        ]

    def describe(self, items: Sequence[PurgeItem]) -> list[dict[str, Any]]:
        """What a preview shows of each matched call beside its item: start time, direction,
        duration (columns kept in clear; nothing personal)."""
        ids = [i.call_id for i in items if i.call_id is not None]
        found = purges.call_summaries(self.runtime.engine, ids)
        described = []
        for item in items:
            row = found.get(item.call_id) if item.call_id is not None else None
            described.append(
                {
                    "callId": item.call_id,
                    "sessionId": item.session_id,
                    "status": item.status,
                    "errorMsg": item.error_msg,
                    "holdIds": list(item.hold_ids),
                    "startTime": _iso(row.start_time) if row is not None else None,
                    "direction": row.direction if row is not None else None,
                    "durationSec": (
                        round(row.duration_sec)
                        if row is not None and row.duration_sec is not None
                        else None
                    ),
                }
            )
        return described

    def request(self, request_id: str) -> dict[str, Any]:
        if not is_clean(request_id) or len(request_id) > 64:
            raise NotFound("no purge request with that requestId")
        found = purges.get_request(self.runtime.engine, request_id)
        if found is None:
            raise NotFound(f"no purge request with requestId {request_id!r}")
        return request_resource(*found)


def request_resource(head: Any, items: Sequence[Any]) -> dict[str, Any]:
    """The request resource (contract §6) of a request row and its item rows: what
    ``GET /purge/v1/requests/{id}`` answers and what a certificate of erasure restates."""
    return {
        "requestId": head.request_id,
        "createdAt": _iso(head.created_at),
        "kind": head.kind,
        "whatIf": head.what_if,
        "requestedBy": head.requested_by,
        "state": head.state,
        "completedAt": _iso(head.completed_at),
        "eraseAfter": _iso(head.erase_after),
        "items": [
            {
                "callId": i.call_id,
                "sessionId": i.session_id,
                "status": i.status,
                "errorMsg": i.error_msg,
                "erasedAt": _iso(i.erased_at),
                "holdIds": json.loads(i.hold_ids) if i.hold_ids else [],
            }
            for i in items
        ],
    }


def _state(items: list[PurgeItem], what_if: bool) -> str:
    if what_if:
        return "Complete"  # a preview waits on nothing
    if any(i.status == PURGING for i in items):
        return PURGING
    if any(i.status == HELD for i in items):
        return HELD
    return "Complete"


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")
