"""The orphan sweeper: removes what a crash between capture's durable writes left behind.

Capture writes the blob, then the wrapped key, then the call row. A process killed in between
leaves a blob and maybe a key with no row: no call ID was ever returned for them, so no purge
could reach them, and the key would keep that audio decryptable. The sweeper destroys keys and
deletes blobs that have had no call row for longer than a grace period (longer than any capture
takes between its writes), and the temporary files of uploads that never finished.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from callvault.audit.trail import AuditEvent, AuditTrail
from callvault.blobs.folder import FolderBlobStore
from callvault.runtime import Runtime
from callvault.store.calls import existing_calls
from callvault.store.engine import checkpoint, write_transaction
from callvault.store.types import utcnow

log = logging.getLogger(__name__)

PAGE = 1000


@dataclass(frozen=True)
class SweepResult:
    keys_destroyed: int
    blobs_deleted: int
    temporaries_removed: int

    @property
    def total(self) -> int:
        return self.keys_destroyed + self.blobs_deleted + self.temporaries_removed


def _pages(items: Iterable[str]) -> Iterator[list[str]]:
    page: list[str] = []
    for item in items:
        page.append(item)
        if len(page) == PAGE:
            yield page
            page = []
    if page:
        yield page


class OrphanSweeper:
    def __init__(self, runtime: Runtime, grace_seconds: float = 600.0) -> None:
        self.runtime = runtime
        self.grace_seconds = grace_seconds
        # Blobs without a row at the previous sweep. A blob is deleted only when it is still
        # an orphan at the next one: an object store may date a multipart upload from its start,
        # so age alone cannot tell a long upload that just completed from a crash's leftover.
        self._suspects: set[str] = set()

    def _without_row(self, call_ids: list[str]) -> list[str]:
        present = existing_calls(self.runtime.engine, call_ids)
        return [cid for cid in call_ids if cid not in present]

    def _old_key_owners(self) -> Iterator[str]:
        cutoff = utcnow() - timedelta(seconds=self.grace_seconds)
        after = ""
        while True:
            page = self.runtime.keystore.owners_created_before(cutoff, after, PAGE)
            yield from page
            if len(page) < PAGE:
                return
            after = page[-1]

    def sweep(self) -> SweepResult:
        rt = self.runtime
        keys = 0
        for page in _pages(self._old_key_owners()):
            orphans = self._without_row(page)
            keys += rt.keystore.destroy(orphans)
        if keys:
            rt.keystore.checkpoint()

        cutoff = time.time() - self.grace_seconds
        old_blobs = (key for key, modified in rt.blobs.iter_aged() if modified < cutoff)
        blobs = 0
        suspects: set[str] = set()
        for page in _pages(old_blobs):
            # A redaction's audio is ``<call ID>.<redaction ID>`` (redactions/redactor.py): its
            # owner is the call named before the dot.
            owners: dict[str, list[str]] = {}
            for key in page:
                owners.setdefault(key.rsplit("/", 1)[-1].split(".", 1)[0], []).append(key)
            orphans = [k for cid in self._without_row(list(owners)) for k in owners[cid]]
            confirmed = [key for key in orphans if key in self._suspects]
            suspects.update(key for key in orphans if key not in self._suspects)
            if confirmed:
                results = rt.blobs.delete_many(confirmed)
                blobs += sum(1 for r in results.values() if not isinstance(r, Exception))
        self._suspects = suspects
        temporaries = 0
        if isinstance(rt.blobs, FolderBlobStore):
            temporaries = rt.blobs.sweep_temporaries(older_than=cutoff)

        result = SweepResult(keys, blobs, temporaries)
        if result.total:
            log.info(
                "orphan sweep removed %d keys, %d blobs, %d temporaries", keys, blobs, temporaries
            )
            with write_transaction(rt.engine) as conn:
                AuditTrail(rt.keys.audit_chain_key).append(
                    conn,
                    [
                        AuditEvent(
                            "orphans.swept",
                            "sweeper",
                            details={
                                "keysDestroyed": keys,
                                "blobsDeleted": blobs,
                                "temporariesRemoved": temporaries,
                            },
                        )
                    ],
                )
            checkpoint(rt.engine)
        return result
