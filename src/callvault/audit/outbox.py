"""The audit trail feeds the webhooks' outbox (contract §23).

Every event a webhook can announce is also an audit event, appended by ``AuditTrail.append`` in
the transaction of the writer that caused it. So the outbox is fed from that one place:
``record`` maps each appended event whose action is in ``ANNOUNCED`` to a webhook event type and
its ``data``, and ``store.webhooks.enqueue`` writes one delivery per subscribed webhook in the
same transaction: an event is never recorded without its deliveries, nor delivered without being
recorded. A service that appends one of these actions gets its webhooks without a call of its own.

``data`` is built from a fixed list of keys per action — IDs, states, counts, the reference —
and never copies a whole ``details``: no personal value (a number, an address, a name, nor a
hash of one) can reach a payload by a field added to an audit event later.

``purge.completed`` is not here: a request reaching Complete, Failed, Held or Cancelled is a
change of the request's row that no audit event marks, so the store announces it where the row
changes (``store/purges.py``, ``_announce``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import Connection

from callvault.store import webhooks as webhook_store


class AuditEvent(Protocol):
    """What is read of an appended ``trail.AuditEvent`` (structurally: no import of trail)."""

    @property
    def action(self) -> str: ...
    @property
    def request_id(self) -> str | None: ...
    @property
    def call_id(self) -> str | None: ...
    @property
    def session_id(self) -> str | None: ...
    @property
    def details(self) -> dict[str, Any]: ...


# Every webhook event type (contract §23), the order the docs list them in.
EVENT_TYPES = (
    "purge.completed",
    "redaction.completed",
    "export.created",
    "export.downloaded",
    "hold.placed",
    "hold.released",
    "suppression.created",
    "capture.suppressed",
)

Builder = Callable[[AuditEvent], dict[str, Any]]


def _pick(details: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {key: details.get(key) for key in keys}


def _hold_placed(event: AuditEvent) -> dict[str, Any]:
    return _pick(event.details, "holdId", "reference", "coveredCalls", "savedFromErasure")


def _hold_released(event: AuditEvent) -> dict[str, Any]:
    return _pick(event.details, "holdId", "reference", "resumedCalls")


def _suppression_created(event: AuditEvent) -> dict[str, Any]:
    data = _pick(event.details, "suppressionId", "reference", "identifiers", "expiresAt")
    return {**data, "requestId": event.request_id}


def _capture_suppressed(event: AuditEvent) -> dict[str, Any]:
    return {
        "callId": event.call_id,
        "sessionId": event.session_id,
        "suppressionId": event.details.get("suppressionId"),
    }


def _ids_and_counts(details: Mapping[str, Any]) -> dict[str, Any]:
    """For events whose services are built beside this one (exports, redactions): of their
    details, only what is safe whatever they add later — IDs (a key ending in ``Id``, a short
    string), the reference and the state, and whole numbers (counts, bytes). Never a hash, a
    text or a name."""

    def safe(key: str, value: Any) -> bool:
        if isinstance(value, str) and key.endswith("Id"):
            return len(value) <= 64
        if key in ("reference", "state"):
            return value is None or isinstance(value, str)
        return isinstance(value, int) and not isinstance(value, bool)

    return {key: value for key, value in details.items() if safe(key, value)}


def _export(event: AuditEvent) -> dict[str, Any]:
    data = {"reference": None, **_ids_and_counts(event.details)}
    if isinstance(event.details.get("complete"), bool):
        # A download the client stopped (or a purge cut) is announced as such.
        data["complete"] = event.details["complete"]
    return data


def _redaction(state: str) -> Builder:
    def build(event: AuditEvent) -> dict[str, Any]:
        data = {"reference": None, **_ids_and_counts(event.details)}
        # The redaction's ID is the event's request ID (as a purge request's is).
        if event.request_id is not None and "redactionId" not in data:
            data["redactionId"] = event.request_id
        return {**data, "callId": event.call_id, "state": state}

    return build


# audit action -> (webhook event type, the builder of its data). Redactions and exports are
# audited by their own services (contract §20, §21): a redaction done is ``call.redacted``, one
# that failed ``redaction.failed``; the export's actions are the webhook's own names.
ANNOUNCED: dict[str, tuple[str, Builder]] = {
    "hold.placed": ("hold.placed", _hold_placed),
    "hold.released": ("hold.released", _hold_released),
    "suppression.created": ("suppression.created", _suppression_created),
    "capture.suppressed": ("capture.suppressed", _capture_suppressed),
    "export.created": ("export.created", _export),
    "export.downloaded": ("export.downloaded", _export),
    "call.redacted": ("redaction.completed", _redaction("Redacted")),
    "redaction.failed": ("redaction.completed", _redaction("Failed")),
}


def record(conn: Connection, events: Sequence[AuditEvent]) -> None:
    """In the appender's transaction: the deliveries of the events webhooks announce."""
    for event in events:
        announced = ANNOUNCED.get(event.action)
        if announced is None:
            continue
        event_type, build = announced
        webhook_ids = webhook_store.subscribers(conn, event_type)
        if webhook_ids:
            webhook_store.enqueue(conn, event_type, build(event), webhook_ids)
