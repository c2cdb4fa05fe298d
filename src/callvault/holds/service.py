"""Legal holds: place, look up, release (contract §12).

A hold is a standing rule over calls (by call ID, session ID, customer phone, start-time window),
never deleted. Placing one saves the covered calls whose erasure is queued but whose key still
exists; releasing the last hold on a held call queues its erasure again in the request that asked
for it. What a hold means for an erasure is decided in ``purge/governance.py`` alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from callvault.audit.trail import AuditEvent, AuditTrail
from callvault.errors import BadInput, Conflict, NotFound, RateLimited
from callvault.ids import new_request_id
from callvault.phone import index_form, unusable
from callvault.purge.governance import Governance
from callvault.purge.service import checked_ids, checked_time
from callvault.ratelimit import RateLimiter
from callvault.runtime import Runtime
from callvault.store import holds as hold_store
from callvault.store.engine import write_transaction
from callvault.store.holds import ACTIVE, RELEASED, HoldRow
from callvault.store.paging import cursor_of, position_of
from callvault.store.types import utcnow
from callvault.text import is_clean, reference_problem

MAX_MATTER, MAX_REASON, MAX_ENTRIES = 200, 2000, 1000
PAGE_DEFAULT, PAGE_MAX = 50, 100
STATES = {"active": ACTIVE, "released": RELEASED, "all": None}
_SCOPE_PURPOSE = "hold-scope"


@dataclass(frozen=True)
class HoldScope:
    """A hold's scope as a client gave it (validated by ``HoldService.place``)."""

    call_ids: Sequence[str] = ()
    session_ids: Sequence[str] = ()
    phone_numbers: Sequence[str] = ()
    started_after: str | None = None
    started_before: str | None = None


@dataclass(frozen=True)
class _Scope:
    call_ids: list[str]
    session_ids: list[str]
    phones: list[str]  # E.164
    after: datetime | None
    before: datetime | None
    digests: list[bytes] = field(default_factory=list)


