"""An access export's package (contract §20), built from the encrypted store as it is sent.

The package is a ZIP written by the standard library's ``zipfile`` into a sink that cannot seek
(each entry followed by its data descriptor, ZIP64 where needed). A piece of audio (a MiB) is
handed to the response once the piece after it has been read and the call's state checked; a
call's last piece leaves with its small files, after a last check. So nothing is spooled, no
temporary file exists, and memory stays flat whatever the audio's size.
``bench/zip_writers.py`` measured it against ``stream-zip`` (which buffers a stored member whole
unless its CRC is known up front, i.e. the audio decrypted twice) and ``zipstream-ng`` (as fast,
as flat, but a dependency for what the standard library does): the standard library it is.

The order of the entries lets one pass compute everything: per call its ``audio.<ext>``,
``call.json``, ``call.vcon.json`` (which names the audio's SHA-512); then ``calls.csv``,
``index.html``, and last ``manifest.json`` (every file's size and SHA-256) and ``manifest.jws``
(the manifest's SHA-256, signed with the certificate keys).
The audio's SHA-256 and SHA-512 are those sealed with the call (``capture/sealed.py``: computed
at capture, or by the redaction that wrote the audio), not computed again; a call stored before
they were kept is hashed as it streams, on a thread of its own. The CRC-32 of each entry and the
SHA-256 of what is sent (the audit event's, ``exports/service.py``) are computed as it leaves.
The calls' rows, keys and redactions are read ahead a hundred at a time; each call's state is
read again once its first piece is read, before any byte of it leaves.
"""

from __future__ import annotations

import base64
import collections
import csv
import functools
import hashlib
import io
import json
import time
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import jinja2
from sqlalchemy import Engine

from callvault.capture.reads import (
    READABLE,
    CallReader,
    ExportedCall,
    ReadRevoked,
    serves,
)
from callvault.phone import to_e164
from callvault.store import redactions as redaction_store
from callvault.store.calls import CallRow
from callvault.store.exports import ExportCall

MANIFEST_TYPE = "export-manifest+jwt"
INCLUDED, ERASED = "included", "erased"
CSV_HEADER = ["callId", "sessionId", "startTime", "direction", "durationSec", "state"]

# The extension of ``audio.<ext>``, by the format capture recorded (else by content type).
_EXTENSIONS = {"wav": "wav", "mp3": "mp3", "opus": "opus", "ogg": "ogg", "mp4": "m4a"}
_EXTENSIONS_BY_TYPE = {
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/mpeg": "mp3",
    "audio/ogg": "ogg",
    "audio/mp4": "m4a",
    "video/mp4": "mp4",
}
# A recording's media type as draft-ietf-vcon-vcon-core names it (``mediatype``), and as the
# ``vcon`` package 0.3.x checks it (``mimetype``, from its own list): both are written.
_VCON_TYPES = {
    "wav": ("audio/x-wav", "audio/x-wav"),
    "mp3": ("audio/x-mp3", "audio/mpeg"),
    "m4a": ("audio/x-mp4", "audio/x-m4a"),
    "mp4": ("video/x-mp4", "audio/x-m4a"),
    "ogg": ("audio/ogg", "audio/ogg"),
    "opus": ("audio/ogg", "audio/ogg"),
}

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)

# Signs a manifest: (claims, typ) → compact JWS on the certificate keys (same JWKS).
Signer = Callable[[dict[str, Any], str], str]


REDACTION_WAIT_SECONDS = 900.0  # a call being redacted is sent once done; at most this long
# The calls whose rows, wrapped keys and completed redactions one read ahead fetches (three
# queries): memory stays flat in an export's size, a call's sealed details being bounded.
CALLS_AHEAD = 100
# Bytes of small files the sink gathers before they leave without a piece of audio.
SINK_LIMIT = 1 << 20
# Plaintext audio read between two checks of its call's state (each a database query): four
# times the audio route's piece, a package sending many calls' audio one after the other.
PIECE = 1 << 20


def redactions_of(engine: Engine, call_id: str) -> list[dict[str, Any]]:
    """The redactions applied to a call, oldest first, as its manifest entry lists them
    (contract §20, §21): which ranges were replaced by silence, why, when, for which ticket."""
    with engine.connect() as conn:
        return _redactions_json(redaction_store.completed_for_call(conn, call_id))


