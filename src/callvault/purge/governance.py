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
from typing import Any

from sqlalchemy import Connection

from callvault.audit.trail import AuditEvent
from callvault.runtime import Runtime
from callvault.store import holds as hold_store
from callvault.store import purges


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

    def resume(self, conn: Connection, actor: str, hold_id: str) -> list[AuditEvent]:
        """After ``hold_id`` was released: queue again every held call no active hold covers,
        and name the remaining holds on the others. One ``purge.resumed`` event per request."""
        waiting = purges.held_items(conn)
        affected = {c: h for c, h in waiting.items() if hold_id in h}
        still = self.held(conn, list(affected))
        purges.update_held(conn, still)
        resumed = purges.resume(conn, [c for c in affected if c not in still])
        return [
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