def _text(name: str, value: Any, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadInput(f"{name} is required: a non-empty string of at most {limit} characters")
    if len(value) > limit:
        raise BadInput(f"{name} is {len(value)} characters long; at most {limit} are allowed")
    if not is_clean(value):
        raise BadInput(f"{name} must not contain NUL or lone surrogates")
    return value


def _check_reference(value: Any) -> None:
    if value is not None and (problem := reference_problem(value)) is not None:
        raise BadInput(problem)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


class HoldService:
    def __init__(self, runtime: Runtime, on_queued: Callable[[], None] | None = None) -> None:
        self.runtime = runtime
        self.trail = AuditTrail(runtime.keys.audit_chain_key)
        self.governance = Governance(runtime)
        self._on_queued = on_queued
        # Placement per user and hour, per node (as the API's own rate limits): the whole hour's
        # allowance may be spent at once, then it refills evenly.
        per_hour = runtime.settings.hold_rate_per_hour
        self._placements = RateLimiter(per_hour / 60, capacity=per_hour)

    # ------------------------------------------------------------------ validation

    def _scope(self, given: HoldScope, region: str | None) -> _Scope:
        call_ids = checked_ids("callIds", given.call_ids, MAX_ENTRIES, "a hold")
        session_ids = checked_ids("sessionIds", given.session_ids, MAX_ENTRIES, "a hold")
        if len(given.phone_numbers) > MAX_ENTRIES:
            raise BadInput(
                f"phoneNumbers has {len(given.phone_numbers)} entries; "
                f"a hold takes at most {MAX_ENTRIES}"
            )
        phones: list[str] = []
        region = region or self.runtime.settings.default_region
        for i, raw in enumerate(given.phone_numbers):
            # Indexed like captures: E.164, with the extension when there is one.
            e164 = index_form(raw, region) if isinstance(raw, str) and is_clean(raw) else None
            if e164 is None:
                field = f"phoneNumbers[{i}]"
                raise BadInput(
                    unusable(field, raw) if isinstance(raw, str) else f"{field} must be a string"
                )
            phones.append(e164)
        phones = list(dict.fromkeys(phones))
        after = checked_time("startedAfter", given.started_after)
        before = checked_time("startedBefore", given.started_before)
        if after is not None and before is not None and after >= before:
            raise BadInput("startedAfter must be earlier than startedBefore")
        if not (call_ids or session_ids or phones or after or before):
            raise BadInput(
                "a hold needs a scope: at least one of callIds, sessionIds, phoneNumbers, "
                "or a startedAfter/startedBefore bound"
            )
        digests = [self.runtime.keys.blind_index(p) for p in phones]
        return _Scope(call_ids, session_ids, phones, after, before, digests)

    # ------------------------------------------------------------------ operations

    def place(
        self,
        matter: Any,
        reason: Any,
        given: HoldScope,
        actor: str,
        region: str | None = None,
        reference: Any = None,
    ) -> dict[str, Any]:
        """Place a hold; national phone numbers are read in ``region`` (the placing user's,
        else the instance's default); ``reference``: the privacy program's ticket it answers."""
        matter = _text("matter", matter, MAX_MATTER)
        reason = _text("reason", reason, MAX_REASON)
        _check_reference(reference)
        scope = self._scope(given, region)
        wait = self._placements.acquire(actor)
        if wait is not None:
            raise RateLimited(
                f"{actor} has placed {self.runtime.settings.hold_rate_per_hour} legal holds "
                "within the last hour, the most CALLVAULT_HOLD_RATE_PER_HOUR allows; "
                "try again later",
                wait,
            )
        hold_id = new_request_id()
        sealed = self._seal_scope(hold_id, scope.call_ids, scope.session_ids, scope.phones, 0)
        keys = self.runtime.keys
        with write_transaction(self.runtime.engine) as conn:
            hold_store.lock_for_change(conn)
            cap = self.runtime.settings.max_active_holds
            if hold_store.count_active(conn) >= cap:
                raise Conflict(
                    f"{cap} legal holds are active, the most CALLVAULT_MAX_ACTIVE_HOLDS allows; "
                    "release one that is no longer needed (POST /holds/v1/{holdId}/release, "
                    "`callvault holds release ID --reason R`) before placing another"
                )
            hold_store.insert_hold(
                conn,
                {
                    "hold_id": hold_id,
                    "matter": "",  # sealed below, as the reason (contract §12)
                    "reason": "",
                    "sealed_texts": hold_store.seal_hold_texts(keys, hold_id, matter, reason, None),
                    "state": ACTIVE,
                    "created_by": actor,
                    "created_at": utcnow(),
                    "started_after": scope.after,
                    "started_before": scope.before,
                    "has_entries": bool(scope.call_ids or scope.session_ids or scope.phones),
                    "sealed_scope": sealed,
                    "reference": reference,
                },
                scope.call_ids,
                scope.session_ids,
                scope.digests,
            )
            hold = self._get(conn, hold_id)
            queued = hold_store.covered_being_erased(conn, hold)
            spared, held_events = self.governance.spare(conn, queued, actor)
            covered = hold_store.count_covered(conn, hold)
            placed = AuditEvent(
                "hold.placed",
                actor,
                details={
                    "holdId": hold_id,
                    # Keyed hashes, never the texts: people type personal data into them.
                    "matterHash": keys.audit_hash(matter),
                    "reasonHash": keys.audit_hash(reason),
                    "scope": {
                        "callIds": len(scope.call_ids),
                        "sessionIds": len(scope.session_ids),
                        "phoneNumbers": len(scope.phones),
                        "startedAfter": _iso(scope.after),
                        "startedBefore": _iso(scope.before),
                    },
                    "coveredCalls": covered,
                    "savedFromErasure": len(spared),
                    **({} if reference is None else {"reference": reference}),
                },
            )
            self.trail.append(conn, [placed, *held_events])
            return self._json(hold, covered, self.governance.pending(conn, hold_id))

    def get(self, hold_id: str) -> dict[str, Any]:
        with self.runtime.engine.connect() as conn:
            hold = self._get(conn, hold_id)
            return self._json(
                hold, self._covered(conn, hold), self.governance.pending(conn, hold_id)
            )

    def page(
        self,
        state: str | None,
        limit: int = PAGE_DEFAULT,
        cursor: str | None = None,
        reference: str | None = None,
    ) -> dict[str, Any]:
        """A page of holds, newest first, with ``nextCursor`` while more follow. Coverage is
        not counted here (contract §12): only for the hold asked about."""
        wanted = (state or "active").lower()
        if wanted not in STATES:
            raise BadInput(f"state must be Active, Released or all, not {state!r}")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= PAGE_MAX:
            raise BadInput(f"limit must be a whole number from 1 to {PAGE_MAX}")
        after = None if cursor is None else position_of(cursor)
        _check_reference(reference)
        with self.runtime.engine.connect() as conn:
            rows = hold_store.page_holds(conn, STATES[wanted], limit + 1, after, reference)
        page: dict[str, Any] = {"holds": [self._json(h, None) for h in rows[:limit]]}
        if len(rows) > limit:
            page["nextCursor"] = cursor_of(rows[limit - 1].created_at, rows[limit - 1].hold_id)
        return page

    def list(self, state: str | None) -> list[dict[str, Any]]:
        """The newest ``PAGE_MAX`` holds (the console's list), without coverage."""
        holds: list[dict[str, Any]] = self.page(state, PAGE_MAX)["holds"]
        return holds

    def release(self, hold_id: str, reason: Any, actor: str) -> dict[str, Any]:
        reason = _text("reason", reason, MAX_REASON)
        with write_transaction(self.runtime.engine) as conn:
            hold_store.lock_for_change(conn)
            hold = self._get(conn, hold_id)
            if hold.state != ACTIVE:
                raise Conflict(f"legal hold {hold_id} is already released")
            texts = hold_store.open_hold_texts(self.runtime.keys, hold)
            scope = self._open_scope(hold)
            hold_store.mark_released(
                conn,
                hold_id,
                actor,
                utcnow(),
                hold_store.seal_hold_texts(
                    self.runtime.keys, hold_id, texts["matter"] or "", texts["reason"] or "", reason
                ),
                # A released hold forgets its phone numbers: only their keyed digests stay.
                self._seal_scope(
                    hold_id,
                    scope["callIds"],
                    scope["sessionIds"],
                    [],
                    len(scope["phoneNumbers"]) + scope.get("phoneNumbersForgotten", 0),
                ),
            )
            # What the release set off is said in its answer (contract §12, pendingErasures).
            resumed, pending = self.governance.resume(conn, actor, hold_id)
            released = AuditEvent(
                "hold.released",
                actor,
                details={
                    "holdId": hold_id,
                    "reference": hold.reference,
                    "releaseReasonHash": self.runtime.keys.audit_hash(reason),
                    "resumedCalls": sum(
                        e.details["calls"] for e in resumed if e.action == "purge.resumed"
                    ),
                },
            )
            self.trail.append(conn, [released, *resumed])
            result = self._json(self._get(conn, hold_id), 0, pending)
        if resumed and self._on_queued is not None:
            self._on_queued()
        return result

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _get(conn: Connection, hold_id: str) -> HoldRow:
        hold = None
        if isinstance(hold_id, str) and is_clean(hold_id) and len(hold_id) <= 64:
            hold = hold_store.get_hold(conn, hold_id)
        if hold is None:
            raise NotFound(f"no legal hold with holdId {hold_id!r}")
        return hold

    @staticmethod
    def _covered(conn: Connection, hold: HoldRow) -> int:
        return hold_store.count_covered(conn, hold) if hold.state == ACTIVE else 0

    def _seal_scope(
        self,
        hold_id: str,
        call_ids: Sequence[str],
        session_ids: Sequence[str],
        phones: Sequence[str],
        forgotten: int,
    ) -> bytes:
        scope = {
            "callIds": list(call_ids),
            "sessionIds": list(session_ids),
            "phoneNumbers": list(phones),
            "phoneNumbersForgotten": forgotten,
        }
        return self.runtime.keys.seal_record(
            json.dumps(scope).encode(), f"{_SCOPE_PURPOSE}:{hold_id}"
        )

    def _open_scope(self, hold: HoldRow) -> dict[str, Any]:
        scope: dict[str, Any] = json.loads(
            self.runtime.keys.open_record(hold.sealed_scope, f"{_SCOPE_PURPOSE}:{hold.hold_id}")
        )
        return scope

    def _json(
        self, hold: HoldRow, covered: int | None, pending: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The hold resource; ``coveredCalls`` and ``pendingErasures`` only when counted (None:
        a list's item, contract §12: counted for the hold asked about)."""
        scope = self._open_scope(hold)
        texts = hold_store.open_hold_texts(self.runtime.keys, hold)
        return {
            "holdId": hold.hold_id,
            "reference": hold.reference,
            "matter": texts["matter"],
            "reason": texts["reason"],
            "state": hold.state,
            "createdBy": hold.created_by,
            "createdAt": _iso(hold.created_at),
            "releasedBy": hold.released_by,
            "releasedAt": _iso(hold.released_at),
            "releaseReason": texts["releaseReason"],
            "scope": {
                "callIds": scope["callIds"],
                "sessionIds": scope["sessionIds"],
                "phoneNumbers": scope["phoneNumbers"],
                "phoneNumbersForgotten": scope.get("phoneNumbersForgotten", 0),
                "startedAfter": _iso(hold.started_after),
                "startedBefore": _iso(hold.started_before),
            },
        } | (
            ({} if covered is None else {"coveredCalls": covered})
            | ({} if pending is None else {"pendingErasures": pending})
        )
