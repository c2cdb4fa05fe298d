"""Capture: stream a multipart upload into an encrypted blob and store the sealed call.

The audio is encrypted as it streams in, one bounded buffer at a time, and written to a blob that
only becomes visible when whole. Personal fields are sealed with the call's data key before they
reach the database; customer phones are stored only as blind-index digests.

Order of durable writes: the blob and the wrapped key (side by side), then the call row. A crash
between them leaves an orphan blob or key with no row, never a row without its data; the orphan
sweeper (``capture/orphans.py``) destroys such keys and blobs once they have had no row for a grace
period.

A suppressed caller (contract §22) is decided from ``info``, before the audio is read: from then
on the audio is read and discarded. Audio that came before ``info`` was encrypted under the
call's data key, which never left memory: the blob is aborted and the key dropped, so what was
written is unreadable and gone. Only a tombstone is stored (``suppressions/``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from anyio import move_on_after, to_thread
from sqlalchemy import Connection

from callvault.audit.trail import AuditEvent, AuditTrail
from callvault.blobs import BlobWriter
from callvault.capture import multipart
from callvault.capture.audio import AudioEnds, format_from_content_type, measure_from_ends
from callvault.capture.customers import customer_index
from callvault.capture.info import CaptureInfo, parse_info
from callvault.capture.sealed import AudioHasher, contacts_document, seal_details
from callvault.crypto import AudioEncryptor, CallCipher, new_data_key
from callvault.errors import (
    BadInput,
    Conflict,
    RequestTimeout,
    StorageUnavailable,
    TooLarge,
    UnsupportedMediaType,
)
from callvault.ids import new_call_id
from callvault.runtime import Runtime
from callvault.store.calls import CallRow, insert_call, session_in_use
from callvault.store.types import utcnow
from callvault.suppressions.service import SuppressionService

if TYPE_CHECKING:  # prometheus_client loads with the API (api/app.py) only
    from callvault.metrics import Metrics

log = logging.getLogger(__name__)

# Plaintext gathered before one encrypt-and-write in a worker thread: big enough to amortise the
# thread hop, small enough that memory stays flat whatever the upload size.
WRITE_BATCH = 1024 * 1024
# How long the clean-up after a failed or cancelled upload may take (S3's retries included).
CLEANUP_SECONDS = 30
INFO_PART = "info"
DATA_PART = "data"


def blob_key_for(call_id: str) -> str:
    # 16 folders (the ID's first hex digit): erasing a batch flushes each folder once. Large
    # folders cost erasure nothing measurable: an unlink among a million calls' ~62,000 files
    # took what it takes in an empty folder (bench/README.md, "Erasure").
    return f"audio/{call_id[0]}/{call_id}"


async def _limited(
    body: AsyncIterator[bytes], limit: int, idle_seconds: float
) -> AsyncIterator[bytes]:
    """The body, cut off past ``limit`` bytes (413) or after ``idle_seconds`` of silence (408)."""
    seen = 0
    chunks = body.__aiter__()
    while True:
        try:
            async with asyncio.timeout(idle_seconds):
                chunk = await chunks.__anext__()
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise RequestTimeout(
                f"the upload sent nothing for {idle_seconds:g} s; send the body without pauses"
            ) from None
        seen += len(chunk)
        if seen > limit:
            raise TooLarge(f"the upload is larger than the limit of {limit} bytes")
        yield chunk


@dataclass
class _Upload:
    """What one capture request has received so far."""

    info_raw: bytearray = field(default_factory=bytearray)
    info: CaptureInfo | None = None
    saw_info: bool = False
    saw_data: bool = False
    data_content_type: str | None = None
    current: str | None = None
    pending: bytearray = field(default_factory=bytearray)
    # The audio's first and last bytes, kept as they stream past: its duration is read from them
    # (``measure_from_ends``), so that no read-back of the stored audio follows the answer.
    ends: AudioEnds = field(default_factory=AudioEnds)
    # The audio's SHA-256 and SHA-512, sealed with the call's details (``capture/sealed.py``):
    # an access export names them rather than hash the audio again.
    hasher: AudioHasher = field(default_factory=AudioHasher)
    # The suppression in force for a Customer of ``info`` (contract §22): nothing is stored.
    suppressed_by: str | None = None


class CaptureService:
    def __init__(self, runtime: Runtime, metrics: Metrics | None = None) -> None:
        self.runtime = runtime
        self.metrics = metrics  # counts the Customer numbers that cannot be indexed
        self.trail = AuditTrail(runtime.keys.audit_chain_key)
        self.suppressions = SuppressionService(runtime)

    async def capture(
        self,
        content_type: str | None,
        body: AsyncIterator[bytes],
        actor: str,
        region: str | None = None,
        parse: Callable[[bytes], CaptureInfo] = parse_info,
    ) -> str:
        """Store one uploaded call for ``actor`` (audited as ``call.captured``), reading its
        national phone numbers in ``region`` (default: the instance's); returns its new call ID.
        A call of a suppressed caller is not stored: its ID is answered all the same, and only
        a tombstone records it (``capture.suppressed``).

        ``parse`` reads the ``info`` part: ``info.parse_info`` (v1) or ``info.parse_v2_info``
        (Tethr v2), both into the one call model, so the rest of capture is the same for both."""
        try:
            boundary = multipart.parse_boundary(content_type)
        except multipart.UnsupportedMediaType as exc:
            raise UnsupportedMediaType(str(exc)) from None
        except multipart.MultipartError as exc:
            raise BadInput(str(exc)) from None

        call_id = new_call_id()
        data_key = new_data_key()
        cipher = CallCipher(call_id, data_key)
        encryptor = cipher.audio_encryptor()
        blob_key = blob_key_for(call_id)
        try:
            # Every storage and database call of an upload runs in a worker thread: on the
            # loop, a slow disk, S3 or PostgreSQL (or a pool with every connection taken)
            # would stall every other request of this process.
            writer = await to_thread.run_sync(self.runtime.blobs.writer, blob_key)
        except OSError as exc:
            raise StorageUnavailable("the audio store cannot be written to; retry later") from exc
        key_put: asyncio.Future[None] | None = None
        try:
            upload = await self._receive(body, boundary, writer, encryptor, parse, region)
            info = self._finish_info(upload)
            if upload.suppressed_by is not None:
                # Whatever audio came before `info` was sealed under a key that never left
                # memory: it goes with the aborted blob.
                await to_thread.run_sync(writer.abort)
            else:
                await to_thread.run_sync(lambda: writer.write(encryptor.finalize()))
                # The wrapped key is committed while the blob is flushed: two fsyncs side by
                # side rather than one after the other (each needs neither; the row needs both).
                key_put = asyncio.ensure_future(
                    to_thread.run_sync(self._put_key, call_id, data_key)
                )
                await to_thread.run_sync(writer.commit)
                await key_put
        except BaseException as exc:
            # Shielded: a cancelled upload still takes back what it wrote, though the clean-up
            # waits on threads; bounded, so a store that hangs cannot hold the request (what
            # is left then, the orphan sweeper removes).
            with move_on_after(CLEANUP_SECONDS, shield=True):
                await to_thread.run_sync(writer.abort)
                if key_put is not None:
                    # Settle the key's commit (it may have succeeded) before taking it back.
                    await asyncio.wait([key_put])
                    if not key_put.cancelled():
                        key_put.exception()  # retrieved: the error raised is the first one
                    await to_thread.run_sync(self._undo, call_id, blob_key)
            if isinstance(exc, OSError):
                raise StorageUnavailable(
                    "the audio store failed while writing; retry later"
                ) from exc
            raise
        if upload.suppressed_by is not None:
            del data_key, cipher, encryptor  # the throwaway key: nothing holds it any more
            await to_thread.run_sync(
                self.suppressions.record_refused,
                call_id,
                info.sessionid,
                upload.suppressed_by,
                actor,
            )
            return call_id
        storing = asyncio.ensure_future(
            to_thread.run_sync(
                self._store,
                call_id,
                cipher,
                info,
                upload,
                encryptor,
                actor,
                region,
                writer.version,
            )
        )
        try:
            await asyncio.shield(storing)
        except BaseException:
            # Settle the row's commit first: cancelled while its thread is at work, the call
            # may be stored all the same, and its key and audio must then stay.
            with move_on_after(CLEANUP_SECONDS, shield=True):
                await asyncio.wait([storing])
                if storing.done() and (storing.cancelled() or storing.exception() is not None):
                    await to_thread.run_sync(self._undo, call_id, blob_key)
            raise
        return call_id

    async def _receive(
        self,
        body: AsyncIterator[bytes],
        boundary: str,
        writer: BlobWriter,
        enc: AudioEncryptor,
        parse: Callable[[bytes], CaptureInfo],
        region: str | None = None,
    ) -> _Upload:
        upload = _Upload()
        limit = self.runtime.settings.max_upload_bytes
        info_limit = self.runtime.settings.max_info_bytes

        async def flush() -> None:
            data = bytes(upload.pending)
            upload.pending.clear()
            upload.ends.feed(data)

            def write() -> None:
                upload.hasher.update(data)
                writer.write(enc.update(data))

            await to_thread.run_sync(write)

        try:
            idle = self.runtime.settings.read_timeout_seconds
            async for event in multipart.iter_events(_limited(body, limit, idle), boundary):
                if isinstance(event, multipart.PartStart):
                    upload.current = self._start_part(upload, event)
                elif isinstance(event, multipart.PartData):
                    if upload.current == INFO_PART:
                        upload.info_raw += event.data
                        if len(upload.info_raw) > info_limit:
                            raise TooLarge(f"the `info` part is larger than {info_limit} bytes")
                    elif upload.current == DATA_PART and upload.suppressed_by is None:
                        upload.pending += event.data
                        if len(upload.pending) >= WRITE_BATCH:
                            await flush()
                else:
                    if upload.current == INFO_PART:
                        # Reject a bad info before the (possibly huge) audio is read.
                        upload.info = parse(bytes(upload.info_raw))
                        # One thread hop for both questions `info` alone answers.
                        upload.suppressed_by = await to_thread.run_sync(
                            self._check_info, upload.info, region
                        )
                        if upload.suppressed_by is not None:
                            upload.pending.clear()  # audio before `info`: never written
                    upload.current = None
        except multipart.MultipartError as exc:
            raise BadInput(str(exc)) from None
        if upload.pending:
            await flush()
        return upload

    def _check_info(self, info: CaptureInfo, region: str | None) -> str | None:
        """409 for a live twin's session ID; else the suppression in force, if any."""
        self._check_session(info.sessionid)
        return self._suppressed_by(info, region)

    def _suppressed_by(self, info: CaptureInfo, region: str | None) -> str | None:
        """The suppression in force for a Customer contact's number or e-mail, if any; numbers
        read as the call's index reads them (``customer_index``)."""
        index = customer_index(
            ((c.phonenumber, c.email) for c in info.contacts if c.is_customer),
            region or self.runtime.settings.default_region,
        )
        if not index.forms:
            return None
        found = self.suppressions.in_force([self.runtime.keys.blind_index(f) for f in index.forms])
        return found[0] if found else None

    @staticmethod
    def _start_part(upload: _Upload, part: multipart.PartStart) -> str | None:
        name = part.name.lower()
        if name == INFO_PART:
            if upload.saw_info:
                raise BadInput("the upload has two `info` parts; send exactly one")
            upload.saw_info = True
            return INFO_PART
        if name == DATA_PART:
            if upload.saw_data:
                raise BadInput("the upload has two `data` parts; send exactly one")
            upload.saw_data = True
            if part.content_type is not None and not multipart.is_plain_media_type(
                part.content_type
            ):
                # Stored, it would be served back as a header no server can send (NUL, non-latin-1).
                raise BadInput(
                    "the `data` part's Content-Type is not a plain type/subtype; "
                    "send e.g. 'Content-Type: audio/wav'"
                )
            upload.data_content_type = part.content_type
            return DATA_PART
        return None  # unknown parts are skipped, as a lenient server should

    def _finish_info(self, upload: _Upload) -> CaptureInfo:
        seen = ((INFO_PART, upload.saw_info), (DATA_PART, upload.saw_data))
        missing = [name for name, present in seen if not present]
        if missing:
            parts = " and ".join(f"`{n}`" for n in missing)
            raise BadInput(f"the upload has no {parts} part; send `info` (JSON) and `data` (audio)")
        assert upload.info is not None
        return upload.info

    def _check_session(self, session_id: str) -> None:
        if session_in_use(self.runtime.engine, session_id):
            raise Conflict(
                f"a live call with sessionId {session_id!r} already exists; "
                "session IDs are unique among live calls"
            )

    def _store(
        self,
        call_id: str,
        cipher: CallCipher,
        info: CaptureInfo,
        upload: _Upload,
        encryptor: AudioEncryptor,
        actor: str,
        region: str | None,
        blob_version: str | None,
    ) -> None:
        rt = self.runtime
        region = region or rt.settings.default_region
        contacts = contacts_document(info, region)
        index = customer_index(
            ((c.phonenumber, c.email) for c in info.contacts if c.is_customer), region
        )
        digests = [rt.keys.blind_index(form) for form in index.forms]
        content_type = upload.data_content_type
        audio_format = (info.audio.format if info.audio else None) or format_from_content_type(
            content_type
        )
        # Measured from the audio's ends as it streamed in, the call is Complete at once; a
        # format whose parser needs the middle is measured after the answer (CallReader.process).
        measured, duration = measure_from_ends(upload.ends)
        row = CallRow(
            call_id=call_id,
            session_id=info.sessionid,
            status="Complete" if measured else "Concluded",
            start_time=info.starttime,
            end_time=info.endtime,
            direction=info.direction,
            contact_types=tuple(c.type for c in info.contacts),
            sealed=seal_details(cipher, info, contacts, upload.hasher.digests()),
            audio_format=audio_format.lower() if audio_format else None,
            # A content type no real client sends (over 200 characters) is dropped, not stored.
            audio_content_type=content_type if len(content_type or "") <= 200 else None,
            audio_bytes=encryptor.plaintext_bytes,
            blob_key=blob_key_for(call_id),
            blob_version=blob_version,
            duration_sec=duration,
            # A Customer number no customer purge or hold can find the call by (contract §19).
            customer_indexed=index.complete,
        )
        event = AuditEvent("call.captured", actor, None, call_id, info.sessionid)

        def also(conn: Connection) -> None:
            # A live call takes its session ID back from a refused capture's tombstone: once
            # this call is erased, its status is NotFound, not the tombstone's Excluded.
            self.suppressions.forget_refused(conn, info.sessionid)
            self.trail.append(conn, [event])

        insert_call(rt.engine, row, utcnow(), digests, also=also)
        if index.unindexed and self.metrics is not None:
            self.metrics.customer_numbers_unindexed.inc(index.unindexed)

    def _put_key(self, call_id: str, data_key: bytes) -> None:
        rt = self.runtime
        try:
            rt.keystore.put(call_id, rt.keys.wrap(call_id, data_key))
        except Exception as exc:
            raise StorageUnavailable("the key store cannot be written to; retry later") from exc

    def _undo(self, call_id: str, blob_key: str) -> None:
        """Best-effort removal of what a failed capture wrote; the sweeper catches the rest."""
        try:
            self.runtime.keystore.destroy([call_id])
            self.runtime.blobs.delete(blob_key)
        except Exception:
            log.warning("cleanup after a failed capture was incomplete", exc_info=True)
