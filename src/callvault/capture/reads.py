"""Reading captured calls back: status, details and audio (decrypted on the fly)."""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from callvault.audit.trail import AuditEvent, AuditTrail
from callvault.capture.audio import content_type_for, measure_duration
from callvault.capture.sealed import PURPOSE as DETAILS_PURPOSE
from callvault.capture.sealed import AudioDigests, open_details
from callvault.crypto import CallCipher, DecryptedAudio, DecryptionError
from callvault.errors import Conflict, NotFound
from callvault.runtime import Runtime
from callvault.store import calls as call_store
from callvault.store.calls import CallRow
from callvault.store.engine import write_transaction
from callvault.suppressions.service import SuppressionService
from callvault.text import is_clean

log = logging.getLogger(__name__)

NOT_FOUND = "NotFound"
EXCLUDED = "Excluded"
MAX_ID_CHARS = 256
# Statuses a caller may read the content of; a call being purged is already invisible.
READABLE = ("Concluded", "Complete", "Excluded")
# Plaintext served between two checks that the call is still readable.
AUDIO_PIECE = 256 * 1024
# How long a read waits for a redaction's swap (two commits, see ``CallReader.open_call``).
SWAP_WAIT_SECONDS, SWAP_POLL_SECONDS = 5.0, 0.02


def serves(state: call_store.AudioState | None, blob_key: str | None = None) -> bool:
    """Whether audio may be served in this state: the call readable, no redaction under way
    (contract §21: from a redaction's acceptance the audio is not served) and, given
    ``blob_key``, its audio still in that blob (no redaction swapped in another since)."""
    return (
        state is not None
        and state.status in READABLE
        and not state.redacting
        and (blob_key is None or state.blob_key == blob_key)
    )


class ReadRevoked(Exception):
    """The call stopped being readable (a purge was accepted) while its audio streamed: the
    response must end here, short of its Content-Length, rather than serve another byte."""


@dataclass(frozen=True)
class CallStatus:
    """One call's status as Tethr answers it (contract §4)."""

    call_id: str | None
    session_id: str
    status: str
    duration_sec: float | None

    def to_json(self) -> dict[str, Any]:
        # Tethr's clients throw on a null (C++: callId; .NET: durationSec, a 64-bit integer), so
        # an absent value is an absent key and the duration is whole seconds.
        doc: dict[str, Any] = {"sessionId": self.session_id, "status": self.status}
        if self.call_id is not None:
            doc["callId"] = self.call_id
        if self.duration_sec is not None:
            doc["durationSec"] = round(self.duration_sec)
        return doc

    def to_v2_json(self) -> dict[str, Any]:
        """As Tethr v2 answers it (``SessionStatus``: ``id`` for the call ID), the same rules."""
        v1 = self.to_json()
        doc: dict[str, Any] = {"status": v1["status"]}
        if "callId" in v1:
            doc["id"] = v1["callId"]
        doc["sessionId"] = v1["sessionId"]
        if "durationSec" in v1:
            doc["durationSec"] = v1["durationSec"]
        return doc


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _servable(value: Any) -> Any:
    """``value`` with what no JSON response can carry replaced: a lone surrogate becomes U+FFFD,
    NaN and infinities null. Capture refuses such input now; calls stored before it did must still
    read back (never a 500)."""
    if isinstance(value, str):
        return value if is_clean(value) else _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {_servable(k): _servable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_servable(v) for v in value]
    return value


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


@dataclass
class ExportedCall:
    """A readable call's details, and its decrypted audio to be read once (then closed)."""

    details: dict[str, Any]
    content_type: str
    audio_format: str | None
    audio: DecryptedAudio
    # The blob the audio was read from, and whether a redaction of the call was under way when
    # it was opened (contract §21: then its audio must not be sent): read with the call's row.
    blob_key: str = ""
    redacting: bool = False
    # The audio's SHA-256 and SHA-512 as sealed with its details (capture or the redaction that
    # wrote it computed them); None for a call stored before they were kept.
    digests: AudioDigests | None = None


