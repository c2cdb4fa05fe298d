"""Typed results of the SDK (plain frozen dataclasses built from the server's JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FINAL_ITEM_STATUSES = frozenset({"Purged", "NotFound", "WhatIf", "Error"})


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


@dataclass(frozen=True)
class PurgeRequest:
    request_id: str
    created_at: str
    kind: str
    what_if: bool
    requested_by: str
    state: str
    items: list[PurgeRequestItem]

    @property
    def done(self) -> bool:
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
            items=[
                PurgeRequestItem(
                    call_id=i.get("callId"),
                    session_id=i.get("sessionId"),
                    status=i["status"],
                    error_msg=i.get("errorMsg"),
                    erased_at=i.get("erasedAt"),
                )
                for i in doc.get("items", [])
            ],
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