def _redactions_json(done: list[redaction_store.RedactionRow]) -> list[dict[str, Any]]:
    return [
        {
            "redactionId": r.redaction_id,
            "ranges": [{"startMs": a, "endMs": b} for a, b in r.ranges],
            "reason": r.reason,
            "reference": r.reference,
            "completedAt": _iso(r.completed_at),
        }
        for r in done
    ]


def _close(found: ExportedCall | None) -> None:
    if found is not None:
        found.audio.close()


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class OffThread:
    """A hash fed on a thread of its own: ``hashlib`` lets go of the GIL on large updates, so
    the hashes of the audio (the vCon's SHA-512, the manifest's SHA-256) and of the bytes sent
    (the audit event's SHA-256) run beside the decryption and the ZIP's CRC rather than after
    them, on the other core. At most ``AHEAD`` pieces wait for it (memory stays flat);
    ``digest`` waits for the last."""

    AHEAD = 4

    def __init__(self, name: str, worker: ThreadPoolExecutor) -> None:
        self._hash = hashlib.new(name)
        self._worker = worker
        self._pending: collections.deque[Future[None]] = collections.deque()

    def update(self, piece: bytes) -> None:
        self._pending.append(self._worker.submit(self._hash.update, piece))
        while len(self._pending) > self.AHEAD:
            self._pending.popleft().result()

    def digest(self) -> bytes:
        while self._pending:
            self._pending.popleft().result()
        return self._hash.digest()


class _Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...


class Known:
    """A hash already known (sealed with the call, ``capture/sealed.py``): fed nothing."""

    def __init__(self, hex_digest: str) -> None:
        self._digest = bytes.fromhex(hex_digest)

    def update(self, data: bytes, /) -> None:
        pass

    def digest(self) -> bytes:
        return self._digest