class CallReader:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.trail = AuditTrail(runtime.keys.audit_chain_key)

    def statuses(self, session_ids: Sequence[str]) -> list[CallStatus]:
        # An ID no database could hold (NUL, lone surrogate, too long) is simply not found.
        lookups = [sid for sid in session_ids if is_clean(sid) and len(sid) <= MAX_ID_CHARS]
        found = call_store.calls_by_session(self.runtime.engine, lookups)
        # A capture refused for a suppressed caller (contract §22) answers Excluded, with the
        # call ID its upload was answered, until a live call takes its session ID again.
        missing = [sid for sid in lookups if sid not in found]
        refused = SuppressionService(self.runtime).refused(missing) if missing else {}
        result = []
        for sid in session_ids:
            row = found.get(sid)
            if row is None and sid in refused:
                result.append(CallStatus(refused[sid].call_id, sid, EXCLUDED, None))
            elif row is None:
                result.append(CallStatus(None, sid, NOT_FOUND, None))
            else:
                result.append(CallStatus(row.call_id, sid, row.tethr_status, row.duration_sec))
        return result

    def exclude(self, session_ids: Sequence[str]) -> int:
        return call_store.set_status(
            self.runtime.engine, session_ids, "Excluded", only_from=("Concluded", "Complete")
        )

    def open_call(self, call_id: str) -> tuple[CallRow, CallCipher]:
        """A readable call's row and the cipher of its data key, read as a pair that belongs
        together (NotFound: no such call, or it is being erased).

        A redaction swaps a call's key (in the key store) and its audio and details (in the
        calls database) in two commits, the key store's first (``redactions/redactor.py``): a
        row read before the second commit and a key read after the first do not open each
        other. So the pair is proved by opening the row's sealed details with the key; while
        the call is being redacted, a pair that does not open is read again until the swap has
        committed (at most ``SWAP_WAIT_SECONDS``, then the error stands)."""
        if not is_clean(call_id) or len(call_id) > MAX_ID_CHARS:
            raise NotFound("no call with that callId")
        deadline = time.monotonic() + SWAP_WAIT_SECONDS
        while True:
            with self.runtime.engine.connect() as conn:
                row = call_store.get_call(conn, call_id)
            if row is None or row.status not in READABLE:
                raise NotFound(f"no call with callId {call_id!r}")
            wrapped = self.runtime.keystore.get(call_id)
            if wrapped is None:
                raise NotFound(f"no call with callId {call_id!r}")
            cipher = CallCipher(call_id, self.runtime.keys.unwrap(call_id, wrapped))
            try:
                cipher.open(row.sealed, DETAILS_PURPOSE)
            except DecryptionError:
                if not row.redacting or time.monotonic() > deadline:
                    raise
                time.sleep(SWAP_POLL_SECONDS)
                continue
            return row, cipher

    def _audit_read(self, action: str, row: CallRow, actor: str) -> None:
        # Recorded before a byte is served: a read the trail does not show never happened.
        with write_transaction(self.runtime.engine) as conn:
            self.trail.append(conn, [AuditEvent(action, actor, None, row.call_id, row.session_id)])

    def details(self, call_id: str, actor: str) -> dict[str, Any]:
        """The call as captured, decrypted; audited as ``call.read`` by ``actor``."""
        row, cipher = self.open_call(call_id)
        doc = self._document(row, open_details(cipher, row.sealed))
        self._audit_read("call.read", row, actor)
        return doc

    def export_sources(self, call_ids: Sequence[str]) -> dict[str, tuple[CallRow, bytes]]:
        """The rows and wrapped data keys of those calls still readable, in two queries: what an
        access export reads ahead for the calls it is about to send (contract §20). Read ahead,
        they may be stale by the time a call's turn comes: ``open_export``'s caller checks the
        call's ``audio_state`` after the first piece is read and before any byte is sent."""
        with self.runtime.engine.connect() as conn:
            rows = call_store.get_calls(conn, call_ids)
        readable = [c for c, row in rows.items() if row.status in READABLE]
        keys = self.runtime.keystore.get_many(readable)
        return {c: (rows[c], keys[c]) for c in readable if c in keys}

    def open_export(self, row: CallRow, wrapped: bytes) -> ExportedCall:
        """A call as an access export packs it: its details as ``details`` answers them, its
        audio's content type and a reader of the decrypted audio. Not audited per call: the
        export's download is (``export.downloaded``). FileNotFoundError: its blob is gone."""
        cipher = CallCipher(row.call_id, self.runtime.keys.unwrap(row.call_id, wrapped))
        sealed = open_details(cipher, row.sealed)
        doc = self._document(row, sealed)
        digests = AudioDigests.from_document(sealed)
        reader = self._open_audio(row, cipher)
        if digests is not None and digests.size != reader.length:
            digests = None  # not this audio's (never so): the export hashes what it sends
        content_type = content_type_for(row.audio_format, row.audio_content_type)
        return ExportedCall(
            doc, content_type, row.audio_format, reader, row.blob_key, row.redacting, digests
        )

    def audio_state(self, call_id: str) -> call_store.AudioState | None:
        """The call's status, whether a redaction is under way and its blob, as of now."""
        return call_store.audio_state(self.runtime.engine, call_id)

    def _document(self, row: CallRow, sealed: dict[str, Any]) -> dict[str, Any]:
        doc = _servable(sealed)
        return {
            "callId": row.call_id,
            "sessionId": row.session_id,
            "masterCallId": doc["masterCallId"],
            "startTime": _iso(row.start_time),
            "endTime": _iso(row.end_time),
            "direction": row.direction,
            "numberDialed": doc["numberDialed"],
            # A contact's `email` (v2 participants only) is a key only where there is one, so
            # a v1 call reads back exactly as contract §6 lists it.
            "contacts": [
                {k: v for k, v in c.items() if k != "email" or v is not None}
                for c in doc["contacts"]
            ],
            "metadata": doc["metadata"],
            "audioFormat": row.audio_format,
            "durationSec": row.duration_sec,
            "status": row.status,
            # False: a Customer number could not be indexed, so no customer purge or hold finds
            # this call by it until `callvault calls reindex` can (contract §19).
            "customerIndexed": row.customer_indexed,
        }

    def _open_audio(self, row: CallRow, cipher: CallCipher) -> DecryptedAudio:
        handle, size = self.runtime.blobs.open(row.blob_key)
        return cipher.audio_reader(handle, size)

    def audio(self, call_id: str, actor: str) -> tuple[str, int, Iterator[bytes]]:
        """Content type, length and a chunk iterator of the decrypted audio; audited as
        ``audio.read`` by ``actor``."""
        row, cipher = self.open_call(call_id)
        if row.redacting:
            raise Conflict(
                f"the audio of call {call_id!r} is being redacted; it is served again once the "
                "redaction is done (see GET /calls/v1/<callId>/redactions)"
            )
        try:
            reader = self._open_audio(row, cipher)
        except FileNotFoundError:
            raise NotFound(f"no call with callId {call_id!r}") from None
        try:
            self._audit_read("audio.read", row, actor)
        except BaseException:
            reader.close()
            raise

        def chunks() -> Iterator[bytes]:
            # Before each piece leaves, the database must still call the call readable. A purge
            # hides the call (Purging) before its key is destroyed, and its item is Purged only
            # after that: so a download started before a purge yields nothing once the purge is
            # accepted, whichever process or host runs the eraser, and is over before Purged.
            with reader:
                while True:
                    try:
                        piece = reader.read(AUDIO_PIECE)
                    except Exception:
                        # A blob deleted or a key gone under the reader: an erasure, not a fault.
                        if not self.still_readable(call_id):
                            raise ReadRevoked(call_id) from None
                        raise
                    if not piece:
                        return
                    if not self.still_readable(call_id):
                        raise ReadRevoked(call_id)
                    yield piece

        return content_type_for(row.audio_format, row.audio_content_type), reader.length, chunks()

    def being_redacted(self, call_id: str) -> bool:
        """Whether a redaction of the call is under way (its audio is not served meanwhile)."""
        state = call_store.audio_state(self.runtime.engine, call_id)
        return state is not None and state.redacting

    def still_readable(self, call_id: str) -> bool:
        """Whether the call's audio may still be served: readable and no redaction under way
        (contract §21: from a redaction's acceptance the audio is not served)."""
        return serves(call_store.audio_state(self.runtime.engine, call_id))

    def process(self, call_id: str) -> None:
        """Measure the audio's duration and move the call from Concluded to Complete. A call
        whose duration capture read from the audio's ends as it streamed in is Complete
        already: nothing to read back."""
        if call_store.call_status(self.runtime.engine, call_id) != "Concluded":
            return
        try:
            row, cipher = self.open_call(call_id)
            with self._open_audio(row, cipher) as reader:
                duration = measure_duration(reader)
        except (NotFound, FileNotFoundError):
            return  # purged or excluded meanwhile: nothing to process
        except Exception as exc:
            # Unreadable audio must not keep the call Concluded forever: complete it unmeasured.
            # The type only: a parser's message may quote bytes of the decrypted audio.
            log.warning("audio of a call could not be processed (%s)", type(exc).__name__)
            duration = None
        call_store.mark_processed(self.runtime.engine, call_id, duration)

    def process_pending(self) -> int:
        """Process one batch of Concluded calls (those whose processing a restart interrupted)."""
        ids = call_store.pending_processing(self.runtime.engine)
        for call_id in ids:
            self.process(call_id)
        return len(ids)
