"""Tethr v2 capture and status (``Tethr.Sdk``, contract §16): a thin translation onto v1's
services. A v2 info becomes the same call model (``capture.info.parse_v2_info``), stored by the
same capture service; status and exclusion are v1's, with v2's key names."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Path, Request
from starlette.concurrency import run_in_threadpool

from callvault.api.deps import CaptureUser, JsonBody, RuntimeDep
from callvault.api.routes.capture import CAPTURE_BODY, CAPTURE_PROBLEMS, PROBLEMS, check_length
from callvault.api.routes.schemas import CaptureV2Out, SessionIdsV2In, SessionsV2Out, SessionV2Out
from callvault.capture.info import parse_v2_info
from callvault.capture.reads import CallReader
from callvault.capture.service import CaptureService

router = APIRouter(tags=["tethr v2"])

CAPTURE_V2_PATH = "/capture/v2/call"

SessionId = Annotated[str, Path(min_length=1)]


@router.post(
    CAPTURE_V2_PATH,
    operation_id="capture_call_v2",
    summary="Upload a recorded call, Tethr v2 (multipart: `info` JSON + `data` audio)",
    response_model=CaptureV2Out,
    responses=CAPTURE_PROBLEMS,
    openapi_extra={"requestBody": CAPTURE_BODY},
)
async def capture_call(
    request: Request, runtime: RuntimeDep, user: CaptureUser, background: BackgroundTasks
) -> dict[str, str]:
    check_length(request, runtime.settings.max_upload_bytes)
    call_id = await CaptureService(runtime, request.app.state.metrics).capture(
        request.headers.get("content-type"),
        request.stream(),
        user.name,
        user.region,
        parse=parse_v2_info,
    )
    background.add_task(run_in_threadpool, CallReader(runtime).process, call_id)
    return {"id": call_id}


@router.get(
    "/capture/v2/status/{sessionId}",
    operation_id="session_status_v2",
    summary="Status of one call by session ID, Tethr v2",
    response_model=SessionV2Out,
    response_model_exclude_none=True,
    responses=PROBLEMS,
)
async def status(sessionId: SessionId, runtime: RuntimeDep, _user: CaptureUser) -> dict[str, Any]:
    found = await run_in_threadpool(CallReader(runtime).statuses, [sessionId])
    return found[0].to_v2_json()


@router.post(
    "/capture/v2/status",
    operation_id="session_statuses_v2",
    dependencies=[JsonBody],
    summary="Status of up to 100 calls by session ID, in the order given, Tethr v2",
    response_model=SessionsV2Out,
    response_model_exclude_none=True,
    responses=PROBLEMS,
)
async def statuses(body: SessionIdsV2In, runtime: RuntimeDep, _user: CaptureUser) -> dict[str, Any]:
    found = await run_in_threadpool(CallReader(runtime).statuses, body.sessionIds)
    return {"sessions": [s.to_v2_json() for s in found]}


@router.post(
    "/capture/v2/status/exclude",
    operation_id="exclude_sessions_v2",
    dependencies=[JsonBody],
    summary="Mark calls Excluded, Tethr v2; IDs of no live call are ignored",
    responses=PROBLEMS,
)
async def exclude(body: SessionIdsV2In, runtime: RuntimeDep, _user: CaptureUser) -> dict[str, Any]:
    await run_in_threadpool(CallReader(runtime).exclude, list(dict.fromkeys(body.sessionIds)))
    return {}


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
