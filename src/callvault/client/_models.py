"""Typed results of the SDK (plain frozen dataclasses built from the server's JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Held: a legal hold stops the erasure until it is released, which may be months away.
FINAL_ITEM_STATUSES = frozenset({"Purged", "NotFound", "WhatIf", "Error", "Held", "Cancelled"})


@dataclass(frozen=True)
class PurgeItem:
    """One ID of a purge: what the server answered for it."""

    id: str | None  # the ID asked for (None for customer matches)
    call_id: str | None
    session_id: str | None
    status: str
    error_msg: str | None = None
    request_id: str | None = None

    @classmethod
    def from_json(cls, doc: dict[str, Any], asked: str | None, request_id: str | None) -> PurgeItem:
        return cls(
            id=asked,
            call_id=doc.get("callId"),
            session_id=doc.get("sessionId"),
            status=str(doc.get("status")),
            error_msg=doc.get("errorMsg"),
            request_id=request_id,
        )


@dataclass(frozen=True)
class PurgeResult:
    """Items in input order (one per distinct ID) and the server requests they came from."""

    items: list[PurgeItem]
    request_ids: list[str] = field(default_factory=list)
    # A customer preview's: pass it as ``confirm=`` to purge exactly the calls it showed.
    confirm_token: str | None = None

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in self.items:
            out[item.status] = out.get(item.status, 0) + 1
        return out


@dataclass(frozen=True)
class PurgeRequestItem:
    call_id: str | None
    session_id: str | None
    status: str
    error_msg: str | None
    erased_at: str | None
    hold_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class PurgeRequest:
    request_id: str
    created_at: str
    kind: str
    what_if: bool
    requested_by: str
    state: str
    items: list[PurgeRequestItem]
    erase_after: str | None = None  # with a grace window: when erasure starts
    suppression_id: str | None = None  # made with the purge (suppress=True)
    reference: str | None = None  # the privacy program's ticket it answers

    @property
    def done(self) -> bool:
        """Nothing left to wait for: Complete, Failed, or Held (until a hold is released)."""
        return self.state != "Purging"

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> PurgeRequest:
        return cls(
            request_id=doc["requestId"],
            created_at=doc.get("createdAt", ""),
            kind=doc.get("kind", ""),
            what_if=bool(doc.get("whatIf")),
            requested_by=doc.get("requestedBy", ""),
            state=doc["state"],
            erase_after=doc.get("eraseAfter"),
            suppression_id=doc.get("suppressionId"),
            reference=doc.get("reference"),
            items=[
                PurgeRequestItem(
                    call_id=i.get("callId"),
                    session_id=i.get("sessionId"),
                    status=i["status"],
                    error_msg=i.get("errorMsg"),
                    erased_at=i.get("erasedAt"),
                    hold_ids=tuple(i.get("holdIds") or ()),
                )
                for i in doc.get("items", [])
            ],
        )


@dataclass(frozen=True)
class PurgeRequestSummary:
    """A purge request as ``list_requests`` lists it: without its items, their count instead."""

    request_id: str
    created_at: str
    kind: str
    what_if: bool
    requested_by: str
    state: str
    completed_at: str | None
    item_count: int
    erase_after: str | None = None  # with a grace window: when erasure starts
    reference: str | None = None  # the privacy program's ticket it answers

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> PurgeRequestSummary:
        return cls(
            request_id=doc["requestId"],
            created_at=doc.get("createdAt", ""),
            kind=doc.get("kind", ""),
            what_if=bool(doc.get("whatIf")),
            requested_by=doc.get("requestedBy", ""),
            state=doc["state"],
            completed_at=doc.get("completedAt"),
            item_count=int(doc.get("itemCount", 0)),
            erase_after=doc.get("eraseAfter"),
            reference=doc.get("reference"),
        )


@dataclass(frozen=True)
class AuditRecord:
    """One event of the audit trail: who did what, when, to which request or call. ``details``
    never holds a personal value (keyed hashes, counts, IDs); ``hash`` chains it to the event
    before (``prev_hash``)."""

    seq: int
    at: datetime  # UTC
    actor: str
    action: str
    request_id: str | None
    call_id: str | None
    session_id: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> AuditRecord:
        return cls(
            seq=int(doc["seq"]),
            at=datetime.fromisoformat(str(doc["at"]).replace("Z", "+00:00")),
            actor=doc.get("actor", ""),
            action=doc.get("action", ""),
            request_id=doc.get("requestId"),
            call_id=doc.get("callId"),
            session_id=doc.get("sessionId"),
            details=dict(doc.get("details") or {}),
            prev_hash=doc.get("prevHash", ""),
            hash=doc.get("hash", ""),
        )


@dataclass(frozen=True)
class CallStatus:
    call_id: str | None
    session_id: str
    status: str
    duration_sec: int | None  # whole seconds; absent until the audio is measured

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> CallStatus:
        return cls(
            call_id=doc.get("callId"),
            session_id=doc["sessionId"],
            status=doc["status"],
            duration_sec=doc.get("durationSec"),
        )


@dataclass(frozen=True)
class Progress:
    """Reported to a progress callback after each chunk of a long operation."""

    done: int
    total: int
    stage: str  # "submit" or "wait"


@dataclass(frozen=True)
class Hold:
    """A legal hold: the calls it covers cannot be erased until it is released."""

    hold_id: str
    matter: str
    reason: str
    state: str  # Active | Released
    created_by: str
    created_at: str
    released_by: str | None
    released_at: str | None
    release_reason: str | None
    call_ids: tuple[str, ...]
    session_ids: tuple[str, ...]
    phone_numbers: tuple[str, ...]  # E.164
    started_after: str | None
    started_before: str | None
    covered_calls: int
    # What releasing the hold sets off: calls whose erasure it alone keeps, and their requests.
    pending_calls: int = 0
    pending_request_ids: tuple[str, ...] = ()
    reference: str | None = None  # the privacy program's ticket it answers

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Hold:
        scope = doc.get("scope") or {}
        return cls(
            hold_id=doc["holdId"],
            matter=doc.get("matter", ""),
            reason=doc.get("reason", ""),
            state=doc.get("state", ""),
            created_by=doc.get("createdBy", ""),
            created_at=doc.get("createdAt", ""),
            released_by=doc.get("releasedBy"),
            released_at=doc.get("releasedAt"),
            release_reason=doc.get("releaseReason"),
            call_ids=tuple(scope.get("callIds") or ()),
            session_ids=tuple(scope.get("sessionIds") or ()),
            phone_numbers=tuple(scope.get("phoneNumbers") or ()),
            started_after=scope.get("startedAfter"),
            started_before=scope.get("startedBefore"),
            covered_calls=int(doc.get("coveredCalls", 0)),
            pending_calls=int((doc.get("pendingErasures") or {}).get("calls", 0)),
            pending_request_ids=tuple((doc.get("pendingErasures") or {}).get("requestIds") or ()),
            reference=doc.get("reference"),
        )


@dataclass(frozen=True)
class Suppression:
    """A suppression: captures of the callers it names store nothing. Its identifiers are
    keyed hashes on the server, never shown: only how many there are."""

    suppression_id: str
    state: str  # Active | Lifted | Expired
    identifiers: int
    reason: str
    reference: str | None
    created_by: str
    created_at: str
    expires_at: str | None
    lifted_by: str | None = None
    lifted_at: str | None = None
    lift_reason: str | None = None
    request_id: str | None = None  # the customer purge that made it

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Suppression:
        return cls(
            suppression_id=doc["suppressionId"],
            state=doc.get("state", ""),
            identifiers=int(doc.get("identifiers", 0)),
            reason=doc.get("reason", ""),
            reference=doc.get("reference"),
            created_by=doc.get("createdBy", ""),
            created_at=doc.get("createdAt", ""),
            expires_at=doc.get("expiresAt"),
            lifted_by=doc.get("liftedBy"),
            lifted_at=doc.get("liftedAt"),
            lift_reason=doc.get("liftReason"),
            request_id=doc.get("requestId"),
        )


@dataclass(frozen=True)
class Webhook:
    """A webhook: ``events`` are POSTed to ``url``, signed (Standard Webhooks). ``secret``
    (``whsec_…``) is known only in the answer that created it: keep it for the receiver."""

    webhook_id: str
    url: str
    events: list[str]
    created_by: str
    created_at: str
    secret: str | None = None

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Webhook:
        return cls(
            webhook_id=doc["webhookId"],
            url=doc.get("url", ""),
            events=[str(e) for e in doc.get("events", [])],
            created_by=doc.get("createdBy", ""),
            created_at=doc.get("createdAt", ""),
            secret=doc.get("secret"),
        )


@dataclass(frozen=True)
class WebhookAttempt:
    """One attempt of a webhook delivery: its HTTP status or error, and the next try (None once
    delivered or given up)."""

    delivery_id: str  # the webhook-id header, the same at every attempt of a delivery
    type: str
    attempt: int
    at: str
    http_status: int | None
    error: str | None
    next_try_at: str | None
    state: str  # Pending | Delivered | Failed

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> WebhookAttempt:
        return cls(
            delivery_id=doc["deliveryId"],
            type=doc.get("type", ""),
            attempt=int(doc.get("attempt", 0)),
            at=doc.get("at", ""),
            http_status=doc.get("httpStatus"),
            error=doc.get("error"),
            next_try_at=doc.get("nextTryAt"),
            state=doc.get("state", ""),
        )


@dataclass(frozen=True)
class RetentionPolicy:
    """A retention policy: calls of ``direction`` (every call when None) are erased once their
    start time is more than ``max_age_days`` old. ``expired_now``: calls past it now, not held
    and not already being erased (the next sweep queues them)."""

    name: str
    max_age_days: int
    direction: str | None
    updated_by: str
    updated_at: str
    expired_now: int
    # Calls past it now that legal holds keep (erased when released).
    held_now: int = 0
    # A preview's token (``what_if``), to save exactly that change with ``confirm``.
    confirm_token: str | None = None

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> RetentionPolicy:
        return cls(
            name=doc["name"],
            max_age_days=int(doc["maxAgeDays"]),
            direction=doc.get("direction"),
            updated_by=doc.get("updatedBy", ""),
            updated_at=doc.get("updatedAt", ""),
            expired_now=int(doc.get("expiredNow", 0)),
            held_now=int(doc.get("heldNow", 0)),
            confirm_token=doc.get("confirmToken"),
        )


@dataclass(frozen=True)
class ForecastDay:
    date: str  # YYYY-MM-DD, UTC
    calls: int


@dataclass(frozen=True)
class RetentionForecast:
    """Calls retention erases on each coming day, those already due, and those holds keep."""

    days: tuple[ForecastDay, ...]
    overdue: int
    held: int

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> RetentionForecast:
        return cls(
            days=tuple(ForecastDay(d["date"], int(d["calls"])) for d in doc.get("days", ())),
            overdue=int(doc.get("overdue", 0)),
            held=int(doc.get("held", 0)),
        )


@dataclass(frozen=True)
class Export:
    """A subject access export (contract §20). ``download_url`` only in the answer that made
    it (a path on the server with the link's token: hand it to the caller, or download it)."""

    export_id: str
    created_at: str
    requested_by: str
    reference: str | None
    calls: int
    state: str  # Ready | Expired | Revoked
    expires_at: str
    downloads: int
    max_downloads: int
    download_url: str | None = None

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Export:
        return cls(
            export_id=doc["exportId"],
            created_at=doc.get("createdAt", ""),
            requested_by=doc.get("requestedBy", ""),
            reference=doc.get("reference"),
            calls=int(doc.get("calls", 0)),
            state=doc.get("state", ""),
            expires_at=doc.get("expiresAt", ""),
            downloads=int(doc.get("downloads", 0)),
            max_downloads=int(doc.get("maxDownloads", 0)),
            download_url=doc.get("downloadUrl"),
        )


@dataclass(frozen=True)
class ExportPreview:
    """What an export would cover (``what_if``): each call's ID, session ID and start."""

    calls: int
    items: list[dict[str, Any]]


@dataclass(frozen=True)
class Redaction:
    """A redaction (contract §21): time ranges of a call's audio replaced by silence."""

    redaction_id: str
    call_id: str
    state: str  # Redacting | Redacted | Failed
    ranges: list[tuple[int, int]]  # (startMs, endMs), merged
    redacted_ms: int
    reason: str
    reference: str | None
    requested_by: str
    created_at: str
    completed_at: str | None = None
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.state != "Redacting"

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Redaction:
        ranges = [(int(r["startMs"]), int(r["endMs"])) for r in doc.get("ranges", [])]
        return cls(
            redaction_id=doc["redactionId"],
            call_id=doc["callId"],
            state=doc.get("state", ""),
            ranges=ranges,
            redacted_ms=int(doc.get("redactedMs", sum(b - a for a, b in ranges))),
            reason=doc.get("reason", ""),
            reference=doc.get("reference"),
            requested_by=doc.get("requestedBy", ""),
            created_at=doc.get("createdAt", ""),
            completed_at=doc.get("completedAt"),
            error=doc.get("errorMsg"),
        )


@dataclass(frozen=True)
class RedactionPreview:
    """What a redaction would do (``what_if``): the merged ranges, how much, of how long."""

    ranges: list[tuple[int, int]]
    redacted_ms: int
    duration_ms: int

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> RedactionPreview:
        return cls(
            ranges=[(int(r["startMs"]), int(r["endMs"])) for r in doc["ranges"]],
            redacted_ms=int(doc["redactedMs"]),
            duration_ms=int(doc["durationMs"]),
        )


@dataclass(frozen=True)
class RedactionSuggestion:
    """A run of DTMF keypad tones (a card number keyed on a phone): where, and how many tones;
    never the digits."""

    start_ms: int
    end_ms: int
    kind: str
    tones: int

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> RedactionSuggestion:
        return cls(int(doc["startMs"]), int(doc["endMs"]), str(doc["kind"]), int(doc["tones"]))