class _Sink:
    """A write-only file that cannot seek or tell (a response body): ``zipfile`` then writes
    each entry's sizes and CRC in a data descriptor after it."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        self.size = 0
        return out


@dataclass
class PackageSpec:
    """What the package says about its export (the manifest's head)."""

    export_id: str
    reference: str | None
    instance: str
    created_at: datetime
    requested_by: str
    subject: dict[str, Any]
    calls: list[ExportCall]
    default_region: str


@dataclass
class _Row:
    call_id: str
    session_id: str
    start_time: str | None
    state: str
    details: dict[str, Any] | None = None
    audio_path: str | None = None
    redactions: list[dict[str, Any]] = field(default_factory=list)


class Package:
    """One pass over an export's calls, yielding the ZIP's bytes as they are made."""

    def __init__(self, spec: PackageSpec, reader: CallReader, sign: Signer) -> None:
        self.spec = spec
        self.reader = reader
        self.sign = sign
        self.files: list[dict[str, Any]] = []
        self._sink = _Sink()
        self._stamp = time.gmtime()[:6]
        self._current: str | None = None  # the call whose audio is streaming
        self._ahead: dict[str, tuple[CallRow, bytes]] = {}
        self._ahead_redactions: dict[str, list[redaction_store.RedactionRow]] = {}
        self._ahead_end = 0  # the index of the first call not read ahead
        self.generated_at = datetime.now(UTC)

    def still_readable(self) -> bool:
        """False once the call whose audio is being sent stops being readable (a purge was
        accepted): what a download's watch asks (``api/downloads.py``), to end the stream."""
        current = self._current
        return current is None or self.reader.still_readable(current)

    # -- entries ---------------------------------------------------------------------------

    def _entry(
        self,
        archive: zipfile.ZipFile,
        path: str,
        pieces: Iterable[bytes],
        big: bool = False,
        sha256: _Digest | None = None,
        compress: bool = False,
    ) -> Iterator[bytes]:
        """One file of the ZIP. An audio file (``big``: ZIP64) is handed on a piece at a time:
        a piece leaves once the next one has been read and has passed its check, and the last
        stays in the sink to leave with its call's small files (one chunk for a call of one
        piece: a download's chunks are few and large). ``compress``: deflated (the package's
        own documents), else stored (audio does not deflate; a call's two small JSON files
        would cost a compressor each for a kilobyte or two). ``sha256``: the file's hash, when
        it is known rather than to be computed here."""
        info = zipfile.ZipInfo(path, self._stamp)
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        if sha256 is None:
            sha256 = OffThread("sha256", self._hasher) if big else hashlib.sha256()
        size = 0
        with archive.open(info, "w", force_zip64=big) as entry:
            for piece in pieces:
                if big and size:
                    yield self._sink.take()  # the piece before: this one passed its check
                entry.write(piece)
                sha256.update(piece)
                size += len(piece)
        self.files.append({"path": path, "bytes": size, "sha256": sha256.digest().hex()})
        if self._sink.size > SINK_LIMIT:  # small files without audio between them (the end)
            yield self._sink.take()

    def _wait_for_redaction(self, call_id: str) -> None:
        """A call being redacted is sent when its redaction is done, never before (contract
        §20): its audio then is the redacted one. A redaction that does not end within
        ``REDACTION_WAIT_SECONDS`` ends the download (ReadRevoked) rather than send it."""
        deadline = time.monotonic() + REDACTION_WAIT_SECONDS
        while self.reader.being_redacted(call_id):
            if time.monotonic() > deadline:
                raise ReadRevoked(call_id)
            time.sleep(0.25)

    def _read_ahead(self, index: int) -> None:
        """The rows, wrapped keys and completed redactions of the next ``CALLS_AHEAD`` calls,
        in three queries rather than three a call."""
        ids = [c.call_id for c in self.spec.calls[index : index + CALLS_AHEAD]]
        self._ahead = self.reader.export_sources(ids)
        with self.reader.runtime.engine.connect() as conn:
            self._ahead_redactions = redaction_store.completed_for_calls(conn, list(self._ahead))
        self._ahead_end = index + CALLS_AHEAD

    def _open(self, index: int) -> tuple[ExportedCall, bytes, list[dict[str, Any]]] | None:
        """The call at ``index`` opened, its first piece of audio read and its completed
        redactions; None when it is erased (or being erased) since the export was made.

        The call comes from the read ahead, which may be stale: so once its first piece is
        read, and before any byte of it is sent, one query reads its state as of now. Not
        readable: erased. A redaction under way, or a blob other than the one read ahead (a
        redaction swapped in a new one; blob keys are never reused): wait for the redaction
        and read the call again on its own; its audio then is the redacted one, and its
        redactions are read with it. So the manifest always lists what the audio sent carries.
        """
        call_id = self.spec.calls[index].call_id
        if index >= self._ahead_end:
            self._read_ahead(index)
        source = self._ahead.pop(call_id, None)
        completed = self._ahead_redactions.pop(call_id, [])
        fresh = False
        while source is not None:
            row, wrapped = source
            found: ExportedCall | None = None
            first, failure = b"", None
            if not row.redacting:
                try:
                    found = self.reader.open_export(row, wrapped)
                    first = found.audio.read(PIECE)
                except Exception as exc:  # judged below, by the call's state as of now
                    failure = exc
            try:
                state = self.reader.audio_state(call_id)
            except BaseException:
                _close(found)
                raise
            if state is None or state.status not in READABLE:
                _close(found)
                return None
            if failure is None and found is not None and serves(state, row.blob_key):
                if not fresh:
                    return found, first, _redactions_json(completed)
                try:
                    return found, first, redactions_of(self.reader.runtime.engine, call_id)
                except BaseException:
                    _close(found)
                    raise
            _close(found)
            if failure is not None and serves(state, row.blob_key):
                # The call is readable, and its blob is the one read: the failure is its own.
                if isinstance(failure, FileNotFoundError):
                    return None  # the blob is gone (its erasure under way): nothing to send
                raise failure
            self._wait_for_redaction(call_id)
            fresh = True
            source = self.reader.export_sources([call_id]).get(call_id)
        return None

    def _audio(
        self, call_id: str, found: ExportedCall, first: bytes, sha512: _Digest
    ) -> Iterator[bytes]:
        """The decrypted audio a piece at a time (the first read and checked by ``_open``);
        stops (ReadRevoked) at the first piece after its call stopped being readable or its
        audio was swapped by a redaction: no byte of a call erased meanwhile is sent."""
        self._current = call_id
        piece, pieces = first, 0
        with found.audio as audio:
            while piece:
                sha512.update(piece)
                pieces += 1
                yield piece
                try:
                    piece = audio.read(PIECE)
                except Exception:
                    if not serves(self.reader.audio_state(call_id), found.blob_key):
                        raise ReadRevoked(call_id) from None
                    raise
                # A piece read is checked before it is handed on. So is the end of a call of
                # more pieces than one: its last piece (held back to leave with the call's
                # small files) has not left yet, and the stream paused while the one before
                # was sent. A call of one piece was checked by ``_open`` just before.
                if (piece or pieces > 1) and not serves(
                    self.reader.audio_state(call_id), found.blob_key
                ):
                    raise ReadRevoked(call_id)

    # -- the whole package -----------------------------------------------------------------

    def stream(self) -> Iterator[bytes]:
        self._hasher = ThreadPoolExecutor(1, thread_name_prefix="export-hash")
        try:
            yield from self._stream()
        finally:
            self._hasher.shutdown(cancel_futures=True)

    def _stream(self) -> Iterator[bytes]:
        rows: list[_Row] = []
        with zipfile.ZipFile(self._sink, "w", allowZip64=True) as archive:  # type: ignore[call-overload]
            for index, call in enumerate(self.spec.calls):
                row = _Row(call.call_id, call.session_id, _iso(call.start_time), ERASED)
                rows.append(row)
                opened = self._open(index)
                if opened is None:
                    continue  # erased (or being erased) since the export was made: no files
                found, first, row.redactions = opened
                row.state, row.details = INCLUDED, found.details
                ext = _EXTENSIONS.get((found.audio_format or "").lower()) or (
                    _EXTENSIONS_BY_TYPE.get(found.content_type.split(";")[0].lower(), "bin")
                )
                base = f"calls/{call.call_id}"
                row.audio_path = f"{base}/audio.{ext}"
                # The audio's hashes as sealed with the call; else (a call stored before they
                # were kept) computed as it streams, on a thread of their own.
                known = found.digests
                sha256 = None if known is None else Known(known.sha256)
                sha512 = OffThread("sha512", self._hasher) if known is None else Known(known.sha512)
                yield from self._entry(
                    archive,
                    row.audio_path,
                    self._audio(call.call_id, found, first, sha512),
                    big=True,
                    sha256=sha256,
                )
                audio_file = self.files[-1]
                details = _json(found.details, compact=True)
                yield from self._entry(archive, f"{base}/call.json", [details])
                vcon = self._vcon(found, ext, audio_file, sha512.digest())
                yield from self._entry(archive, f"{base}/call.vcon.json", [_json(vcon, True)])
                # The call's small files leave with its last piece, before the next call is
                # opened (which may wait for a redaction): nothing of a call is held back past
                # its turn. Until they have left, the download's watch asks after this call.
                yield self._sink.take()
                self._current = None
            yield from self._entry(archive, "calls.csv", [self._csv(rows)], compress=True)
            yield from self._entry(archive, "index.html", [self._html(rows)], compress=True)
            manifest = _json(self._manifest(rows))
            # manifest.json is written like the others (its own ``files`` cannot list it).
            yield from self._entry(archive, "manifest.json", [manifest], compress=True)
            claims = {
                "iss": self.spec.instance,
                "iat": int(time.time()),
                "exportId": self.spec.export_id,
                "manifestSha256": hashlib.sha256(manifest).hexdigest(),
            }
            jws = self.sign(claims, MANIFEST_TYPE).encode()
            yield from self._entry(archive, "manifest.jws", [jws], compress=True)
        yield self._sink.take()  # what is left, and the central directory

    # -- the documents ---------------------------------------------------------------------

    def _manifest(self, rows: list[_Row]) -> dict[str, Any]:
        spec = self.spec
        return {
            "exportId": spec.export_id,
            "reference": spec.reference,
            "instance": spec.instance,
            "createdAt": _iso(spec.created_at),
            "generatedAt": _iso(self.generated_at),
            "requestedBy": spec.requested_by,
            "subject": spec.subject,
            "calls": [
                {
                    "callId": r.call_id,
                    "sessionId": r.session_id,
                    "startTime": r.start_time,
                    "state": r.state,
                    "redactions": r.redactions,
                }
                for r in rows
            ],
            "files": list(self.files),
        }

    def _csv(self, rows: list[_Row]) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_HEADER)
        for r in rows:
            d = r.details or {}
            duration = d.get("durationSec")
            writer.writerow(
                [
                    r.call_id,
                    r.session_id,
                    r.start_time or "",
                    _csv_safe(d.get("direction") or ""),
                    "" if duration is None else round(duration, 3),
                    r.state,
                ]
            )
        return out.getvalue().encode()

    def _html(self, rows: list[_Row]) -> bytes:
        items = []
        for r in rows:
            d = r.details or {}
            items.append(
                {
                    "call_id": r.call_id,
                    "session_id": r.session_id,
                    "start_time": r.start_time,
                    "state": r.state,
                    "direction": d.get("direction"),
                    "duration": d.get("durationSec"),
                    "parties": [_party_label(c) for c in d.get("contacts", [])],
                    "audio": r.audio_path,
                }
            )
        page = _TEMPLATES.get_template("index.html").render(
            export_id=self.spec.export_id,
            reference=self.spec.reference,
            instance=self.spec.instance,
            generated_at=_iso(self.generated_at),
            calls=items,
        )
        return page.encode()

    def _vcon(
        self, found: ExportedCall, ext: str, audio: dict[str, Any], sha512: bytes
    ) -> dict[str, Any]:
        """The call as a vCon (draft-ietf-vcon-vcon-core, JSON form) that the ``vcon`` package
        0.3.x also loads and validates: ``mimetype`` beside ``mediatype``, and its hash form
        (``alg`` sha256, ``signature`` base64url) beside ``content_hash`` (sha512-base64url)."""
        d = found.details
        parties = [_party(c, self.spec.default_region) for c in d.get("contacts", [])]
        mediatype, mimetype = _VCON_TYPES.get(ext, (found.content_type, found.content_type))
        dialog: dict[str, Any] = {
            "type": "recording",
            "start": d.get("startTime"),
            "parties": list(range(len(parties))),
            "mediatype": mediatype,
            "mimetype": mimetype,
            "filename": audio["path"].rsplit("/", 1)[-1],
            "content_hash": "sha512-" + _b64url(sha512),
            "alg": "sha256",
            "encoding": "none",
            "signature": _b64url(bytes.fromhex(audio["sha256"])),
        }
        if d.get("durationSec") is not None:
            dialog["duration"] = d["durationSec"]
        namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"callvault:{self.spec.instance}")
        raw = bytearray(hashlib.sha256(f"{namespace}:{d['callId']}".encode()).digest()[:16])
        raw[6] = (raw[6] & 0x0F) | 0x80  # UUID version 8, as the draft asks
        raw[8] = (raw[8] & 0x3F) | 0x80
        return {
            "vcon": "0.0.2",
            "uuid": str(uuid.UUID(bytes=bytes(raw))),
            "created_at": _iso(self.generated_at),
            "subject": f"call {d['callId']}",
            "redacted": {},
            "group": [],
            "parties": parties,
            "dialog": [dialog],
            "attachments": [
                {
                    "type": "metadata",
                    "purpose": "metadata",
                    "start": d.get("startTime"),
                    "party": 0,
                    "mediatype": "application/json",
                    "encoding": "json",
                    "body": json.dumps(
                        {
                            "callId": d["callId"],
                            "sessionId": d["sessionId"],
                            "masterCallId": d.get("masterCallId"),
                            "direction": d.get("direction"),
                            "numberDialed": d.get("numberDialed"),
                            "metadata": d.get("metadata"),
                        },
                        ensure_ascii=False,
                    ),
                }
            ],
            "analysis": [],
        }


