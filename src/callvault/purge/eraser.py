"""Erasure of claimed calls, in the order that makes every surviving copy unreadable first.

1. destroy the data keys (key store), then checkpoint the key store's WAL: from here on every
   encrypted byte of these calls, wherever a copy survives, is unreadable;
   Legal holds are checked in the same calls-database transaction that destroys the keys (see
   ``purge/governance.py``): a covered call is taken back out of the queue instead;
2. delete the blobs, every version;
3. in one transaction: delete the call rows and blind-index entries, mark the request items
   ``Purged``, drop the jobs, append one audit event per call; then checkpoint the WAL so that
   ``secure_delete``'s zeroed pages reach the database file and no old page image survives.

Every step is idempotent, so a job whose worker died anywhere in between is simply run again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from callvault.audit.trail import AuditEvent, AuditTrail
from callvault.purge.governance import Governance
from callvault.runtime import Runtime
from callvault.store import holds as hold_store
from callvault.store import purges
from callvault.store.engine import checkpoint, write_transaction
from callvault.store.purges import Job

log = logging.getLogger(__name__)


@dataclass
class EraseOutcome:
    erased: list[Job] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # call ID -> why
    spared: set[str] = field(default_factory=set)  # call IDs a legal hold took back
    bytes_erased: int = 0


class Eraser:
    def __init__(self, runtime: Runtime, worker_id: str) -> None:
        self.runtime = runtime
        self.worker_id = worker_id
        self.trail = AuditTrail(runtime.keys.audit_chain_key)
        self.governance = Governance(runtime)
        # Checkpoints a reader kept from completing: retried until they succeed, because only a
        # completed checkpoint removes erased bytes from the WAL.
        self.pending_checkpoints: set[str] = set()

    def _checkpoint(self, which: str) -> None:
        store = self.runtime.keystore.checkpoint if which == "keys" else self._calls_checkpoint
        if store():
            self.pending_checkpoints.discard(which)
        else:
            log.warning(
                "WAL checkpoint of the %s database was blocked (a reader, or another "
                "process checkpointing); will retry",
                which,
            )
            self.pending_checkpoints.add(which)

    def _calls_checkpoint(self) -> bool:
        return checkpoint(self.runtime.engine)

    def retry_checkpoints(self) -> None:
        for which in sorted(self.pending_checkpoints):
            self._checkpoint(which)

    def erase(self, jobs: list[Job]) -> EraseOutcome:
        outcome = EraseOutcome()
        if not jobs:
            return outcome
        rt = self.runtime
        claimed = jobs
        ids = [j.call_id for j in jobs]
        try:
            # Holds are checked and keys destroyed under one lock that a hold's placement takes
            # exclusively (see purge/governance.py): no hold can commit in between.
            with write_transaction(rt.engine) as conn:
                hold_store.lock_for_erasure(conn)
                spared, events = self.governance.spare(conn, ids, "legal hold")
                if spared:
                    self.trail.append(conn, events)
                    jobs = [j for j in jobs if j.call_id not in spared]
                    ids = [j.call_id for j in jobs]
                keys_destroyed = rt.keystore.destroy(ids)
        except Exception as exc:  # the key store is down: nothing else may go first
            log.warning("key store failed during erasure; will retry", exc_info=True)
            reason = f"key store unavailable: {type(exc).__name__}"
            outcome.failed = {j.call_id: reason for j in claimed}
            return outcome
        outcome.spared = spared
        log.debug("destroyed %d data keys", keys_destroyed)
        if not jobs:
            return outcome
        self._checkpoint("keys")

        blob_keys = [j.blob_key for j in jobs if j.blob_key]
        # The version each capture recorded: deleted by ID, not found by listing the key.
        versions = {j.blob_key: j.blob_version for j in jobs if j.blob_key and j.blob_version}
        try:
            deleted = rt.blobs.delete_many(blob_keys, versions)
        except Exception as exc:
            deleted = {k: exc for k in blob_keys}
        removed: dict[str, int] = {}
        for job in jobs:
            result = deleted.get(job.blob_key, 0) if job.blob_key else 0
            if isinstance(result, Exception):
                outcome.failed[job.call_id] = f"blob store failed: {type(result).__name__}"
            else:
                removed[job.call_id] = result
                outcome.erased.append(job)

        if outcome.erased:
            with write_transaction(rt.engine) as conn:
                owned = set(
                    purges.finish_erased(conn, self.worker_id, [j.call_id for j in outcome.erased])
                )
                outcome.erased = [j for j in outcome.erased if j.call_id in owned]
                events = [
                    AuditEvent(
                        "call.erased",
                        job.requested_by,
                        job.request_id,
                        job.call_id,
                        job.session_id,
                        {
                            "audioBytes": job.audio_bytes,
                            "blobObjectsDeleted": removed[job.call_id],
                            "dataKeyDestroyed": True,
                            "worker": self.worker_id,
                            "attempt": job.attempts,
                        },
                    )
                    for job in outcome.erased
                ]
                self.trail.append(conn, events)
            self._checkpoint("calls")
            outcome.bytes_erased = sum(j.audio_bytes for j in outcome.erased)
        return outcome
