"""Accepting purge requests: the seed's three endpoints, whatIf included, on one code path.

Acceptance is one write transaction: resolve the IDs, hide the calls (status ``Purging``), write
the request, its items and one job per newly purged call, and append the audit event. whatIf runs
the very same resolution and item logic and only skips the writes that change calls and jobs, so a
preview can never differ from what the real run then does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from callvault import emails
from callvault.audit.trail import AuditEvent, AuditTrail
from callvault.auth.identity import Principal
from callvault.auth.permissions import Permission, grants
from callvault.capture.info import parse_time
from callvault.errors import BadInput, Conflict, NotFound, PermissionDenied
from callvault.ids import new_request_id
from callvault.phone import index_form, unusable
from callvault.purge import guards
from callvault.purge.governance import Governance
from callvault.runtime import Runtime
from callvault.store import purges
from callvault.store.engine import write_transaction
from callvault.store.group_commit import GroupCommitter
from callvault.store.purges import LiveCall
from callvault.store.types import utcnow
from callvault.suppressions.service import SuppressionService
from callvault.text import is_clean, reference_problem

PURGING, NOT_FOUND, WHAT_IF, PURGED, ERROR = "Purging", "NotFound", "WhatIf", "Purged", "Error"
HELD = "Held"
RETENTION = "retention"  # the kind of a request a retention policy made (purge_expired)
# Statuses of a call still being processed: Tethr v2's `allowIncompleteInteraction` false spares
# them (callvault's calls are never InProgress; Tethr's are while a live call runs).
INCOMPLETE = ("InProgress", "Concluded")
STILL_PROCESSING = "interaction is still processing"
MAX_ID_LENGTH = 256  # a call or session ID named in a hold or an export


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

    def to_v2_json(self) -> dict[str, Any]:
        """The item as Tethr's v2 purge endpoints answer it (contract §16): ``id``, not
        ``callId``; the same statuses."""
        v1 = self.to_json()
        return {
            "id": v1["callId"],
            "sessionId": v1["sessionId"],
            "status": v1["status"],
            "errorMsg": v1["errorMsg"],
        }


@dataclass(frozen=True)
class PurgeResult:
    request_id: str
    kind: str
    what_if: bool
    items: list[PurgeItem]
    confirm_token: str | None = None  # a customer whatIf's, for the purge that follows
    suppression_id: str | None = None  # made with ?suppress=true (contract §22)


# Runs inside the acceptance transaction with the calls the request would queue: raises to refuse
# the request, or returns a confirm token (a customer preview's).
Guard = Callable[[Connection, list[str]], str | None]
# Runs inside the acceptance transaction of a request that erases (not a preview), with its ID:
# writes what goes with it (a suppression) and returns its ID and audit event.
Also = Callable[[Connection, str], tuple[str, AuditEvent]]


@dataclass(frozen=True)
class _Accepted:
    items: list[PurgeItem]
    to_queue: list[str]
    event: AuditEvent | None  # None: nothing was written (a retention batch left nothing)
    confirm_token: str | None = None
    suppression_id: str | None = None
    more_events: tuple[AuditEvent, ...] = ()


# (asked ID or None for a customer match, the live call or None)
Resolved = list[tuple[str | None, LiveCall | None]]


def distinct(ids: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def subject_type(form: str) -> str:
    """``"email"`` or ``"phone"``: what a customer's index form is (an address's is prefixed
    ``mailto:``, a phone number's never is)."""
    return "email" if form.startswith(emails.INDEX_PREFIX) else "phone"


def customer_forms(phones: Sequence[str], addresses: Sequence[str], region: str) -> list[str]:
    """The index forms (E.164 numbers, ``mailto:`` addresses) of a customer's phone numbers and
    e-mail addresses, each once, phones first; a 400 naming the first unusable value. National
    numbers are read in ``region``."""
    forms: list[str] = []
    for i, phone in enumerate(phones):
        form = index_form(phone, region) if isinstance(phone, str) and is_clean(phone) else None
        if form is None:
            field = f"phoneNumbers[{i}]"
            raise BadInput(
                unusable(field, phone) if isinstance(phone, str) else f"{field} must be a string"
            )
        forms.append(form)
    for i, address in enumerate(addresses):
        try:
            forms.append(emails.index_form(address))
        except emails.InvalidEmail as exc:
            raise BadInput(f"emails[{i}] is not an e-mail address: {exc}") from None
    return distinct(forms)


