"""Tethr call capture: upload (``archive``, v1's and v2's: ``capture_route``) and recorder
heartbeats (``monitor``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from starlette.concurrency import run_in_threadpool

from callvault.api.deps import AdminUser, CaptureUser, JsonBody, RuntimeDep
from callvault.api.problems import PROBLEM_SCHEMA
from callvault.api.routes.schemas import (
    HEARTBEAT_STATUSES,
    CaptureOut,
    HeartbeatIn,
    HeartbeatOut,
)
from callvault.api.routes.shapes import V1, Shape
from callvault.capture.reads import CallReader
from callvault.capture.service import CaptureService
from callvault.errors import BadInput, TooLarge
from callvault.store import monitors

router = APIRouter(tags=["capture"])

PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}}}
    for code, text in {
        400: "Bad input",
        401: "Missing, bad or expired token",
        403: "Missing permission",
        404: "Not found",
        409: "Conflict",
        413: "Too large",
        415: "Wrong content type",
        429: "Too many requests from this API user; retry after `Retry-After` seconds",
    }.items()
}
PROBLEMS[429]["headers"] = {"Retry-After": {"schema": {"type": "string"}, "required": True}}
# Only an upload can stall (408) or meet a storage failure (503; nothing was stored).
CAPTURE_PROBLEMS = {
    **PROBLEMS,
    408: {**PROBLEMS[400], "description": "The upload stopped arriving"},
    503: {**PROBLEMS[400], "description": "Storage unavailable; retry later"},
}

CAPTURE_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["info", "data"],
                "properties": {
                    "info": {"type": "string", "description": "The call's details as JSON."},
                    "data": {"type": "string", "format": "binary", "description": "The audio."},
                },
            }
        }
    },
}


def check_length(request: Request, limit: int) -> None:
    """A declared length over the upload limit is a 413 before a byte is read."""
    length = request.headers.get("content-length")
    # With chunked framing the length header is ignored (RFC 9112 §6.3), as the server does.
    if (
        length
        and length.isdigit()
        and int(length) > limit
        and "transfer-encoding" not in request.headers
    ):
        raise TooLarge(f"the upload is larger than the limit of {limit} bytes")


def capture_route(router: APIRouter, path: str, shape: Shape, **route: Any) -> None:
    """Declare the upload of a recorded call at ``path``: its ``info`` read in ``shape``, its
    answer the new call's ID under ``shape``'s key."""

    async def archive(
        request: Request, runtime: RuntimeDep, user: CaptureUser, background: BackgroundTasks
    ) -> dict[str, str]:
        check_length(request, runtime.settings.max_upload_bytes)
        call_id = await CaptureService(runtime, request.app.state.metrics).capture(
            request.headers.get("content-type"),
            request.stream(),
            user.name,
            user.region,
            parse=shape.parse_info,
        )
        background.add_task(run_in_threadpool, CallReader(runtime).process, call_id)
        return {shape.call_id: call_id}

    router.add_api_route(
        path,
        archive,
        methods=["POST"],
        responses=CAPTURE_PROBLEMS,
        openapi_extra={"requestBody": CAPTURE_BODY},
        **route,
    )


capture_route(
    router,
    "/callCapture/v1/archive",
    V1,
    operation_id="capture_call",
    summary="Upload a recorded call (multipart: `info` JSON + `data` audio)",
    response_model=CaptureOut,
)


def _heartbeat_status(value: int | str) -> str:
    if isinstance(value, int):
        if value in HEARTBEAT_STATUSES:
            return HEARTBEAT_STATUSES[value]
    else:
        for name in HEARTBEAT_STATUSES.values():
            if value.lower() == name.lower():
                return name
    allowed = ", ".join(f"{k} ({v})" for k, v in HEARTBEAT_STATUSES.items())
    raise BadInput(f"Status must be one of {allowed}, as a number or a name")


@router.post(
    "/callCapture/v1/monitor",
    operation_id="record_heartbeat",
    dependencies=[JsonBody],
    summary="Record a recorder's heartbeat",
    responses=PROBLEMS,
)
async def heartbeat(body: HeartbeatIn, runtime: RuntimeDep, user: CaptureUser) -> dict[str, Any]:
    """v1's and v2's (``/capture/v2/status/monitor``, the same body and answer)."""
    status = _heartbeat_status(body.Status)
    name = body.Name or user.name
    await run_in_threadpool(
        monitors.record, runtime.engine, name, status, body.TimeStamp, body.SoftwareVersion
    )
    return {}


@router.get(
    "/callCapture/v1/monitor",
    operation_id="list_heartbeats",
    summary="The last heartbeat of every recorder (admins)",
    response_model=list[HeartbeatOut],
    responses=PROBLEMS,
)
async def heartbeats(runtime: RuntimeDep, _user: AdminUser) -> list[dict[str, Any]]:
    rows = await run_in_threadpool(monitors.latest, runtime.engine)
    return [
        {
            "name": r["name"],
            "status": r["status"],
            "timeStamp": r["reported_at"],
            "softwareVersion": r["software_version"],
            "receivedAt": r["received_at"].isoformat().replace("+00:00", "Z"),
        }
        for r in rows
    ]
