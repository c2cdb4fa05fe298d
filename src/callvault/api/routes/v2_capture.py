"""Tethr v2 capture and status (``Tethr.Sdk``, contract §16): v1's handlers with v2's models and
key names. A v2 info becomes the same call model (``capture.info.parse_v2_info``), stored by the
same capture service; status and exclusion are v1's."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from callvault.api.deps import CaptureUser, JsonBody, RuntimeDep
from callvault.api.routes.capture import PROBLEMS, capture_route, heartbeat
from callvault.api.routes.schemas import CaptureV2Out, SessionIdsV2In, SessionsV2Out, SessionV2Out
from callvault.api.routes.shapes import V2
from callvault.api.routes.status import SessionId, exclude_route, status_route, statuses_route
from callvault.capture.reads import CallReader

router = APIRouter(tags=["tethr v2"])

CAPTURE_V2_PATH = "/capture/v2/call"

capture_route(
    router,
    CAPTURE_V2_PATH,
    V2,
    operation_id="capture_call_v2",
    summary="Upload a recorded call, Tethr v2 (multipart: `info` JSON + `data` audio)",
    response_model=CaptureV2Out,
)
status_route(
    router,
    "/capture/v2/status/{sessionId}",
    V2,
    operation_id="session_status_v2",
    summary="Status of one call by session ID, Tethr v2",
    response_model=SessionV2Out,
)
statuses_route(
    router,
    "/capture/v2/status",
    SessionIdsV2In,
    V2,
    operation_id="session_statuses_v2",
    summary="Status of up to 100 calls by session ID, in the order given, Tethr v2",
    response_model=SessionsV2Out,
)
router.post(
    "/capture/v2/status/monitor",
    operation_id="record_heartbeat_v2",
    dependencies=[JsonBody],
    summary="Record a recorder's heartbeat, Tethr v2 (TethrCapture's; v1's body and answer)",
    responses=PROBLEMS,
)(heartbeat)
exclude_route(
    router,
    "/capture/v2/status/exclude",
    SessionIdsV2In,
    operation_id="exclude_sessions_v2",
    summary="Mark calls Excluded, Tethr v2; IDs of no live call are ignored",
)


@router.post(
    "/capture/v2/status/exclude/{sessionId}",
    operation_id="exclude_session_v2",
    summary="Mark one call Excluded, Tethr v2 (no body); an ID of no live call is ignored",
    responses=PROBLEMS,
)
async def exclude_one(
    sessionId: SessionId, runtime: RuntimeDep, _user: CaptureUser
) -> dict[str, Any]:
    await run_in_threadpool(CallReader(runtime).exclude, [sessionId])
    return {}
