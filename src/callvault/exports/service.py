"""Subject access exports (contract §20): make, show, list, revoke, and hand over the package.

An export fixes the calls a caller's identifiers name when it is made (the resolver every purge
uses: ``purge.service.resolve_calls``), and keeps nothing of the package: each download builds it
from the encrypted store as it is sent (``exports/package.py``). Its link carries a token of 256
random bits that is stored only as its SHA-256; a wrong, revoked, expired or used-up token is
answered with one 410 body, whichever it is (no oracle).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from callvault.audit.trail import AuditEvent, AuditTrail
from callvault.capture.reads import READABLE, CallReader
from callvault.emails import INDEX_PREFIX
from callvault.errors import BadInput, Conflict, Gone, NotFound
from callvault.exports.age import encrypt_stream, recipient_problem
from callvault.exports.package import OffThread, Package, PackageSpec, Signer
from callvault.ids import new_request_id
from callvault.purge.service import checked_ids, checked_time, customer_forms, resolve_calls
from callvault.runtime import Runtime
from callvault.store import exports as export_store
from callvault.store.engine import write_transaction
from callvault.store.exports import READY, ExportCall, ExportRow
from callvault.store.paging import cursor_of, position_of
from callvault.store.types import utcnow
from callvault.text import is_clean, reference_problem

log = logging.getLogger(__name__)

MAX_CALLS, MAX_ENTRIES, MAX_RECIPIENTS = 10_000, 1000, 10
PAGE_DEFAULT, PAGE_MAX = 50, 100
_SUBJECT_PURPOSE = "export-subject"
# One answer for every link that does not work, whatever the reason (contract §20: no oracle).
LINK_GONE = (
    "this download link does not work (any more): it may have expired, been used up or been "
    "revoked; ask for a new export"
)


@dataclass(frozen=True)
class ExportAsk:
    """An export as a client asked it (validated by ``ExportService.create``)."""

    phone_numbers: Sequence[str] = ()
    emails: Sequence[str] = ()
    call_ids: Sequence[str] = ()
    session_ids: Sequence[str] = ()
    started_after: str | None = None
    started_before: str | None = None
    reference: str | None = None
    recipients: Sequence[str] = ()


@dataclass(frozen=True)
class Download:
    """A package on its way: its file name, media type and the bytes as they are made."""

    filename: str
    media_type: str
    chunks: Iterator[bytes]
    # False once the call being sent stops being readable: the response then ends (a reset).
    still_readable: Callable[[], bool]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


class ExportService:
    def __init__(self, runtime: Runtime, sign: Signer) -> None:
        self.runtime = runtime
        self.sign = sign
        self.trail = AuditTrail(runtime.keys.audit_chain_key)
        self.reader = CallReader(runtime)

    # ------------------------------------------------------------------ create

    def create(
        self, ask: ExportAsk, what_if: bool, actor: str, region: str | None = None
    ) -> dict[str, Any]:
        """Make an export (or, ``what_if``, say which calls it would cover and make nothing).
        National phone numbers are read in ``region`` (the asking user's, else the instance's
        default)."""
        if ask.reference is not None and (problem := reference_problem(ask.reference)):
            raise BadInput(problem)
        for name, given in (("phoneNumbers", ask.phone_numbers), ("emails", ask.emails)):
            if len(given) > MAX_ENTRIES:
                raise BadInput(
                    f"{name} has {len(given)} entries; an export takes at most {MAX_ENTRIES}"
                )
        forms = customer_forms(
            ask.phone_numbers, ask.emails, region or self.runtime.settings.default_region
        )
        call_ids = checked_ids("callIds", ask.call_ids, MAX_ENTRIES, "an export")
        session_ids = checked_ids("sessionIds", ask.session_ids, MAX_ENTRIES, "an export")
        after = checked_time("startedAfter", ask.started_after)
        before = checked_time("startedBefore", ask.started_before)
        if after is not None and before is not None and after >= before:
            raise BadInput("startedAfter must be earlier than startedBefore")
        if not (forms or call_ids or session_ids):
            raise BadInput(
                "an export needs at least one identifier of the person: phoneNumbers, emails, "
                "callIds or sessionIds (startedAfter/startedBefore only narrow them; a window "
                "alone names no one)"
            )
        recipients = list(dict.fromkeys(ask.recipients))
        if len(recipients) > MAX_RECIPIENTS:
            raise BadInput(
                f"recipients has {len(recipients)} keys; an export is encrypted to at most "
                f"{MAX_RECIPIENTS}"
            )
        for i, key in enumerate(recipients):
            if (problem := recipient_problem(key)) is not None:
                raise BadInput(f"recipients[{i}] {problem}")
        keys = self.runtime.keys
        digests = [keys.blind_index(form) for form in forms]
        with self.runtime.engine.connect() as conn:
            covered = self._covered(conn, digests, call_ids, session_ids, after, before)
        if what_if:
            return {
                "calls": len(covered),
                "items": [
                    {
                        "callId": c.call_id,
                        "sessionId": c.session_id,
                        "startTime": _iso(c.start_time),
                    }
                    for c in covered
                ],
            }
        export_id = new_request_id()
        token = secrets.token_urlsafe(32)
        now = utcnow()
        settings = self.runtime.settings
        subject = {
            "phoneNumbers": [f for f in forms if not f.startswith(INDEX_PREFIX)],
            "emails": [f[len(INDEX_PREFIX) :] for f in forms if f.startswith(INDEX_PREFIX)],
            "callIds": call_ids,
            "sessionIds": session_ids,
            "startedAfter": _iso(after),
            "startedBefore": _iso(before),
        }
        values: dict[str, Any] = {
            "export_id": export_id,
            "state": READY,
            "created_by": actor,
            "created_at": now,
            "expires_at": now + timedelta(hours=settings.export_link_hours),
            "reference": ask.reference,
            "calls": len(covered),
            "downloads": 0,
            "max_downloads": settings.export_max_downloads,
            "token_hash": _token_hash(token),
            "recipients": json.dumps(recipients),
            "sealed_subject": keys.seal_record(
                json.dumps(subject).encode(), f"{_SUBJECT_PURPOSE}:{export_id}"
            ),
        }
        hashes = [
            {"type": "email" if f.startswith(INDEX_PREFIX) else "phone", "hash": keys.audit_hash(f)}
            for f in forms
        ]
        hashes += [{"type": "callId", "hash": keys.audit_hash(c)} for c in call_ids]
        hashes += [{"type": "sessionId", "hash": keys.audit_hash(s)} for s in session_ids]
        created = AuditEvent(
            "export.created",
            actor,
            details={
                "exportId": export_id,
                # Keyed hashes, never the values: who the export is of is personal data.
                "subjectHashes": hashes,
                "startedAfter": _iso(after),
                "startedBefore": _iso(before),
                "calls": len(covered),
                "recipients": len(recipients),
                "expiresAt": _iso(values["expires_at"]),
                "maxDownloads": values["max_downloads"],
                **({} if ask.reference is None else {"reference": ask.reference}),
            },
        )
        with write_transaction(self.runtime.engine) as conn:
            export_store.insert_export(conn, values, covered)
            self.trail.append(conn, [created])
            row = export_store.get_export(conn, export_id)
        assert row is not None
        return self._json(row) | {"downloadUrl": f"/exports/v1/{export_id}/package?token={token}"}

    @staticmethod
    def _covered(
        conn: Connection,
        digests: list[bytes],
        call_ids: list[str],
        session_ids: list[str],
        after: datetime | None,
        before: datetime | None,
    ) -> list[ExportCall]:
        covered = []
        for call in resolve_calls(conn, digests, call_ids, session_ids):
            if call.status not in READABLE or call.start_time is None:
                continue  # being erased (Purging): no longer the caller's to read
            if after is not None and call.start_time < after:
                continue
            if before is not None and call.start_time >= before:
                continue
            covered.append(ExportCall(call.call_id, call.session_id, call.start_time))
        if len(covered) > MAX_CALLS:
            raise BadInput(
                f"these identifiers name {len(covered)} calls; an export holds at most "
                f"{MAX_CALLS}: narrow the window with startedAfter and startedBefore and make "
                "several exports"
            )
        return covered

    # ------------------------------------------------------------------ read, list, revoke

    def get(self, export_id: str) -> dict[str, Any]:
        with self.runtime.engine.connect() as conn:
            return self._json(self._get(conn, export_id))

    def page(
        self, limit: int = PAGE_DEFAULT, cursor: str | None = None, reference: str | None = None
    ) -> dict[str, Any]:
        """A page of exports, newest first, with ``nextCursor`` while more follow."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= PAGE_MAX:
            raise BadInput(f"limit must be a whole number from 1 to {PAGE_MAX}")
        after = None if cursor is None else position_of(cursor)
        if reference is not None and (problem := reference_problem(reference)):
            raise BadInput(problem)
        with self.runtime.engine.connect() as conn:
            rows = export_store.page_exports(conn, reference, limit + 1, after)
        page: dict[str, Any] = {"exports": [self._json(r) for r in rows[:limit]]}
        if len(rows) > limit:
            page["nextCursor"] = cursor_of(rows[limit - 1].created_at, rows[limit - 1].export_id)
        return page

    def revoke(self, export_id: str, actor: str) -> dict[str, Any]:
        with write_transaction(self.runtime.engine) as conn:
            row = self._get(conn, export_id)
            now = utcnow()
            if not export_store.mark_revoked(conn, export_id, actor, now):
                raise Conflict(
                    f"export {export_id} is {row.state_at(now)}, not Ready: only a Ready "
                    "export can be revoked"
                )
            event = AuditEvent("export.revoked", actor, details={"exportId": export_id})
            self.trail.append(conn, [event])
            revoked = export_store.get_export(conn, export_id)
        assert revoked is not None
        return self._json(revoked)

    # ------------------------------------------------------------------ download

    def download_by_link(self, export_id: str, token: str) -> Download:
        """The package, for the link's token: 410 with one body for a wrong, revoked, expired
        or used-up token, or an export that does not exist."""
        with write_transaction(self.runtime.engine) as conn:
            row = None
            if isinstance(export_id, str) and is_clean(export_id) and len(export_id) <= 64:
                row = export_store.get_export(conn, export_id)
            stored = row.token_hash if row is not None else b"\0" * 32
            good = hmac.compare_digest(_token_hash(token), stored)
            if row is None or not good or not export_store.take_download(conn, export_id, utcnow()):
                raise Gone(LINK_GONE)
        return self._download(row, "link", "link")

    def download_by_user(self, export_id: str, actor: str) -> Download:
        """The package, for an API user holding ``export``: 404 for an unknown export, 410 for
        one no longer Ready or out of downloads (a bearer download counts as a link's does)."""
        with write_transaction(self.runtime.engine) as conn:
            row = self._get(conn, export_id)
            if not export_store.take_download(conn, export_id, utcnow()):
                raise Gone(LINK_GONE)
        return self._download(row, actor, "token")

    def _download(self, row: ExportRow, actor: str, by: str) -> Download:
        subject = json.loads(
            self.runtime.keys.open_record(row.sealed_subject, f"{_SUBJECT_PURPOSE}:{row.export_id}")
        )
        with self.runtime.engine.connect() as conn:
            covered = export_store.covered_calls(conn, row.export_id)
        spec = PackageSpec(
            export_id=row.export_id,
            reference=row.reference,
            instance=self.runtime.settings.instance_name,
            created_at=row.created_at,
            requested_by=row.created_by,
            subject=subject,
            calls=covered,
            default_region=self.runtime.settings.default_region,
        )
        package = Package(spec, self.reader, self.sign)
        chunks = package.stream()
        name = f"callvault-export-{row.export_id}.zip"
        if row.recipients:
            chunks = encrypt_stream(chunks, row.recipients)
            name, media_type = name + ".age", "application/octet-stream"
        else:
            media_type = "application/zip"
        audited = self._audited(chunks, row, actor, by)
        return Download(name, media_type, audited, package.still_readable)

    def _audited(
        self, chunks: Iterator[bytes], row: ExportRow, actor: str, by: str
    ) -> Iterator[bytes]:
        """The bytes as sent, then ``export.downloaded`` with their count and SHA-256 (and
        whether the package was sent whole: a client may stop reading, a purge may cut it).
        The SHA-256 is computed on a thread of its own, beside the package's making."""
        worker = ThreadPoolExecutor(1, thread_name_prefix="export-sent-hash")
        digest, sent, complete = OffThread("sha256", worker), 0, False
        try:
            for chunk in chunks:
                if chunk:
                    digest.update(chunk)
                    sent += len(chunk)
                    yield chunk
            complete = True
        finally:
            sha256 = digest.digest().hex()
            worker.shutdown()
            event = AuditEvent(
                "export.downloaded",
                actor,
                details={
                    "exportId": row.export_id,
                    "by": by,
                    "bytes": sent,
                    "sha256": sha256,
                    "complete": complete,
                    **({} if row.reference is None else {"reference": row.reference}),
                },
            )
            try:
                with write_transaction(self.runtime.engine) as conn:
                    self.trail.append(conn, [event])
            except Exception:
                log.warning("the audit event of an export's download could not be written")

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _get(conn: Connection, export_id: str) -> ExportRow:
        row = None
        if isinstance(export_id, str) and is_clean(export_id) and len(export_id) <= 64:
            row = export_store.get_export(conn, export_id)
        if row is None:
            raise NotFound(f"no export with exportId {export_id!r}")
        return row

    @staticmethod
    def _json(row: ExportRow) -> dict[str, Any]:
        return {
            "exportId": row.export_id,
            "createdAt": _iso(row.created_at),
            "requestedBy": row.created_by,
            "reference": row.reference,
            "calls": row.calls,
            "state": row.state_at(utcnow()),
            "expiresAt": _iso(row.expires_at),
            "downloads": row.downloads,
            "maxDownloads": row.max_downloads,
        }