def checked_ids(name: str, values: Sequence[str], limit: int, taker: str) -> list[str]:
    """A request's list of call or session IDs, checked as every request that names calls
    checks it (holds, exports): at most ``limit`` entries, each a non-empty clean ID of at most
    ``MAX_ID_LENGTH`` characters; repeats dropped, order kept. ``taker`` ends the 400's detail
    ("a hold", "an export")."""
    if len(values) > limit:
        raise BadInput(f"{name} has {len(values)} entries; {taker} takes at most {limit}")
    for i, value in enumerate(values):
        if (
            not isinstance(value, str)
            or not value
            or len(value) > MAX_ID_LENGTH
            or not is_clean(value)
        ):
            raise BadInput(
                f"{name}[{i}] must be a non-empty ID of at most {MAX_ID_LENGTH} characters"
            )
    return list(dict.fromkeys(values))


def checked_time(name: str, value: str | None) -> datetime | None:
    """A request's time field (``startedAfter``, ``startedBefore``): ISO 8601, as capture's."""
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise BadInput(f"{name}: {exc}") from None


def resolve_calls(
    conn: Connection,
    digests: Sequence[bytes],
    call_ids: Sequence[str],
    session_ids: Sequence[str],
    lock: bool = False,
) -> list[LiveCall]:
    """The calls a set of identifiers names, each once, by start time: those with a Customer
    contact of a blind-index digest (phones, e-mails), and those with a call or session ID as
    asked. The one identifiers → calls step of purges, and of access exports (contract §20)."""
    found: dict[str, LiveCall] = {}
    if digests:
        found.update((c.call_id, c) for c in purges.calls_by_customers(conn, digests, lock=lock))
    if call_ids:
        found.update(purges.calls_by_id(conn, call_ids, lock=lock))
    if session_ids:
        found.update(
            (c.call_id, c) for c in purges.calls_by_session(conn, session_ids, lock=lock).values()
        )
    return sorted(
        found.values(),
        key=lambda c: (c.start_time.timestamp() if c.start_time else 0.0, c.call_id),
    )


