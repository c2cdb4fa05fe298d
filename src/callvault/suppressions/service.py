"""Suppressions: a caller who objected is not recorded again (contract §22).

A suppression names phone numbers and e-mail addresses, normalized exactly as customer purges and
captures index them (``phone.index_form`` in the asking user's region, ``emails.index_form``) and
stored **only** as the blind index's keyed hashes (``KeyRing.blind_index``): the list answers
"is this caller suppressed?" and cannot be read back, by anyone. Its reason is sealed under the
master key (people type personal data into reasons); the audit trail keeps a keyed hash of it.

Capture asks ``in_force`` once the ``info`` part is parsed, before the audio is read, and records
a refused capture with ``record_refused``: a tombstone (session ID, suppression ID, time, user,
the call ID answered) that answers status ``Excluded`` and is no live call. A customer purge with
``?suppress=true`` makes its suppression with ``make``, in the transaction that accepts it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from callvault import emails
from callvault.audit.trail import AuditEvent, AuditTrail
from callvault.errors import BadInput, Conflict, NotFound
from callvault.ids import new_request_id
from callvault.phone import index_form, unusable
from callvault.runtime import Runtime
from callvault.store import suppressions as store
from callvault.store.engine import write_transaction
from callvault.store.paging import cursor_of, position_of
from callvault.store.suppressions import ACTIVE, EXPIRED, LIFTED, SuppressionRow, Tombstone
from callvault.store.types import utcnow
from callvault.text import is_clean, reference_problem

MAX_REASON, MAX_REFERENCE, MAX_IDENTIFIERS = 2000, 200, 100
PAGE_DEFAULT, PAGE_MAX = 50, 100
STATES = {"active": ACTIVE, "lifted": LIFTED, "expired": EXPIRED, "all": None}
_TEXTS_PURPOSE = "suppression-texts"
# What a check looks up when it is given nothing it can hash: a digest no identifier has, so a
# check does the same work whatever it is asked.
_NOBODY = b"\x00" * 32


@dataclass(frozen=True)
class Identifiers:
    """A suppression's identifiers as a client gave them (validated by ``forms``)."""

    phone_numbers: Sequence[Any] = ()
    emails: Sequence[Any] = ()


