"""The one place that decides what a legal hold means for an erasure.

Every erasure path asks here: the purge endpoints before they queue a call, the eraser before it
destroys a key, a hold's placement (which saves calls still queued) and its release (which resumes
the erasures it stopped). A covered call is never queued, and a queued call that a hold covers is
taken back out of the queue as long as its data key exists.

Why no interleaving destroys a covered call's key: the eraser checks holds and destroys keys
inside one calls-database transaction that holds ``store.holds.lock_for_erasure`` (PostgreSQL: a
shared advisory lock; SQLite: the write lock), and a hold is placed or released inside a
transaction that holds it exclusively. So either the hold committed before the eraser's check
(the eraser sees it and spares the call), or the eraser's keys were destroyed before the hold's
transaction began (the hold finds the key gone: that call is past saving, and not counted). A
worker killed between its check and its commit leaves keys either all there (the job runs again,
checks again) or destroyed (the key store commits first): a hold counts only calls whose key it
finds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection

from callvault.audit.trail import AuditEvent
from callvault.auth.permissions import Permission, grants, parse_permissions
from callvault.runtime import Runtime
from callvault.store import holds as hold_store
from callvault.store import purges, users
from callvault.store import retention as retention_store
from callvault.store.purges import HeldItem
from callvault.store.types import utcnow

RETENTION = "retention"


class Governance:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @staticmethod
    def held(conn: Connection, call_ids: Sequence[str]) -> dict[str, list[str]]:
        """The calls among ``call_ids`` that active legal holds cover, with those holds."""
        return hold_store.covering(conn, call_ids)

    @staticmethod
    def held_condition(conn: Connection) -> Any:
        """The SQL condition on ``calls`` that active legal holds cover a row: the same rule as
        ``held``, for counting what holds keep without loading every call (retention)."""
        return hold_store.covered_by_active()

    def spare(
        self, conn: Connection, call_ids: Sequence[str], actor: str
    ) -> tuple[set[str], list[AuditEvent]]:
        """Take the covered ones of these queued calls out of erasure, if their keys exist.

        Returns the calls spared and a ``purge.held`` audit event per request they belong to.
        """
        covered = self.held(conn, call_ids)
        if not covered:
            return set(), []
        alive = self.runtime.keystore.existing(covered)
        saved = {c: h for c, h in covered.items() if c in alive}
        affected = purges.hold_back(conn, saved)
        events = [
            AuditEvent(
                "purge.held",
                actor,
                request_id,
                None,
                None,
                {
                    "calls": len(ids),
                    "holdIds": sorted({h for c in ids for h in saved[c]}),
                },
            )
            for request_id, ids in sorted(affected.items())
        ]
        return set(saved), events

    def _alone(self, conn: Connection, hold_id: str) -> tuple[list[HeldItem], dict[str, list[str]]]:
        """The held items naming ``hold_id``, and the active holds covering their calls now."""
        items = [i for i in purges.held_items(conn) if hold_id in i.hold_ids]
        return items, self.held(conn, sorted({i.call_id for i in items}))

    def pending(self, conn: Connection, hold_id: str) -> dict[str, Any]:
        """What releasing ``hold_id`` would set off (contract §12, ``pendingErasures``): the held
        items of purge requests that this hold alone keeps, whether a release would resume them
        or mark them not resumed."""
        items, covering = self._alone(conn, hold_id)
        return _pending([i for i in items if not set(covering.get(i.call_id, ())) - {hold_id}])

    def resume(
        self, conn: Connection, actor: str, hold_id: str
    ) -> tuple[list[AuditEvent], dict[str, Any]]:
        """After ``hold_id`` was released: queue again every held item no active hold covers
        and whose erasure still stands, mark the others not resumed, and name the remaining
        holds on the rest. One ``purge.resumed`` / ``purge.not_resumed`` event per request;
        and what the release set off, as ``pending`` says it (the items it alone kept)."""
        items, still = self._alone(conn, hold_id)
        purges.update_held(conn, still)
        free = [i for i in items if i.call_id not in still]
        refusals = self._refusals(conn, free)
        resumed = purges.resume(
            conn,
            [
                (i.request_id, i.call_id)
                for i in free
                if i.call_id not in refusals.get(i.request_id, {})
            ],
        )
        stopped = purges.not_resumed(
            conn,
            {
                (request_id, call_id): message
                for request_id, calls in refusals.items()
                for call_id, message in calls.items()
            },
        )
        events = [
            AuditEvent(
                "purge.resumed",
                actor,
                request_id,
                None,
                None,
                {"calls": len(ids), "releasedHoldId": hold_id},
            )
            for request_id, ids in sorted(resumed.items())
        ]
        events += [
            AuditEvent(
                "purge.not_resumed",
                actor,
                request_id,
                None,
                None,
                {
                    "calls": len(ids),
                    "releasedHoldId": hold_id,
                    "reason": sorted({refusals[request_id][c] for c in ids})[0],
                },
            )
            for request_id, ids in sorted(stopped.items())
        ]
        return events, _pending(free)

    def _refusals(self, conn: Connection, items: Sequence[HeldItem]) -> dict[str, dict[str, str]]:
        """Request ID -> call ID -> why, for the items whose erasure no longer stands: a
        requester since disabled or without ``purge`` (a person decides, not the release), or a
        retention erasure no policy asks for any more."""
        people = users.standing(conn, {i.requested_by for i in items if i.kind != RETENTION})
        now = utcnow()
        policies = (
            retention_store.list_policies(conn) if any(i.kind == RETENTION for i in items) else []
        )
        expired = retention_store.still_expired(
            conn,
            [i.call_id for i in items if i.kind == RETENTION],
            [(p.directions(), now - timedelta(days=p.max_age_days)) for p in policies],
        )
        refusals: dict[str, dict[str, str]] = {}
        for item in items:
            message = None
            if item.kind == RETENTION:
                if item.call_id not in expired:
                    message = "not resumed: no policy expires the call any more"
            else:
                # Users are never deleted: a name that is none is an actor of the service itself
                # (not an API user), whose erasure stands.
                disabled, permissions = people.get(item.requested_by, (False, Permission.PURGE))
                if disabled:
                    message = f"not resumed: requester {item.requested_by} is disabled"
                elif not _grants_purge(permissions):
                    message = f"not resumed: requester {item.requested_by} no longer has purge"
            if message is not None:
                refusals.setdefault(item.request_id, {})[item.call_id] = message
        return refusals


def _pending(kept: Sequence[HeldItem]) -> dict[str, Any]:
    return {
        "calls": len({i.call_id for i in kept}),
        "requestIds": sorted({i.request_id for i in kept}),
    }


def _grants_purge(stored: str) -> bool:
    try:
        held = parse_permissions([p for p in stored.split(",") if p.strip()])
    except ValueError:
        return False
    return grants(held, Permission.PURGE)