class PurgeService:
    def __init__(self, runtime: Runtime, on_queued: Callable[[], None] | None = None) -> None:
        self.runtime = runtime
        self.trail = AuditTrail(runtime.keys.audit_chain_key)
        self.governance = Governance(runtime)
        self.suppressions = SuppressionService(runtime)
        self._on_queued = on_queued
        # Concurrent acceptances share one commit (one fsync): see store/group_commit.py.
        self._writes = GroupCommitter(runtime.engine, finish=self._append_events)
        # A preview changes nothing, so its record (request, items, confirm token, audit event)
        # is committed without waiting for the disk: a power failure may lose the last moments'
        # previews, never a purge, and the next durable commit flushes them (docs/api.md,
        # "Durability of previews").
        self._previews = GroupCommitter(runtime.engine, finish=self._append_events, durable=False)

    def purge_calls(
        self,
        ids: Sequence[str],
        what_if: bool,
        actor: str,
        allow_incomplete: bool = True,
        reference: str | None = None,
    ) -> PurgeResult:
        """Purge calls by call ID. ``allow_incomplete`` False (Tethr v2's
        ``allowIncompleteInteraction``) answers a call still processing ``Error`` and spares it.
        ``reference``: the privacy program's ticket it answers (every purge takes one)."""
        asked = distinct(ids)

        def resolve(conn: Connection) -> Resolved:
            found = purges.calls_by_id(conn, asked, lock=not what_if)
            return [(i, found.get(i)) for i in asked]

        return self._accept(
            "calls",
            resolve,
            what_if,
            actor,
            by_session=False,
            allow_incomplete=allow_incomplete,
            reference=reference,
        )

    def purge_sessions(
        self,
        ids: Sequence[str],
        what_if: bool,
        actor: str,
        allow_incomplete: bool = True,
        reference: str | None = None,
    ) -> PurgeResult:
        asked = distinct(ids)

        def resolve(conn: Connection) -> Resolved:
            found = purges.calls_by_session(conn, asked, lock=not what_if)
            return [(i, found.get(i)) for i in asked]

        return self._accept(
            "sessions",
            resolve,
            what_if,
            actor,
            by_session=True,
            allow_incomplete=allow_incomplete,
            reference=reference,
        )

    def purge_customer(
        self,
        phone: str,
        what_if: bool,
        actor: str,
        confirm: str | None = None,
        region: str | None = None,
        confirm_above: int | None = None,
        suppress: bool = False,
        reference: str | None = None,
    ) -> PurgeResult:
        """Purge a customer's calls; a national ``phone`` is read in ``region`` (the asking
        user's, else the instance's default). ``confirm``: a preview's confirmToken;
        ``confirm_above``: the asking user's own threshold (None: the instance's);
        ``suppress``: also suppress the number, in the transaction that accepts the purge."""
        form = index_form(phone, region or self.runtime.settings.default_region)
        if form is None:
            raise BadInput(unusable("phoneNumber", phone))
        return self._purge_customer(
            [form],
            what_if,
            actor,
            confirm,
            allow_incomplete=True,
            confirm_above=confirm_above,
            suppress=suppress,
            reference=reference,
        )

    def purge_customer_ids(
        self,
        phones: Sequence[str],
        addresses: Sequence[str],
        what_if: bool,
        actor: str,
        confirm: str | None = None,
        region: str | None = None,
        allow_incomplete: bool = True,
        confirm_above: int | None = None,
        suppress: bool = False,
        reference: str | None = None,
    ) -> PurgeResult:
        """Purge every call of one customer known by several phone numbers and e-mail
        addresses (Tethr v2): ONE request (one audit event, one certificate) for all of them.
        A call that matches several is one item. Every value must be valid, or nothing is
        purged (400). ``confirm_above``: the asking user's own threshold (None: the
        instance's)."""
        forms = customer_forms(phones, addresses, region or self.runtime.settings.default_region)
        if not forms:
            raise BadInput(
                "give at least one phone number (phoneNumbers) or e-mail address (emails)"
            )
        return self._purge_customer(
            distinct(forms),
            what_if,
            actor,
            confirm,
            allow_incomplete=allow_incomplete,
            confirm_above=confirm_above,
            suppress=suppress,
            reference=reference,
        )

    def _purge_customer(
        self,
        forms: list[str],
        what_if: bool,
        actor: str,
        confirm: str | None,
        allow_incomplete: bool,
        confirm_above: int | None,
        suppress: bool = False,
        reference: str | None = None,
    ) -> PurgeResult:
        keys = self.runtime.keys
        digests = [keys.blind_index(form) for form in forms]
        # A confirm token binds the customer as asked: one number's digest (so a v1 preview
        # confirms a v2 purge of that number and the reverse), or a digest of the set.
        customer = (
            digests[0] if len(digests) == 1 else hashlib.sha256(b"".join(sorted(digests))).digest()
        )

        def resolve(conn: Connection) -> Resolved:
            return [
                (None, call) for call in purges.calls_by_customers(conn, digests, lock=not what_if)
            ]

        # The asking user's own threshold (contract §10: automation that cannot confirm), else
        # the instance's; either may be NEVER. The quota applies all the same.
        if confirm_above is None:
            threshold, whose = (
                self.runtime.settings.purge_confirm_above,
                "the instance's CALLVAULT_PURGE_CONFIRM_ABOVE",
            )
        else:
            threshold, whose = confirm_above, "this API user's own threshold"

        def guard(conn: Connection, would_queue: list[str]) -> str | None:
            if what_if:
                return guards.issue_confirm_token(conn, actor, customer, would_queue)
            guards.check_customer_purge(
                conn, actor, customer, would_queue, confirm, threshold, whose
            )
            return None

        hashes = sorted(keys.audit_hash(form) for form in forms)
        # The audit trail's (and a certificate's) keyed hash of the customer: of the one number
        # as v1 has it, else of the sorted set, with each value's hash listed beside it.
        phone_hash = (
            keys.audit_hash(forms[0]) if len(forms) == 1 else keys.audit_hash("\n".join(hashes))
        )
        extra: dict[str, Any] = {"customerHashes": hashes} if len(forms) > 1 else {}
        # Each subject the request named, by the same keyed hash and in the order asked (phones
        # first): what its certificate names (contract §14), never the clear value.
        extra["subjectHashes"] = [
            {"type": subject_type(form), "hash": keys.audit_hash(form)} for form in forms
        ]

        def suppression(conn: Connection, request_id: str) -> tuple[str, AuditEvent]:
            # The identifiers the request named, as it matched them (contract §22).
            row, event = self.suppressions.make(
                conn,
                forms,
                f"suppressed with purge request {request_id}",
                actor,
                request_id=request_id,
            )
            return row.suppression_id, event

        return self._accept(
            "customer",
            resolve,
            what_if,
            actor,
            False,
            phone_hash,
            guard,
            allow_incomplete=allow_incomplete,
            extra_details=extra,
            also=suppression if suppress and not what_if else None,
            reference=reference,
        )

    def purge_expired(
        self, claim: Callable[[Connection], Sequence[LiveCall]], actor: str
    ) -> PurgeResult:
        """Queue the calls a retention policy expired (contract §15), as a request of kind
        ``retention`` by ``actor`` (``retention:<policy>``).

        ``claim`` runs inside the acceptance transaction and returns the calls it locked there.
        The request lists only the calls it queues: one held by a legal hold, or already being
        erased, is left out (the sweep after its release finds it again). When nothing is left
        to queue no request is written and the result has no items. Not counted by the quota.
        """

        def resolve(conn: Connection) -> Resolved:
            return [(None, call) for call in claim(conn)]

        return self._accept("retention", resolve, False, actor, False, only_queued=True)

    def _accept(
        self,
        kind: str,
        resolve: Callable[[Connection], Resolved],
        what_if: bool,
        actor: str,
        by_session: bool,
        phone_hash: str | None = None,
        guard: Guard | None = None,
        only_queued: bool = False,
        allow_incomplete: bool = True,
        extra_details: dict[str, Any] | None = None,
        also: Also | None = None,
        reference: str | None = None,
    ) -> PurgeResult:
        if reference is not None and (problem := reference_problem(reference)) is not None:
            raise BadInput(problem)
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
            items, to_queue, to_requeue = self._items(
                resolved, what_if, by_session, held, allow_incomplete
            )
            if only_queued:
                queued_now = set(to_queue)
                items = [i for i in items if i.call_id in queued_now]
                to_requeue = []
                if not items:
                    return _Accepted([], [], None)
            # Held items are armed: the release erases them (contract §12), so the guards count
            # them as they count the queued ones (§13), and the quota is charged for them now.
            armed = [i.call_id for i in items if i.status == HELD and i.call_id is not None]
            erasing = to_queue + armed
            confirm_token = guard(conn, erasing) if guard is not None else None
            if quota and not what_if and erasing:
                guards.check_quota(conn, actor, len(erasing), quota)
            erase_after = None
            # The window runs from acceptance, for held items too (released inside it, they
            # wait for it; cancel reaches them).
            if not what_if and settings.purge_grace_seconds:
                erase_after = utcnow() + timedelta(seconds=settings.purge_grace_seconds)
            if not what_if:
                purges.enqueue(conn, request_id, to_queue, erase_after)
                purges.requeue_failed(conn, to_requeue)
            made: tuple[str, AuditEvent] | None = None
            if also is not None and not what_if:
                made = also(conn, request_id)
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
                queued=0 if what_if else len(erasing),
                erase_after=erase_after,
                suppression_id=made[0] if made is not None else None,
                reference=reference,
            )
            details: dict[str, Any] = {
                "kind": kind,
                "whatIf": what_if,
                "asked": len(resolved) if kind in ("calls", "sessions") else None,
                "matched": sum(1 for _, call in resolved if call is not None),
                "queued": 0 if what_if else len(to_queue),
                "held": sum(1 for i in items if i.status == HELD),
            }
            if phone_hash is not None:
                details["phoneHash"] = phone_hash
            if not allow_incomplete:
                details["allowIncompleteInteraction"] = False
            if made is not None:
                details["suppressionId"] = made[0]
            if reference is not None:
                details["reference"] = reference  # a ticket, never personal data (§23)
            details.update(extra_details or {})
            event = AuditEvent("purge.requested", actor, request_id, None, None, details)
            if made is None:
                return _Accepted(items, to_queue, event, confirm_token)
            return _Accepted(items, to_queue, event, confirm_token, made[0], (made[1],))

        accepted = (self._previews if what_if else self._writes).run(unit)
        items, to_queue = accepted.items, accepted.to_queue
        if to_queue and not what_if and self._on_queued is not None:
            self._on_queued()
        return PurgeResult(
            request_id, kind, what_if, items, accepted.confirm_token, accepted.suppression_id
        )

    def _append_events(self, conn: Connection, accepted: list[_Accepted]) -> None:
        # Once per batch, after every unit took its row locks (see store/group_commit.py).
        events = []
        for a in accepted:
            if a.event is not None:
                events.append(a.event)
            events.extend(a.more_events)
        self.trail.append(conn, events)

    @staticmethod
    def _items(
        resolved: Resolved,
        what_if: bool,
        by_session: bool,
        held: dict[str, list[str]],
        allow_incomplete: bool = True,
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
            elif not allow_incomplete and call.status in INCOMPLETE:
                # Asked not to touch a call still processing: a final Error, never resumed
                # later (which a Held item would be), so the call is not purged.
                items.append(PurgeItem(call.call_id, call.session_id, ERROR, STILL_PROCESSING))
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

    def cancel(self, request_id: str, actor: Principal) -> dict[str, Any]:
        """Within its grace window, take a request's calls out of erasure (contract §13), if
        ``actor`` may cancel it (``may_cancel``; else 403 and nothing changes)."""
        if not is_clean(request_id) or len(request_id) > 64:
            raise NotFound("no purge request with that requestId")
        now = utcnow()
        with write_transaction(self.runtime.engine) as conn:
            head = purges.lock_request(conn, request_id)
            if head is None:
                raise NotFound(f"no purge request with requestId {request_id!r}")
            if not may_cancel(actor, head.kind, head.requested_by):
                raise PermissionDenied(who_may_cancel(head.kind))
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
                        actor.name,
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

    def requests_page(
        self,
        state: str | None,
        kind: str | None,
        limit: int,
        after: tuple[datetime, str] | None = None,
        reference: str | None = None,
    ) -> tuple[list[dict[str, Any]], tuple[datetime, str] | None]:
        """A page of ``GET /purge/v1/requests`` (contract §6): requests that erase (previews
        left out), newest first, without their items; and the position after its last one when
        more follow (None on the last page). ``state`` and ``kind`` are already canonical."""
        if reference is not None and (problem := reference_problem(reference)) is not None:
            raise BadInput(problem)
        rows = purges.list_requests(
            self.runtime.engine, state, kind, limit + 1, after=after, reference=reference
        )
        more = len(rows) > limit
        rows = rows[:limit]
        page = [
            {
                "requestId": r.request_id,
                "createdAt": _iso(r.created_at),
                "kind": r.kind,
                "whatIf": r.what_if,
                "requestedBy": r.requested_by,
                "state": r.state,
                "completedAt": _iso(r.completed_at),
                "eraseAfter": _iso(r.erase_after),
                "reference": r.reference,
                "itemCount": r.n_items,
            }
            for r in rows
        ]
        last = (rows[-1].created_at, rows[-1].request_id) if more else None
        return page, last

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


def may_cancel(user: Principal, kind: str, requested_by: str) -> bool:
    """Who may cancel a request in its grace window (contract §13): ``admin`` any; any user
    with ``retention`` a ``retention`` request (a policy's, not a person's); a user with
    ``purge`` its own requests. The console asks the same to show its cancel button."""
    held = user.permissions
    if Permission.ADMIN in held:
        return True
    if kind == RETENTION:
        return grants(held, Permission.RETENTION)
    return grants(held, Permission.PURGE) and requested_by == user.name


def who_may_cancel(kind: str) -> str:
    """The 403's detail: who may cancel a request of ``kind``."""
    if kind == RETENTION:
        return (
            "this request was requested by a retention policy: only a user with the "
            "`retention` or `admin` permission may cancel it"
        )
    return (
        "only the API user who requested this purge (with the `purge` permission) or a user "
        "with `admin` may cancel it"
    )


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
        # The suppression a ?suppress=true purge made (contract §22), else null.
        "suppressionId": getattr(head, "suppression_id", None),
        "reference": getattr(head, "reference", None),
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
