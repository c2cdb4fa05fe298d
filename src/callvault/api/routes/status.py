"""Tethr call status: per session ID, and exclusion."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from starlette.concurrency import run_in_threadpool

from callvault.api.deps import CaptureUser, JsonBody, RuntimeDep
from callvault.api.routes.capture import PROBLEMS
from callvault.api.routes.schemas import CallSessionOut, CallSessionsOut, SessionIdsIn
from callvault.capture.reads import CallReader

router = APIRouter(tags=["status"])


def _distinct(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


@router.post(
    "/callCapture/v1/status",
    operation_id="call_status",
    dependencies=[JsonBody],
    summary="Status of up to 100 calls by session ID, in the order given",
    response_model=CallSessionsOut,
    response_model_exclude_none=True,
    responses=PROBLEMS,
)
async def statuses(body: SessionIdsIn, runtime: RuntimeDep, _user: CaptureUser) -> dict[str, Any]:
    found = await run_in_threadpool(CallReader(runtime).statuses, body.CallSessionIds)
    return {"callSessions": [s.to_json() for s in found]}


@router.get(
    "/callCapture/v1/status/{sessionId}",
    operation_id="call_status_one",
    summary="Status of one call by session ID",
    response_model=CallSessionOut,
    response_model_exclude_none=True,
    responses=PROBLEMS,
)
async def status(
    sessionId: Annotated[str, Path(min_length=1)], runtime: RuntimeDep, _user: CaptureUser
) -> dict[str, Any]:
    found = await run_in_threadpool(CallReader(runtime).statuses, [sessionId])
    return found[0].to_json()


@router.post(
    "/callCapture/v1/status/exclude",
    operation_id="exclude_calls",
    dependencies=[JsonBody],
    summary="Mark calls Excluded; IDs of no live call are ignored",
    responses=PROBLEMS,
)
async def exclude(body: SessionIdsIn, runtime: RuntimeDep, _user: CaptureUser) -> dict[str, Any]:
    await run_in_threadpool(CallReader(runtime).exclude, _distinct(body.CallSessionIds))
    return {}