def _text(name: str, value: Any, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadInput(f"{name} is required: a non-empty string of at most {limit} characters")
    if len(value) > limit:
        raise BadInput(f"{name} is {len(value)} characters long; at most {limit} are allowed")
    if not is_clean(value):
        raise BadInput(f"{name} must not contain NUL or lone surrogates")
    return value


def check_reference(value: Any) -> str | None:
    """A reference (contract §23): 1–200 printable characters, or None."""
    if value is None:
        return None
    problem = reference_problem(value)
    if problem is not None:
        raise BadInput(problem)
    return str(value)


def parse_expiry(value: Any, now: datetime) -> datetime | None:
    """``expiresAt``: an ISO 8601 time in the future (no offset: UTC), or None."""
    if value is None:
        return None
    if not isinstance(value, str) or not is_clean(value):
        raise BadInput("expiresAt must be an ISO 8601 time such as 2030-01-01T00:00:00Z")
    try:
        parsed = datetime.fromisoformat(value.strip())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise BadInput(
            "expiresAt is not an ISO 8601 time; give e.g. 2030-01-01T00:00:00Z"
        ) from None
    if parsed <= now:
        raise BadInput(
            "expiresAt is in the past: a suppression ends in the future, or never "
            "(leave expiresAt out); to end one now, lift it"
        )
    return parsed


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


class SuppressionService:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.trail = AuditTrail(runtime.keys.audit_chain_key)

    # ------------------------------------------------------------------ identifiers

    def forms(self, given: Identifiers, region: str | None) -> list[str]:
        """The index forms of ``given`` (phones read in ``region``, else the instance's
        default): 400 naming the field, never the value, for one that cannot be used."""
        region = region or self.runtime.settings.default_region
        for name, values in (("phoneNumbers", given.phone_numbers), ("emails", given.emails)):
            if len(values) > MAX_IDENTIFIERS:
                raise BadInput(
                    f"{name} has {len(values)} entries; a suppression takes at most "
                    f"{MAX_IDENTIFIERS}"
                )
        found: list[str] = []
        for i, raw in enumerate(given.phone_numbers):
            found.append(self.phone_form(f"phoneNumbers[{i}]", raw, region))
        for i, raw in enumerate(given.emails):
            found.append(self.email_form(f"emails[{i}]", raw))
        if not found:
            raise BadInput(
                "a suppression needs at least one identifier: a phone number (phoneNumbers) "
                "or an e-mail address (emails)"
            )
        return list(dict.fromkeys(found))

    @staticmethod
    def phone_form(field: str, raw: Any, region: str) -> str:
        form = index_form(raw, region) if isinstance(raw, str) and is_clean(raw) else None
        if form is None:
            raise BadInput(
                unusable(field, raw) if isinstance(raw, str) else f"{field} must be a string"
            )
        return form

    @staticmethod
    def email_form(field: str, raw: Any) -> str:
        if not isinstance(raw, str) or not is_clean(raw):
            raise BadInput(f"{field} must be a string")
        try:
            return emails.index_form(raw)
        except emails.InvalidEmail as exc:
            raise BadInput(f"{field} is not an e-mail address: {exc}") from None

    def _one(self, phone: Any, email: Any, region: str | None) -> str:
        """The form of a lookup's or a check's one identifier."""
        if (phone is None) == (email is None):
            raise BadInput("give exactly one of phoneNumber and email")
        if phone is not None:
            return self.phone_form(
                "phoneNumber", phone, region or self.runtime.settings.default_region
            )
        return self.email_form("email", email)

    # ------------------------------------------------------------------ operations

    def create(
        self,
        given: Identifiers,
        reason: Any,
        reference: Any,
        expires_at: Any,
        actor: str,
        region: str | None = None,
    ) -> dict[str, Any]:
        """Suppress the callers ``given`` names; national numbers read in ``region``."""
        reason = _text("reason", reason, MAX_REASON)
        reference = check_reference(reference)
        now = utcnow()
        expires = parse_expiry(expires_at, now)
        forms = self.forms(given, region)
        with write_transaction(self.runtime.engine) as conn:
            row, event = self.make(conn, forms, reason, actor, now, reference, expires)
            self.trail.append(conn, [event])
        return self._json(row, now)

    def make(
        self,
        conn: Connection,
        forms: Sequence[str],
        reason: str,
        actor: str,
        now: datetime | None = None,
        reference: str | None = None,
        expires_at: datetime | None = None,
        request_id: str | None = None,
    ) -> tuple[SuppressionRow, AuditEvent]:
        """Write a suppression of ``forms`` in the caller's transaction; the caller appends the
        returned ``suppression.created`` event (the purge service, with its batch's events)."""
        now = now or utcnow()
        keys = self.runtime.keys
        suppression_id = new_request_id()
        digests = [keys.blind_index(f) for f in forms]
        values = {
            "suppression_id": suppression_id,
            "state": ACTIVE,
            "identifiers": len(set(forms)),
            "created_by": actor,
            "created_at": now,
            "expires_at": expires_at,
            "lifted_by": None,
            "lifted_at": None,
            "reference": reference,
            "request_id": request_id,
            "sealed_texts": self._seal(suppression_id, reason, None),
        }
        store.insert_suppression(conn, values, digests)
        event = AuditEvent(
            "suppression.created",
            actor,
            request_id,
            details={
                "suppressionId": suppression_id,
                "identifiers": values["identifiers"],
                # A keyed hash, never the text: people type personal data into reasons.
                "reasonHash": keys.audit_hash(reason),
                "reference": reference,
                "expiresAt": _iso(expires_at),
            },
        )
        row = store.get_suppression(conn, suppression_id)
        assert row is not None
        return row, event

    def get(self, suppression_id: str) -> dict[str, Any]:
        with self.runtime.engine.connect() as conn:
            return self._json(self._get(conn, suppression_id), utcnow())

    def page(
        self,
        state: str | None,
        limit: int = PAGE_DEFAULT,
        cursor: str | None = None,
        reference: str | None = None,
    ) -> dict[str, Any]:
        """A page of suppressions, newest first, with ``nextCursor`` while more follow.
        ``state``: Active, Lifted, Expired or all (the default)."""
        wanted = (state or "all").lower()
        if wanted not in STATES:
            raise BadInput(f"state must be Active, Lifted, Expired or all, not {state!r}")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= PAGE_MAX:
            raise BadInput(f"limit must be a whole number from 1 to {PAGE_MAX}")
        reference = check_reference(reference)
        after = None if cursor is None else position_of(cursor)
        now = utcnow()
        with self.runtime.engine.connect() as conn:
            rows = store.page_suppressions(conn, STATES[wanted], reference, limit + 1, after, now)
        page: dict[str, Any] = {"suppressions": [self._json(r, now) for r in rows[:limit]]}
        if len(rows) > limit:
            page["nextCursor"] = cursor_of(
                rows[limit - 1].created_at, rows[limit - 1].suppression_id
            )
        return page

    def lift(self, suppression_id: str, reason: Any, actor: str) -> dict[str, Any]:
        """End a suppression: captures received from now on are stored again. 409 if lifted."""
        reason = _text("reason", reason, MAX_REASON)
        now = utcnow()
        with write_transaction(self.runtime.engine) as conn:
            row = self._get(conn, suppression_id)
            if row.state == LIFTED:
                raise Conflict(f"suppression {row.suppression_id} is already lifted")
            texts = self._open(row)
            sealed = self._seal(row.suppression_id, texts["reason"], reason)
            if not store.mark_lifted(conn, row.suppression_id, actor, now, sealed):
                raise Conflict(f"suppression {row.suppression_id} is already lifted")
            event = AuditEvent(
                "suppression.lifted",
                actor,
                # Not the purge request's: a lift must not change what its certificate says.
                details={
                    "suppressionId": row.suppression_id,
                    "liftReasonHash": self.runtime.keys.audit_hash(reason),
                },
            )
            self.trail.append(conn, [event])
            return self._json(self._get(conn, row.suppression_id), now)

    def lookup(self, phone: Any, email: Any, region: str | None = None) -> dict[str, Any]:
        """Whether a caller is suppressed now, and by which suppressions (``suppress`` or
        ``audit``)."""
        form = self._one(phone, email, region)
        ids = self.in_force([self.runtime.keys.blind_index(form)])
        return {"suppressed": bool(ids), "suppressionIds": ids}

    def check(self, phone: Any, email: Any, region: str | None = None) -> bool:
        """A recorder's question before it records: a bare yes or no. The same statement runs,
        with the same number of digests, whatever the answer."""
        form = self._one(phone, email, region)
        digests = [self.runtime.keys.blind_index(form), _NOBODY]
        return bool(self.in_force(digests))

    # ------------------------------------------------------------------ capture

    def in_force(self, digests: Sequence[bytes]) -> list[str]:
        """The suppressions in force now that name any of ``digests`` (sorted IDs)."""
        with self.runtime.engine.connect() as conn:
            return store.active_for(conn, digests, utcnow())

    def record_refused(
        self, call_id: str, session_id: str, suppression_id: str, actor: str
    ) -> None:
        """The tombstone of a capture refused for a suppressed caller, and its audit event
        (``capture.suppressed``: session ID, suppression ID, user; never the number)."""
        tombstone = Tombstone(call_id, session_id, suppression_id, utcnow())
        event = AuditEvent(
            "capture.suppressed",
            actor,
            None,
            call_id,
            session_id,
            details={"suppressionId": suppression_id},
        )
        with write_transaction(self.runtime.engine) as conn:
            store.insert_tombstone(conn, tombstone, actor)
            self.trail.append(conn, [event])

    @staticmethod
    def forget_refused(conn: Connection, session_id: str) -> None:
        """In a live capture's transaction: its session's tombstones answer no more."""
        store.delete_tombstones(conn, session_id)

    def refused(self, session_ids: Sequence[str]) -> dict[str, Tombstone]:
        """The latest refused capture of each session ID that has one (status ``Excluded``)."""
        with self.runtime.engine.connect() as conn:
            return store.tombstones_by_session(conn, session_ids)

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _get(conn: Connection, suppression_id: str) -> SuppressionRow:
        row = None
        if is_clean(suppression_id) and len(suppression_id) <= 64:
            row = store.get_suppression(conn, suppression_id)
        if row is None:
            raise NotFound("no suppression with that suppressionId")
        return row

    def _seal(self, suppression_id: str, reason: str, lift_reason: str | None) -> bytes:
        texts = {"reason": reason, "liftReason": lift_reason}
        return self.runtime.keys.seal_record(
            json.dumps(texts).encode(), f"{_TEXTS_PURPOSE}:{suppression_id}"
        )

    def _open(self, row: SuppressionRow) -> dict[str, Any]:
        texts: dict[str, Any] = json.loads(
            self.runtime.keys.open_record(
                row.sealed_texts, f"{_TEXTS_PURPOSE}:{row.suppression_id}"
            )
        )
        return texts

    def _json(self, row: SuppressionRow, now: datetime) -> dict[str, Any]:
        texts = self._open(row)
        return {
            "suppressionId": row.suppression_id,
            "state": row.state_at(now),
            "identifiers": row.identifiers,
            "reason": texts["reason"],
            "reference": row.reference,
            "createdBy": row.created_by,
            "createdAt": _iso(row.created_at),
            "expiresAt": _iso(row.expires_at),
            "liftedBy": row.lifted_by,
            "liftedAt": _iso(row.lifted_at),
            "liftReason": texts.get("liftReason"),
            "requestId": row.request_id,
        }
