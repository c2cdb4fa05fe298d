"""The audit trail (paged, or streamed as JSON lines for a SIEM; contract §6 and §23) and
Prometheus metrics."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from callvault.api.deps import AuditUser, RuntimeDep, only_query
from callvault.api.routes.capture import PROBLEMS
from callvault.api.routes.schemas import AuditPageOut, CheckpointsOut
from callvault.audit.trail import AuditTrail, event_json
from callvault.capture.info import parse_time
from callvault.certificates.service import CertificateService
from callvault.errors import BadInput

router = APIRouter(tags=["audit"])
DEFAULT_PAGE = 100


JSONL = "application/jsonl"
PARAMETERS = ("after", "limit", "since", "until", "action", "format")
# An action's name: dotted lower-case words (call.captured, purge.not_resumed).
ACTION = re.compile(r"[a-z][a-z_]*(\.[a-z][a-z_]*)+")


@dataclass(frozen=True)
class AuditQuery:
    since: datetime | None
    until: datetime | None
    actions: tuple[str, ...]
    jsonl: bool


def audit_query(request: Request) -> AuditQuery:
    """The query's filters, read by hand so that every doubt is a 400 in this API's words: a
    parameter this list does not know, one given twice (but ``action``), a time that is none."""
    seen: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        if key not in PARAMETERS:
            raise BadInput(
                f"`{key}` is not a parameter of the audit trail; use {', '.join(PARAMETERS)}"
            )
        seen.setdefault(key, []).append(value)
    for key, values in seen.items():
        if key != "action" and len(values) > 1:
            raise BadInput(f"{key} is given more than once; give it once")

    def moment(name: str) -> datetime | None:
        if name not in seen:
            return None
        try:
            return parse_time(seen[name][0])
        except ValueError as exc:
            raise BadInput(f"{name}: {exc}") from None

    since, until = moment("since"), moment("until")
    if since is not None and until is not None and since >= until:
        raise BadInput("since must be earlier than until (since is inclusive, until exclusive)")
    actions = seen.get("action", [])
    for action in actions:
        if not ACTION.fullmatch(action):
            raise BadInput(
                f"action {action!r} is not an action's name; give one exactly, "
                "e.g. action=purge.requested (repeat it for several)"
            )
    output = seen.get("format", ["json"])[0]
    if output not in ("json", "jsonl"):
        raise BadInput(f"format must be json or jsonl (one event a line), not {output!r}")
    return AuditQuery(since, until, tuple(dict.fromkeys(actions)), output == "jsonl")


@router.get(
    "/audit/v1/events",
    operation_id="audit_events",
    summary="The append-only audit trail, oldest first: paged by sequence number, or streamed "
    "as JSON lines",
    response_model=AuditPageOut,
    responses={
        200: {
            "content": {
                JSONL: {"schema": {"type": "string"}},
            },
            "description": "A page of events; with format=jsonl, every matching event, one JSON "
            "object a line, streamed.",
        },
        **PROBLEMS,
    },
)
async def events(
    request: Request,
    runtime: RuntimeDep,
    _user: AuditUser,
    after: Annotated[
        int, Query(ge=0, le=2**63 - 1, description="Return events after this seq.")
    ] = 0,
    limit: Annotated[
        int | None,
        Query(ge=1, le=1000, description="Page size (default 100); with jsonl, a cap (none)."),
    ] = None,
    since: Annotated[
        str | None, Query(description="Only events at or after this ISO 8601 time.")
    ] = None,
    until: Annotated[
        str | None, Query(description="Only events before this ISO 8601 time.")
    ] = None,
    action: Annotated[
        list[str] | None,
        Query(description="Only events of this action (exact); repeat it for several."),
    ] = None,
    format: Annotated[
        Literal["json", "jsonl"] | None,
        Query(description="json (default): a page; jsonl: every event, one a line, streamed."),
    ] = None,
) -> Any:
    asked = audit_query(request)
    # Read your writes: events committed before this request are chained before it reads
    # (PostgreSQL sequences them shortly after their commit; SQLite at once).
    await run_in_threadpool(AuditTrail(runtime.keys.audit_chain_key).catch_up, runtime.engine)
    filters: dict[str, Any] = {
        "since": asked.since,
        "until": asked.until,
        "actions": asked.actions,
    }
    if asked.jsonl:
        lines = (
            json.dumps(event_json(row), separators=(",", ":")) + "\n"
            for row in AuditTrail.stream(runtime.engine, after, limit, **filters)
        )
        return StreamingResponse(lines, media_type=JSONL)
    size = DEFAULT_PAGE if limit is None else limit

    def page() -> list[dict[str, Any]]:
        found = AuditTrail.iter_rows(runtime.engine, after, size + 1, **filters)
        return [event_json(r) for r in found]

    rows = await run_in_threadpool(page)
    more = len(rows) > size
    rows = rows[:size]
    return {"events": rows, "nextAfter": rows[-1]["seq"] if more else None}


CHECKPOINT_PAGE_DEFAULT, CHECKPOINT_PAGE_MAX = 50, 100


@router.get(
    "/audit/v1/checkpoints",
    operation_id="audit_checkpoints",
    summary="Signed checkpoints of the audit chain's head, oldest first (contract §23)",
    response_model=CheckpointsOut,
    responses=PROBLEMS,
)
async def checkpoints(
    request: Request,
    _user: AuditUser,
    after: Annotated[
        int, Query(ge=0, le=2**63 - 1, description="Only checkpoints of events after this seq.")
    ] = 0,
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=CHECKPOINT_PAGE_MAX,
            description=f"Checkpoints a page, 1–{CHECKPOINT_PAGE_MAX}.",
        ),
    ] = CHECKPOINT_PAGE_DEFAULT,
    cursor: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9]{1,19}$",
            description="A previous page's nextCursor: the page after it.",
        ),
    ] = None,
) -> Any:
    only_query(request, "after", "limit", "cursor")
    start = after
    if cursor is not None:  # digits, 1 to 19 (the Query's pattern): at most a bigint
        start = max(start, min(int(cursor), 2**63 - 1))
    service: CertificateService = request.app.state.certificate_service
    found = await run_in_threadpool(service.checkpoints.page, start, limit + 1)
    more = len(found) > limit
    page = [c.json() for c in found[:limit]]
    return {"checkpoints": page, "nextCursor": str(page[-1]["seq"]) if more else None}


@router.get(
    "/metrics",
    operation_id="metrics",
    summary="Prometheus metrics (permission audit)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}, **PROBLEMS},
)
async def metrics(request: Request, _user: AuditUser) -> Response:
    registry = request.app.state.metrics.registry
    body = await run_in_threadpool(generate_latest, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