def _json(doc: Any, compact: bool = False) -> bytes:
    """UTF-8 JSON; the manifest indented for a person, a call's files compact (a thousand a
    package)."""
    if compact:
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    return json.dumps(doc, ensure_ascii=False, indent=2).encode()


@functools.lru_cache(maxsize=1024)
def _e164(phone: str, region: str) -> str | None:
    """A contact's number in E.164 (a customer's calls repeat it: parsed once)."""
    return to_e164(phone, region)


def _csv_safe(value: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def _name(contact: dict[str, Any]) -> str | None:
    name = " ".join(p for p in (contact.get("firstName"), contact.get("lastName")) if p)
    return name or None


def _party(contact: dict[str, Any], region: str) -> dict[str, Any]:
    party: dict[str, Any] = {"role": str(contact.get("type") or "unknown").lower()}
    # E.164 where known: as capture read it, in the capturing user's region (kept with the
    # call); a call stored before that was kept is read in the instance's default region. A
    # number that is no E.164 number is no tel URI.
    e164 = contact.get("phoneE164")
    phone = contact.get("phoneNumber")
    if not isinstance(e164, str) and isinstance(phone, str) and phone:
        e164 = _e164(phone, region)
    if isinstance(e164, str) and e164:
        party["tel"] = e164
    email = contact.get("email")
    if isinstance(email, str) and email:
        party["mailto"] = email
    name = _name(contact)
    if name:
        party["name"] = name
    return party


def _party_label(contact: dict[str, Any]) -> str:
    bits = [str(contact.get("type") or "Contact")]
    name = _name(contact)
    if name:
        bits.append(name)
    for key in ("phoneNumber", "email"):
        if contact.get(key):
            bits.append(str(contact[key]))
    return " · ".join(bits)
