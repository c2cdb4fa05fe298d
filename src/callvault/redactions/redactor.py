"""The work of one redaction, in the order that makes the unredacted audio unreadable first.

1. **write** — decrypt the call's audio, silence every range, write the result (same format) to a
   blob of its own, encrypted under a new data key; re-seal the call's details under that key,
   with the new audio's SHA-256 and SHA-512 (``capture/sealed.py``: what an export names);
   stage the key in the key store (``staged_keys``) and record the new blob, its hashes and the
   re-sealed details on the redaction (step ``written``). Nothing the call names has changed.
2. **swap** — in one calls-database transaction holding the erasure lock (as the eraser's, so no
   legal hold commits in between; ``purge/governance.py``): a hold covering the call now fails the
   redaction (audio unchanged); a purge accepted meanwhile fails it too (the purge wins); else the
   call is pointed at the new audio and details, and, still inside, the key store swaps the
   staged key in place of the old one in one transaction of its own — the old key is destroyed:
   every copy of the unredacted audio is unreadable from here on. Step ``swapped``.
3. **delete** — checkpoint the key store (the old wrapped key leaves its WAL), delete the old
   audio, every version; then mark the redaction ``Redacted``, append ``call.redacted``, clear
   ``calls.redacting`` and checkpoint the calls database.

A worker killed anywhere leaves a state the next attempt finishes: before the key store's swap
commits, the call still names the old audio under the old key (the attempt writes anew, the
leftover blob and staged key are replaced); after it, the call's current key opens the new audio,
which the next attempt sees (``_swapped_already``) and completes the calls database's half of.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from callvault.audit.trail import AuditEvent, AuditTrail
from callvault.capture.sealed import AudioDigests, AudioHasher, open_details, reseal_details
from callvault.crypto import CallCipher, DecryptedAudio, DecryptionError, new_data_key
from callvault.purge.governance import Governance
from callvault.redactions.audio import (
    AudioPlan,
    HeadBuffer,
    NotRedactable,
    plan,
    write_compressed,
    write_wav,
)
from callvault.redactions.codecs import HEAD
from callvault.runtime import Runtime
from callvault.store import holds as hold_store
from callvault.store import redactions as store
from callvault.store.calls import CallRow, get_call
from callvault.store.engine import checkpoint, write_transaction
from callvault.store.purges import held_message
from callvault.store.redactions import QUEUED, SWAPPED, WRITTEN, RedactionRow

log = logging.getLogger(__name__)

READABLE = ("Concluded", "Complete", "Excluded")
WRITE_BATCH = 1024 * 1024


def _nothing(step: str) -> None:
    pass


class Stop(Exception):
    """The redaction ends Failed with this reason (the audio as it was)."""


def new_blob_key(call_id: str, redaction_id: str) -> str:
    # Beside the call's first blob: the orphan sweeper reads the call ID before the dot.
    return f"audio/{call_id[0]}/{call_id}.{redaction_id}"


@dataclass
class Outcome:
    state: str  # Redacted | Failed | retry
    error: str | None = None


class Redactor:
    def __init__(self, runtime: Runtime, worker_id: str) -> None:
        self.runtime = runtime
        self.worker_id = worker_id
        self.trail = AuditTrail(runtime.keys.audit_chain_key)
        self.governance = Governance(runtime)
        # Called between the steps with the step just done (tests kill a worker there).
        self.after_step: Callable[[str], None] = _nothing

    # ------------------------------------------------------------------ the steps

    def run(self, row: RedactionRow) -> Outcome:
        try:
            if row.step == QUEUED:
                row = self._write(row)
                self.after_step(WRITTEN)
            if row.step == WRITTEN:
                row = self._swap(row)
                self.after_step(SWAPPED)
            return self._finish(row)
        except Stop as stop:
            self._fail(row, str(stop))
            return Outcome(store.FAILED, str(stop))

    def _call(self, call_id: str) -> CallRow:
        with self.runtime.engine.connect() as conn:
            call = get_call(conn, call_id)
        if call is None or call.status not in READABLE:
            raise Stop("the call was purged while it was being redacted; the purge wins")
        return call

    def _check_holds(self, call_id: str) -> None:
        with self.runtime.engine.connect() as conn:
            holds = self.governance.held(conn, [call_id])
        if call_id in holds:
            raise Stop(f"{held_message(holds[call_id])}: the audio was left as it was")

    def _write(self, row: RedactionRow) -> RedactionRow:
        rt = self.runtime
        call = self._call(row.call_id)
        self._check_holds(row.call_id)
        wrapped = rt.keystore.get(row.call_id)
        if wrapped is None:
            raise Stop("the call's data key is gone (erased)")
        old = CallCipher(row.call_id, rt.keys.unwrap(row.call_id, wrapped))
        data_key = new_data_key()
        new = CallCipher(row.call_id, data_key)
        target = new_blob_key(row.call_id, row.redaction_id)
        rt.blobs.delete(target)  # what an earlier attempt of this redaction left, every version
        before, after = hashlib.sha256(), AudioHasher()
        sealed_before = AudioDigests.from_document(open_details(old, call.sealed))
        encryptor = new.audio_encryptor()
        writer = rt.blobs.writer(target)
        try:
            handle, size = rt.blobs.open(call.blob_key)
            with old.audio_reader(handle, size) as reader:
                # The audio's SHA-256 as sealed with it (by capture, or the redaction that wrote
                # it): a compressed call is then not read an extra time to hash it. A call
                # stored before digests were kept is hashed as it is read.
                if sealed_before is not None and sealed_before.size != reader.length:
                    sealed_before = None
                try:
                    audio = plan(reader, reader.length)
                except NotRedactable as exc:
                    raise Stop(f"the audio cannot be redacted: {exc}") from None
                pending = bytearray()

                def write(data: bytes) -> None:
                    after.update(data)
                    pending.extend(data)
                    if len(pending) >= WRITE_BATCH:
                        writer.write(encryptor.update(bytes(pending)))
                        pending.clear()

                if audio.kind == "wav":
                    write_wav(reader, audio, row.ranges, write, before.update)
                else:
                    self._compressed(row, reader, audio, write, None if sealed_before else before)
                writer.write(encryptor.update(bytes(pending)))
                writer.write(encryptor.finalize())
            writer.commit()
        except BaseException:
            writer.abort()
            raise
        digests = after.digests()
        values = {
            "old_blob_key": call.blob_key,
            "old_blob_version": call.blob_version,
            "new_blob_key": target,
            "new_blob_version": writer.version,
            # The details under the new key, with the digests of the audio it now encrypts.
            "new_sealed": reseal_details(old, new, call.sealed, digests),
            "new_audio_bytes": encryptor.plaintext_bytes,
            "audio_sha256_before": sealed_before.sha256 if sealed_before else before.hexdigest(),
            "audio_sha256_after": digests.sha256,
        }
        rt.keystore.stage(row.redaction_id, row.call_id, rt.keys.wrap(row.call_id, data_key))
        with write_transaction(rt.engine) as conn:
            store.mark_written(conn, row.redaction_id, values)
            done = store.get_redaction(conn, row.redaction_id)
        assert done is not None
        return done

    def _compressed(
        self,
        row: RedactionRow,
        reader: DecryptedAudio,
        audio: AudioPlan,
        write: Callable[[bytes], None],
        before: Any | None,
    ) -> None:
        """Decode, silence, encode again. The muxer's first ``HEAD`` bytes stay in memory (it
        patches its header there at the end); the rest goes to a blob of its own under a key
        that never leaves memory, and is copied after the head once the muxer is done.
        ``before``: the hash of the audio as it is, fed in a pass of its own (None: known)."""
        rt = self.runtime
        if before is not None:
            reader.seek(0)
            while piece := reader.read(WRITE_BATCH):
                before.update(piece)
        spill_key = new_blob_key(row.call_id, row.redaction_id) + ".part"
        rt.blobs.delete(spill_key)
        spill = CallCipher(row.call_id, new_data_key())
        spill_encryptor = spill.audio_encryptor()
        spill_writer = rt.blobs.writer(spill_key)
        try:
            out = HeadBuffer(lambda data: spill_writer.write(spill_encryptor.update(data)))
            try:
                write_compressed(reader, audio, row.ranges, out)
            except NotRedactable as exc:
                raise Stop(f"the audio cannot be redacted: {exc}") from None
            spill_writer.write(spill_encryptor.finalize())
            spill_writer.commit()
        except BaseException:
            spill_writer.abort()
            raise
        try:
            write(bytes(out.head[: min(HEAD, out.size)]))
            if out.size > HEAD:
                handle, size = rt.blobs.open(spill_key)
                with spill.audio_reader(handle, size) as tail:
                    while piece := tail.read(WRITE_BATCH):
                        write(piece)
        finally:
            rt.blobs.delete(spill_key)

    def _swapped_already(self, row: RedactionRow) -> bool:
        """Whether the key store's half of the swap committed (a worker died before the calls
        database's half): the call's current key opens the new audio."""
        wrapped = self.runtime.keystore.get(row.call_id)
        if wrapped is None or row.new_blob_key is None:
            return False
        cipher = CallCipher(row.call_id, self.runtime.keys.unwrap(row.call_id, wrapped))
        try:
            handle, size = self.runtime.blobs.open(row.new_blob_key)
        except FileNotFoundError:
            return False
        try:
            with cipher.audio_reader(handle, size) as reader:
                reader.read(1)
        except DecryptionError:
            return False
        return True

    def _swap(self, row: RedactionRow) -> RedactionRow:
        rt = self.runtime
        swapped_before = False
        if rt.keystore.staged(row.redaction_id) is None:
            swapped_before = self._swapped_already(row)
            if not swapped_before:
                # No staged key, and the call's key does not open the new audio: write anew.
                row = self._write(row)
        with write_transaction(rt.engine) as conn:
            hold_store.lock_for_erasure(conn)
            call = store.lock_call(conn, row.call_id)
            if not swapped_before:
                holds = self.governance.held(conn, [row.call_id])
                if row.call_id in holds:
                    raise Stop(f"{held_message(holds[row.call_id])}: the audio was left as it was")
            if call is None or call.status not in READABLE:
                raise Stop("the call was purged while it was being redacted; the purge wins")
            if not store.swap_call(conn, row):
                raise Stop("the call's audio changed while it was being redacted")
            if not swapped_before and not rt.keystore.swap_in(row.redaction_id, row.call_id):
                raise Stop("the redaction's new key was lost")
            self.after_step("keys-swapped")  # the key store committed, the calls database not
            store.mark_swapped(conn, row.redaction_id)
            done = store.get_redaction(conn, row.redaction_id)
        assert done is not None
        return done

    def _finish(self, row: RedactionRow) -> Outcome:
        rt = self.runtime
        rt.keystore.checkpoint()
        deleted = 0
        if row.old_blob_key is not None and row.old_blob_key != row.new_blob_key:
            versions = {row.old_blob_key: row.old_blob_version} if row.old_blob_version else None
            result = rt.blobs.delete_many([row.old_blob_key], versions)[row.old_blob_key]
            if isinstance(result, Exception):
                raise OSError("the blob store failed deleting the old audio") from result
            deleted = result
        self.after_step("old-deleted")
        with write_transaction(rt.engine) as conn:
            call = get_call(conn, row.call_id)
            if call is None or call.status not in READABLE:
                error = "the call was purged while it was being redacted; the purge wins"
                if store.mark_failed(conn, row, error):
                    self.trail.append(conn, [self._failed_event(row, error)])
                outcome = Outcome(store.FAILED, error)
            else:
                if store.mark_redacted(conn, row, deleted):
                    self.trail.append(
                        conn,
                        [
                            AuditEvent(
                                "call.redacted",
                                row.requested_by,
                                row.redaction_id,
                                row.call_id,
                                row.session_id,
                                {
                                    "ranges": [list(r) for r in row.ranges],
                                    "reason": row.reason,
                                    "reference": row.reference,
                                    "oldDataKeyDestroyed": True,
                                    "blobObjectsDeleted": deleted,
                                    "worker": self.worker_id,
                                },
                            )
                        ],
                    )
                outcome = Outcome(store.REDACTED)
        checkpoint(rt.engine)
        return outcome

    def _failed_event(self, row: RedactionRow, error: str) -> AuditEvent:
        return AuditEvent(
            "redaction.failed",
            row.requested_by,
            row.redaction_id,
            row.call_id,
            row.session_id,
            {"error": error, "reference": row.reference, "worker": self.worker_id},
        )

    def give_up(self, row: RedactionRow, error: str) -> None:
        """End a redaction that kept failing (not past its swap): Failed, audio as it was."""
        self._fail(row, error)

    def _fail(self, row: RedactionRow, error: str) -> None:
        """End the redaction Failed, and take back what it wrote that the call does not name:
        its staged key and its new blob (the call keeps its audio as it was)."""
        rt = self.runtime
        with write_transaction(rt.engine) as conn:
            current = store.get_redaction(conn, row.redaction_id)
            call = get_call(conn, row.call_id)
            if current is not None and store.mark_failed(conn, current, error):
                self.trail.append(conn, [self._failed_event(current, error)])
        rt.keystore.drop_staged(row.redaction_id)
        target = new_blob_key(row.call_id, row.redaction_id)
        if call is None or call.blob_key != target:
            rt.blobs.delete(target)
        rt.blobs.delete(target + ".part")  # a compressed rewrite's spill a killed worker left
        rt.keystore.checkpoint()
        checkpoint(rt.engine)
