"""The audit trail (paged) and Prometheus metrics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from callvault.api.deps import AuditUser, RuntimeDep
from callvault.api.routes.capture import PROBLEMS
from callvault.api.routes.schemas import AuditPageOut
from callvault.audit.trail import AuditTrail, event_json

router = APIRouter(tags=["audit"])


@router.get(
    "/audit/v1/events",
    operation_id="audit_events",
    summary="The append-only audit trail, oldest first, paged by sequence number",
    response_model=AuditPageOut,
    responses=PROBLEMS,
)
async def events(
    runtime: RuntimeDep,
    _user: AuditUser,
    after: Annotated[
        int, Query(ge=0, le=2**63 - 1, description="Return events after this seq.")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size.")] = 100,
) -> dict[str, Any]:
    def page() -> list[dict[str, Any]]:
        return [event_json(r) for r in AuditTrail.iter_rows(runtime.engine, after, limit + 1)]

    rows = await run_in_threadpool(page)
    more = len(rows) > limit
    rows = rows[:limit]
    return {"events": rows, "nextAfter": rows[-1]["seq"] if more else None}


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
